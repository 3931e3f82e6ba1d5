package main

import (
	"context"
	"flag"
	"io"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/cobra"
)

// The command tree is github.com/spf13/cobra's: it gives every command its
// --help, 'baluchon help COMMAND' and shell completion. Each command's body
// stays a func(*env, []string) error that parses its own flags with the
// standard flag package (flags.parse): cobra only finds the command and
// shows the help, whose flag list it takes from the body itself (asked
// with --help, a body returns a helpRequest with its flag set before it
// does anything). A command added to the commands map appears in the tree
// by itself.

// helpRequest is what flags.parse returns when asked for --help: the
// command's flag set, for the help to list.
type helpRequest struct{ flags *flag.FlagSet }

func (*helpRequest) Error() string { return "help requested" }

// about describes a command of the tree: its usage line and one line of
// help. Subcommands are named "parent sub".
type about struct {
	use, short string
}

var help = map[string]about{
	"serve":              {"serve [--listen MULTIADDR]... [--mdns=false] [--ui HOST:PORT|off] [--clamav ADDR|off] [--scans DIR]", "run this structure's node (Ctrl-C stops it) and its web page"},
	"init":               {"init [--listen MULTIADDR]... [--protect-key]", "prepare a node's folder without running it"},
	"key":                {"key protect|unprotect|status", "encrypt the node's keys with a passphrase, or write them back in clear (node stopped)"},
	"key protect":        {"protect", "encrypt the node's keys (structure key, node identity) with a passphrase"},
	"key unprotect":      {"unprotect", "write the node's keys back in clear"},
	"key status":         {"status", "say whether the node's keys are protected by a passphrase"},
	"id":                 {"id", "print the node's peer id and addresses"},
	"connect":            {"connect MULTIADDR", "connect to another structure's node, and remember it"},
	"peers":              {"peers", "list connected nodes"},
	"status":             {"status [--json]", "the node, its disk and backups; per vault (by id, never a name): replicas and last sync"},
	"pair":               {"pair [--qr FILE.png] | pair -", "print this node's pairing code, or connect to the node of a code read from standard input"},
	"federation":         {"federation invite|join|members|remove", "the federation of structures that keep each other's vaults"},
	"federation invite":  {"invite [--qr FILE.png]", "invite one structure into this node's federation"},
	"federation join":    {"join [-]", "join a federation with an invitation read from standard input"},
	"federation members": {"members", "list the federation's members"},
	"federation remove":  {"remove PEERID", "take a member out of the federation, for good"},
	"gc":                 {"gc", "delete the blocks nothing needs any more (superseded states, old keys)"},
	"card":               {"card new|identity|replace", "a person's card"},
	"card new":           {"new [--out FILE] [--qr FILE.png] [--guardians ID,…] [--threshold K]", "register a person: make a new vault and its card"},
	"card identity":      {"identity --card FILE", "print the vault's age identity (a secret)"},
	"card replace":       {"replace --card OLD --out NEW [--qr F]", "give a new card; the old one stops working everywhere"},
	"add":                {"add --card FILE [--title T] [--category C] PATH...", "store documents in the person's vault"},
	"ls":                 {"ls --card FILE [--json] | ls --vault VAULTID", "list the person's documents"},
	"get":                {"get --card FILE DOCID [-o OUT] [--raw] | get --card FILE (--all | DOCID...) -o FOLDER", "get a document back, or several into a folder (one session)"},
	"rm":                 {"rm --card FILE DOCID...", "delete documents: they go to the trash for 30 days"},
	"trash":              {"trash --card FILE [--json]", "list deleted documents, with the day each is purged"},
	"restore":            {"restore --card FILE DOCID | restore --home NEWFOLDER [--key FILE] BACKUP.age", "bring a deleted document back (under a new id), or make a new machine's node from a backup"},
	"backup":             {"backup setup|now|status", "encrypted backups of everything the node keeps, to a folder or USB stick"},
	"backup setup":       {"setup --to FOLDER [--keep N] [--recipient age1…]", "back up every night while the node runs (newest N kept); prints the backup key to keep safe"},
	"backup now":         {"now", "ask the running node for a backup now, and wait for it"},
	"backup status":      {"status", "the last backup, and the disk"},
	"log":                {"log --card FILE", "who opened what, when (the person's access log)"},
	"delegate":           {"delegate --card FILE --to PEERID [--category C]... [--days N]", "let a structure open documents without the card"},
	"revoke":             {"revoke --card FILE DELEGATION", "end a delegation, at every structure"},
	"delegations":        {"delegations --card FILE", "list the delegations"},
	"rotate":             {"rotate --card FILE", "change every key of the vault (if they may have leaked)"},
	"deposit":            {"deposit --vault VAULTID [--title T] [--category C] PATH", "add a document without the card; it joins the vault at the next card session"},
	"pending":            {"pending --vault VAULTID", "deposits not yet taken in"},
	"recover":            {"recover start|list|approve|finish", "a lost card: recovery by guardian structures"},
	"recover start":      {"start VAULTID", "start a recovery, here, where the person asks"},
	"recover list":       {"list", "at a guardian: requests to approve"},
	"recover approve":    {"approve REQUEST [--yes-from PEERID]", "at a guardian, after checking the person's identity and which structure asked"},
	"recover finish":     {"finish REQUEST --out NEWCARD [--qr F]", "here, once enough guardians approved: the new card"},
	"export":             {"export --card FILE -o vault.car | export --all -o node.car | export --have have.json -o delta.car", "write one person's vault, everything this node keeps, or only what another node lacks (courier), to a file"},
	"have":               {"have -o have.json", "list what this node keeps, for a courier to carry to a node that will export only what it lacks"},
	"import":             {"import FILE.car", "take in a file written by export (checked block by block)"},
	"service":            {"service install|uninstall|status", "run the node as a system service that starts with the machine"},
	"service install":    {"install [--user NAME] [--ui HOST:PORT]", "install and start the service (as an administrator); the node's folder is the system's (Linux: /var/lib/baluchon)"},
	"service uninstall":  {"uninstall", "stop and remove the service; the node's folder is kept"},
	"service status":     {"status", "running, stopped or not installed"},
	"version":            {"version [--json]", "print the version, commit, Go version and platform"},
}

