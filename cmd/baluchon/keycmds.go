package main

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"

	"baluchon/api"
	"baluchon/node"
)

func cmdCardReplace(e *env, args []string) error {
	f := newFlags(e, "card replace")
	card := cardFlag(f)
	out := f.String("out", "", "write the new card text to this file")
	qr := f.String("qr", "", "also write the new card's QR code to this PNG file")
	_, c, cl, err := vaultArgs(e, f, card, args, func(n int) bool { return n == 0 }, "card replace takes no arguments: baluchon card replace --card OLD --out NEW")
	if err != nil {
		return err
	}
	if err := checkNewOutputs(*out, *qr); err != nil {
		return err
	}
	text, vaultID, err := cl.ReplaceCard(e.ctx, c)
	if err != nil {
		return err
	}
	if err := deliverCard(e, text, vaultID, *out, *qr); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "new card made: the old one no longer opens the vault, at any structure\nthe vault has new keys, so a new id: note it in the person's file (the old id leads to it)\nvault %s\n", vaultID)
	return nil
}

func cmdRecover(e *env, args []string) error {
	if len(args) == 0 {
		return usagef("recover needs a subcommand: start VAULTID, list, approve REQUEST or finish REQUEST --out NEWCARD")
	}
	sub := args[0]
	f := newFlags(e, "recover "+sub)
	out := f.String("out", "", "write the new card text to this file (finish)")
	yesFrom := f.String("yes-from", "", "approve without asking, if the request was made by the structure of this peer id (approve)")
	qr := f.String("qr", "", "also write the new card's QR code to this PNG file (finish)")
	pos, err := f.parse(args[1:])
	if err != nil {
		return err
	}
	want := 1
	if sub == "list" {
		want = 0
	}
	switch sub {
	case "start", "list", "approve", "finish":
		if len(pos) != want {
			return usagef("usage: baluchon recover start VAULTID | list | approve REQUEST | finish REQUEST --out NEWCARD")
		}
	default:
		return usagef("unknown recover subcommand %q: use start, list, approve or finish", sub)
	}
	if sub == "finish" {
		if err := checkNewOutputs(*out, *qr); err != nil {
			return err
		}
	}
	cl, err := dial(e)
	if err != nil {
		return err
	}
	switch sub {
	case "start":
		rr, err := cl.RecoveryStart(e.ctx, pos[0])
		if err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, rr.ID)
		if rr.Vault != "" && rr.Vault != pos[0] {
			fmt.Fprintf(e.stderr, "the vault's card was replaced since this id was noted: the recovery is of vault %s, which it leads to\n", rr.Vault)
		}
		fmt.Fprintf(e.stderr, "recovery started; it needs the approval of guardians: %s\nat each guardian, a worker who has checked the person's identity runs: baluchon recover approve %s\nthen here: baluchon recover finish %s --out NEWCARD\n", strings.Join(guardianNames(rr.Guardians), ", "), rr.ID, rr.ID)
	case "list":
		rs, err := cl.RecoveryRequests(e.ctx)
		if err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, "request\tvault\tasked by\tpeer\tdate\tapproved here")
		for _, r := range rs {
			fmt.Fprintf(e.stdout, "%s\t%s\t%s\t%s\t%s\t%v\n", r.ID, r.Vault, clean(r.Name), r.Requester, r.Time.UTC().Format("2006-01-02T15:04:05Z"), r.Approved)
		}
	case "approve":
		return approveRecovery(e, cl, pos[0], *yesFrom)
	case "finish":
		text, vaultID, err := cl.RecoveryFinish(e.ctx, pos[0])
		if err != nil {
			return err
		}
		if err := deliverCard(e, text, vaultID, *out, *qr); err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "new card made: every old card of this vault no longer works\nthe vault has new keys, so a new id: note it in the person's file (the old id leads to it)\nvault %s\n", vaultID)
	}
	return nil
}

