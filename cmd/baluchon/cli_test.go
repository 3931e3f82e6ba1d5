package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestHelpEveryCommand asks every command of the tree for its --help: each
// answers on standard output, exits 0, and lists its own flags.
func TestHelpEveryCommand(t *testing.T) {
	root := newRoot(&env{})
	var walk func(c *cobra.Command, path []string)
	n := 0
	walk = func(c *cobra.Command, path []string) {
		for _, sub := range c.Commands() {
			if sub.Hidden || sub.Name() == "help" {
				continue
			}
			p := append(append([]string(nil), path...), sub.Name())
			walk(sub, p)
			for _, ask := range [][]string{append(p, "--help"), append([]string{"help"}, p...)} {
				var stdout, stderr bytes.Buffer
				code := run(ask, strings.NewReader(""), &stdout, &stderr)
				if code != 0 || stderr.Len() != 0 {
					t.Errorf("baluchon %s: exit %d, stderr %q", strings.Join(ask, " "), code, stderr.String())
				}
				if !strings.Contains(stdout.String(), "Usage:\n  baluchon "+strings.Join(p, " ")) {
					t.Errorf("baluchon %s: no usage line in\n%s", strings.Join(ask, " "), stdout.String())
				}
				if _, own := commands[p[0]]; own && len(p) == 1 && len(subcommands[p[0]]) == 0 && !strings.Contains(stdout.String(), "--home") {
					t.Errorf("baluchon %s: --home not listed in\n%s", strings.Join(ask, " "), stdout.String())
				}
			}
			n++
		}
	}
	walk(root, nil)
	for name := range commands {
		if _, ok := help[name]; !ok {
			t.Errorf("command %q has no line in help (cli.go): its --help would say nothing of what it does", name)
		}
	}
	if n < len(commands) {
		t.Fatalf("checked %d commands, want at least %d", n, len(commands))
	}
}

// TestCompletion writes the completion script of each shell.
func TestCompletion(t *testing.T) {
	for shell, want := range map[string]string{
		"bash":       "__start_baluchon",
		"zsh":        "#compdef baluchon",
		"fish":       "complete -c baluchon",
		"powershell": "Register-ArgumentCompleter",
	} {
		var stdout, stderr bytes.Buffer
		if code := run([]string{"completion", shell}, strings.NewReader(""), &stdout, &stderr); code != 0 {
			t.Fatalf("completion %s: exit %d: %s", shell, code, stderr.String())
		}
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("completion %s: %q not in the script", shell, want)
		}
	}
	// Command names complete (cobra's hidden __complete command).
	var stdout, stderr bytes.Buffer
	run([]string{"__complete", "fed"}, strings.NewReader(""), &stdout, &stderr)
	if !strings.Contains(stdout.String(), "federation") {
		t.Errorf("__complete fed: %q", stdout.String())
	}
}

func TestVersion(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"version"}, strings.NewReader(""), &stdout, &stderr); code != 0 {
		t.Fatalf("version: exit %d: %s", code, stderr.String())
	}
	if !strings.HasPrefix(stdout.String(), "baluchon ") || !strings.Contains(stdout.String(), "go1.") {
		t.Errorf("version: %q", stdout.String())
	}
}
