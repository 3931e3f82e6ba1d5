package main

import (
	"errors"
	"fmt"
	"io"

	"baluchon/api"
	"baluchon/node"
	"baluchon/vault"
)

// usageError is a mistake in how the command was called (exit code 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// hinted is an error with a line that says what to do.
type hinted struct {
	err  error
	hint string
}

func (h *hinted) Error() string { return h.err.Error() }
func (h *hinted) Unwrap() error { return h.err }

func withHint(err error, format string, args ...any) error {
	return &hinted{err: err, hint: fmt.Sprintf(format, args...)}
}

// report is the one place that turns an error into what the user reads:
// "baluchon: what happened" and, when there is one, "hint: what to do".
// It returns the exit code.
func report(stderr io.Writer, home string, err error) int {
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "baluchon: %s\n", ue.msg)
		fmt.Fprintln(stderr, "hint: run 'baluchon help' to see the commands and their options")
		return 2
	}
	msg, hint := explain(home, err)
	fmt.Fprintf(stderr, "baluchon: %s\n", msg)
	if hint != "" {
		fmt.Fprintf(stderr, "hint: %s\n", hint)
	}
	return 1
}

// explain gives the message and hint for err.
func explain(home string, err error) (msg, hint string) {
	var (
		h      *hinted
		apiErr *api.Error
		locked *node.LockedError
		cte    *vault.CardTextError
		le     *node.ListenError
		fe     *node.FormatError
	)
	switch {
	case errors.As(err, &h):
		return h.err.Error(), h.hint
	case errors.Is(err, api.ErrNotRunning):
		return "no baluchon node is running in " + home,
			"start one in another terminal with: baluchon serve --home " + home
	case errors.Is(err, node.ErrNotInitialised):
		return "there is no baluchon node in " + home + " yet",
			"create and start one with: baluchon serve --home " + home
	case errors.Is(err, node.ErrInitialised):
		return home + " already holds a baluchon node; nothing was changed",
			"start it with: baluchon serve --home " + home
	case errors.As(err, &locked):
		return locked.Error(), "stop the other node first, or give this one another folder with --home"
	case errors.As(err, &fe):
		return fe.Error(), "install the newer version of baluchon ('baluchon version' prints this one's) and run it on this folder"
	case errors.As(err, &le):
		return le.Error(), "choose other addresses or ports with --listen (port 0 picks a free one)"
	case errors.As(err, &cte):
		return "the card text has a mistake: " + cte.Error(), "compare the text with the printed card, or scan the card's QR code again"
	case errors.As(err, &apiErr):
		return apiErr.Message, apiHint(home, apiErr.Code)
	}
	return err.Error(), ""
}

func apiHint(home, code string) string {
	switch code {
	case api.CodeUnknownCard:
		return "check that this node is connected to the structure that made the card: 'baluchon peers', then 'baluchon connect ADDRESS'"
	case api.CodeVaultUnreachable:
		return "the structures that keep this vault are not connected; connect to one of them and try again"
	case api.CodeNoDocument:
		return "list the person's documents with: baluchon ls --card FILE"
	case api.CodeTooLarge:
		return "split or compress the file, or raise max_document_bytes in " + home + "/config.json and restart the node"
	case api.CodeBadAddr:
		return "a peer address looks like /ip4/192.168.1.10/tcp/4001/p2p/12D3Koo…; 'baluchon id' on the other node prints its addresses"
	case api.CodeUnreachable:
		return "check that the other node is running and that the address and port are right ('baluchon id' on that node)"
	case api.CodeCardReplaced:
		return "ask the person for their new card; if it was lost, any structure can start a recovery: baluchon recover start VAULTID"
	case api.CodeNoDelegation:
		return "the person must show their card, or give this structure a delegation with it (baluchon delegate)"
	case api.CodeNotEnough:
		return "more guardians must approve: at each, 'baluchon recover list' then 'baluchon recover approve REQUEST'"
	case api.CodeBadImport:
		return "the file is damaged or incomplete: export it again from the other structure, or ask for another copy"
	case api.CodeBadCode:
		return "compare it with the code shown on the other node, or scan its QR code"
	case api.CodeInvitation:
		return "on a member node, run 'baluchon federation invite' and use the new code"
	case api.CodeBadCard:
		return "compare the text with the printed card, or scan the card's QR code again"
	case api.CodeQuota:
		return "free space ('baluchon gc'), or raise max_storage_bytes in " + home + "/config.json and restart the node"
	case api.CodeTooManyDeposits:
		return "the person must show their card at a structure once: their pending documents are then taken into their vault"
	}
	return ""
}