// approveRecovery shows the worker which structure asked, as its own
// signed structure record names it, and approves only once the worker
// confirmed it: by typing yes, or with --yes-from naming that structure.
func approveRecovery(e *env, cl *api.Client, id, yesFrom string) error {
	rs, err := cl.RecoveryRequests(e.ctx)
	if err != nil {
		return err
	}
	var req *node.RecoveryRequest
	for i := range rs {
		if rs[i].ID == id {
			req = &rs[i]
		}
	}
	if req == nil {
		return withHint(fmt.Errorf("no recovery request %s naming this structure as guardian is known here", id), "check the id with 'baluchon recover list'")
	}
	who := fmt.Sprintf("%s (%s)", clean(req.Name), req.Requester)
	if yesFrom != "" {
		if yesFrom != req.Requester {
			return withHint(fmt.Errorf("request %s was made by %s, not by %s: not approved", id, who, yesFrom), "call the structure that says it asked before approving anything")
		}
	} else {
		fmt.Fprintf(e.stderr, "Request %s from %s for vault %s — approve? type yes: ", id, who, req.Vault)
		line, _ := bufio.NewReader(io.LimitReader(e.stdin, 64)).ReadString('\n')
		if strings.TrimSpace(line) != "yes" {
			fmt.Fprintln(e.stderr)
			return withHint(fmt.Errorf("request %s not approved", id), "approve only a request from the structure the person went to; type yes, or pass --yes-from PEERID in scripts")
		}
	}
	if err := cl.RecoveryApprove(e.ctx, id, req.Requester); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "approved: this structure's share was sealed to %s\n", who)
	return nil
}

func guardianNames(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		if len(id) > 8 {
			id = "…" + id[len(id)-8:]
		}
		out[i] = id
	}
	return out
}

func cmdDelegate(e *env, args []string) error {
	f := newFlags(e, "delegate")
	card := cardFlag(f)
	to := f.String("to", "", "the peer id of the structure (see 'baluchon federation members')")
	days := f.Int("days", 30, "how many days the delegation lasts")
	var cats listFlag
	f.Var(&cats, "category", "a category of documents (repeatable; none: every document)")
	_, c, cl, err := vaultArgs(e, f, card, args, func(n int) bool { return n == 0 }, "delegate takes no arguments: baluchon delegate --card FILE --to PEERID [--category C]... [--days N]")
	if err != nil {
		return err
	}
	if *to == "" {
		return usagef("delegate needs --to PEERID: the structure that may open the documents")
	}
	id, err := cl.Delegate(e.ctx, c, *to, cats, *days)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, id)
	what := "every document"
	if len(cats) > 0 {
		what = "the documents of category " + strings.Join(cats, ", ")
	}
	fmt.Fprintf(e.stderr, "that structure may now open %s without the card, until %s; end it with: baluchon revoke --card FILE %s\n", what, time.Now().Add(time.Duration(*days)*24*time.Hour).Format("2 January 2006"), id)
	return nil
}

func cmdRevoke(e *env, args []string) error {
	f := newFlags(e, "revoke")
	card := cardFlag(f)
	pos, c, cl, err := vaultArgs(e, f, card, args, func(n int) bool { return n == 1 }, "revoke takes the delegation id: baluchon revoke --card FILE DELEGATION")
	if err != nil {
		return err
	}
	if err := cl.RevokeDelegation(e.ctx, c, pos[0]); err != nil {
		return err
	}
	fmt.Fprintln(e.stderr, "delegation ended, at every structure")
	return nil
}

func cmdDelegations(e *env, args []string) error {
	f := newFlags(e, "delegations")
	card := cardFlag(f)
	_, c, cl, err := vaultArgs(e, f, card, args, func(n int) bool { return n == 0 }, "delegations takes no arguments")
	if err != nil {
		return err
	}
	ds, err := cl.Delegations(e.ctx, c)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "id\tstructure\tcategories\tuntil\tstate")
	for _, d := range ds {
		state := "active"
		switch {
		case !d.Revoked.IsZero():
			state = "ended " + d.Revoked.Format("2006-01-02")
		case time.Now().After(d.Expires):
			state = "expired"
		}
		cats := strings.Join(d.Categories, ",")
		if cats == "" {
			cats = "all"
		}
		fmt.Fprintf(e.stdout, "%s\t%s\t%s\t%s\t%s\n", d.ID, clean(d.StructureName), clean(cats), d.Expires.Format("2006-01-02"), state)
	}
	return nil
}