// subcommands are the commands whose first argument names what to do.
var subcommands = map[string][]string{
	"card":       {"new", "identity", "replace"},
	"federation": {"invite", "join", "members", "remove"},
	"recover":    {"start", "list", "approve", "finish"},
	"key":        {"protect", "unprotect", "status"},
	"service":    {"install", "uninstall", "status"},
	"backup":     {"setup", "now", "status"},
}

// execute runs the command of args.
func execute(e *env, args []string) error {
	root := newRoot(e)
	root.SetArgs(args)
	return root.Execute()
}

// newRoot builds the command tree over e.
func newRoot(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:                "baluchon",
		Short:              "a peer-to-peer encrypted safe for people's papers",
		SilenceErrors:      true,
		SilenceUsage:       true,
		DisableFlagParsing: true,
		Args:               cobra.ArbitraryArgs,
		RunE: func(_ *cobra.Command, args []string) error {
			return usagef("unknown command %q", args[0])
		},
	}
	root.SetIn(e.stdin)
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	defaultHelp := root.HelpFunc()
	root.SetHelpFunc(func(c *cobra.Command, args []string) {
		if c == root {
			io.WriteString(c.OutOrStdout(), usage)
			return
		}
		defaultHelp(c, args)
	})
	names := make([]string, 0, len(commands))
	for name := range commands {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		body := commands[name]
		c := leaf(e, name, body, nil)
		for _, sub := range subcommands[name] {
			c.AddCommand(leaf(e, name+" "+sub, body, []string{sub}))
		}
		root.AddCommand(c)
	}
	return root
}

// leaf makes the cobra command named path (e.g. "card new") that runs body
// with prefix before its arguments.
func leaf(e *env, path string, body command, prefix []string) *cobra.Command {
	a, ok := help[path]
	if !ok {
		last := path[strings.LastIndex(path, " ")+1:]
		a = about{use: last, short: "see 'baluchon help'"}
	}
	c := &cobra.Command{
		Use:                   a.use,
		Short:                 a.short,
		DisableFlagParsing:    true,
		DisableFlagsInUseLine: true,
		Args:                  cobra.ArbitraryArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if wantsHelp(args) {
				return c.Help()
			}
			return body(e, append(slices.Clone(prefix), args...))
		},
	}
	if fs := flagsOf(body, prefix); fs != nil {
		c.Flags().AddGoFlagSet(fs)
	}
	return c
}

// flagsOf asks body for its flag set: with --help, flags.parse returns it
// before the command does anything. Nil when the command has no flags of
// its own.
func flagsOf(body command, prefix []string) *flag.FlagSet {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	probe := &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, ctx: ctx}
	err := body(probe, append(slices.Clone(prefix), "--help"))
	if hr, ok := err.(*helpRequest); ok {
		return hr.flags
	}
	return nil
}

// wantsHelp reports whether args ask for help before "--".
func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}
