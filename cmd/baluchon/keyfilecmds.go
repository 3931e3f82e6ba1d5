package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/term"

	"baluchon/node"
)

// The passphrase of the node's keys never goes on the command line (ps
// would show it): it comes from BALUCHON_KEY_PASSPHRASE, or is typed at a
// terminal without echo.
const passphraseEnv = "BALUCHON_KEY_PASSPHRASE"

// askPassphrase returns the passphrase from the environment or the
// terminal; confirm asks twice at a terminal (a new passphrase).
func askPassphrase(e *env, prompt string, confirm bool) (string, error) {
	if p := os.Getenv(passphraseEnv); p != "" {
		return p, nil
	}
	f, ok := e.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return "", withHint(node.ErrKeyLocked, "set "+passphraseEnv+" or run the command from a terminal to type it")
	}
	read := func(prompt string) (string, error) {
		fmt.Fprint(e.stderr, prompt)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(e.stderr)
		if err != nil {
			return "", fmt.Errorf("read the passphrase: %w", err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	p, err := read(prompt)
	if err != nil {
		return "", err
	}
	if p == "" {
		return "", withHint(node.ErrKeyLocked, "type the passphrase, or set "+passphraseEnv)
	}
	if confirm {
		again, err := read("the same passphrase again: ")
		if err != nil {
			return "", err
		}
		if again != p {
			return "", usagef("the two passphrases differ; nothing was changed")
		}
	}
	return p, nil
}

// startPassphrase is node.Options.KeyPassphrase for serve.
func startPassphrase(e *env) func() (string, error) {
	return func() (string, error) {
		return askPassphrase(e, "passphrase of this node's keys: ", false)
	}
}

// keyError adds what to do to the errors of a protected key.
func keyError(err error) error {
	switch {
	case errors.Is(err, node.ErrWrongPassphrase):
		return withHint(err, "nothing was changed: type it again (or fix "+passphraseEnv+")")
	case errors.Is(err, node.ErrKeyLocked):
		return withHint(err, "set "+passphraseEnv+" or run the command from a terminal to type it")
	}
	return err
}

func cmdKey(e *env, args []string) error {
	const use = "usage: baluchon key protect | unprotect | status"
	if len(args) == 0 {
		return usagef("%s", use)
	}
	sub := args[0]
	f := newFlags(e, "key "+sub)
	pos, err := f.parse(args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("%s", use)
	}
	if !node.IsInitialised(e.home) {
		return fmt.Errorf("%s: %w", e.home, node.ErrNotInitialised)
	}
	switch sub {
	case "status":
		p, err := node.KeysProtected(e.home)
		if err != nil {
			return err
		}
		if p {
			fmt.Fprintln(e.stdout, "protected by a passphrase")
		} else {
			fmt.Fprintln(e.stdout, "in clear (protected by file permissions only)")
		}
	case "protect":
		p, err := askPassphrase(e, "new passphrase for this node's keys: ", true)
		if err != nil {
			return err
		}
		if err := node.ProtectKeys(e.home, p); err != nil {
			return keyError(err)
		}
		fmt.Fprintln(e.stderr, "the node's keys are now encrypted with the passphrase: 'baluchon serve' asks for it (or reads "+passphraseEnv+")")
	case "unprotect":
		p, err := askPassphrase(e, "passphrase of this node's keys: ", false)
		if err != nil {
			return err
		}
		if err := node.UnprotectKeys(e.home, p); err != nil {
			return keyError(err)
		}
		fmt.Fprintln(e.stderr, "the node's keys are now in clear in "+e.home)
	default:
		return usagef("unknown key subcommand %q: %s", sub, use)
	}
	return nil
}