func cmdDeposit(e *env, args []string) error {
	f := newFlags(e, "deposit")
	vaultID := f.String("vault", "", "the person's vault id")
	title := f.String("title", "", "title of the document")
	category := f.String("category", "", "category of the document")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if *vaultID == "" || len(pos) != 1 {
		return usagef("deposit takes --vault VAULTID and one file: baluchon deposit --vault VAULTID [--title T] [--category C] PATH")
	}
	cl, err := dial(e)
	if err != nil {
		return err
	}
	info, err := cl.ID(e.ctx)
	if err != nil {
		return err
	}
	size, err := checkFile(e, pos[0], info.MaxDocumentBytes)
	if err != nil {
		return err
	}
	file, meta, err := openForUpload(pos[0])
	if err != nil {
		return err
	}
	defer file.Close()
	meta.Title, meta.Category = *title, *category
	if _, err := cl.Deposit(e.ctx, *vaultID, file, size, meta); err != nil {
		return err
	}
	fmt.Fprintln(e.stderr, "deposited: the document joins the person's vault the next time their card is shown; this structure cannot read it back")
	return nil
}

func cmdPending(e *env, args []string) error {
	f := newFlags(e, "pending")
	vaultID := f.String("vault", "", "the person's vault id")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if *vaultID == "" || len(pos) != 0 {
		return usagef("pending takes --vault VAULTID")
	}
	cl, err := dial(e)
	if err != nil {
		return err
	}
	ps, err := cl.PendingDeposits(e.ctx, *vaultID)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "deposited by\tdate")
	for _, p := range ps {
		fmt.Fprintf(e.stdout, "%s\t%s\n", clean(p.By), p.Time.UTC().Format("2006-01-02T15:04:05Z"))
	}
	return nil
}

// sentence says a log line in plain words.
func sentence(l node.LogLine) string {
	doc := "a document"
	if l.DocTitle != "" {
		doc = "'" + clean(l.DocTitle) + "'"
	}
	var what string
	switch l.Action {
	case "create":
		what = "registered the person and made the vault"
	case "list":
		what = "looked at the list of documents"
	case "add":
		what = "added " + doc
	case "get":
		what = "opened " + doc
	case "deposit":
		what = "deposited a document (without the card)"
	case "delegate":
		what = "let " + clean(l.Note) + " open documents without the card"
	case "revoke-delegation":
		what = "ended the access of " + clean(l.Note)
	case "replace-card":
		what = "gave a new card (the old one no longer works)"
	case "recover":
		switch l.Note {
		case "asked":
			what = "started a recovery (lost card)"
		case "approved":
			what = "approved the recovery, as a guardian"
		default:
			what = "gave a new card after a recovery by the guardians"
		}
	case "delete":
		what = "deleted " + doc + " (it stays in the trash for 30 days)"
	case "restore":
		what = "restored " + doc + " from the trash"
	case "rotate":
		what = "changed the keys of the vault"
	case "open":
		what = "opened the vault (" + clean(l.Note) + ")"
	default:
		what = clean(l.Action)
	}
	if l.Note == "delegation" {
		what += " with the person's permission"
	}
	return fmt.Sprintf("%s %s on %s", clean(l.Who), what, l.Time.Local().Format("2 January 2006 at 15:04"))
}

func cmdLog(e *env, args []string) error {
	f := newFlags(e, "log")
	card := cardFlag(f)
	_, c, cl, err := vaultArgs(e, f, card, args, func(n int) bool { return n == 0 }, "log takes no arguments: baluchon log --card FILE")
	if err != nil {
		return err
	}
	lines, err := cl.AccessLog(e.ctx, c)
	if err != nil {
		return err
	}
	for _, l := range lines {
		fmt.Fprintln(e.stdout, sentence(l))
	}
	return nil
}

func cmdRotate(e *env, args []string) error {
	f := newFlags(e, "rotate")
	card := cardFlag(f)
	_, c, cl, err := vaultArgs(e, f, card, args, func(n int) bool { return n == 0 }, "rotate takes no arguments: baluchon rotate --card FILE")
	if err != nil {
		return err
	}
	v, err := cl.Rotate(e.ctx, c)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "every key of the vault was changed and every document re-encrypted; the same card opens it; its new id is\n")
	fmt.Fprintln(e.stdout, v)
	return nil
}
