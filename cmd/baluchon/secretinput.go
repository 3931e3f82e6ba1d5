package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// Codes (pairing, invitation) are secrets for as long as they are valid:
// on the command line, any local user reads them with ps. The commands
// that take one also read it from standard input: "-" (or, for federation
// join, no argument at all), with a prompt when standard input is a
// terminal.

// maxCodeInput bounds what is read from standard input for a code.
const maxCodeInput = 4096

// stdinIsTerminal reports whether r is a terminal.
func stdinIsTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// codeInput returns the code given in pos, or read from standard input
// when pos is empty or "-": the first line, white space removed. It checks
// the code as readCodeArg does.
func codeInput(e *env, pos []string, what string) (string, error) {
	if len(pos) > 0 && !(len(pos) == 1 && pos[0] == "-") {
		return readCodeArg(pos)
	}
	if stdinIsTerminal(e.stdin) {
		fmt.Fprintf(e.stderr, "%s (it is not shown to other users of this machine): ", what)
	}
	line, err := bufio.NewReader(io.LimitReader(e.stdin, maxCodeInput)).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", fmt.Errorf("read the %s from standard input: %w", what, err)
	}
	text := strings.Join(strings.Fields(line), "")
	if text == "" {
		return "", usagef("no %s on standard input: type or paste it, or give it with: echo CODE | baluchon … -", what)
	}
	return readCodeArg([]string{text})
}
