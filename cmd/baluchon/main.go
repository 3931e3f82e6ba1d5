// Command baluchon runs a baluchon node and drives it: it registers people
// (their card), stores their documents encrypted, and gets them back at any
// participating structure.
//
// Run 'baluchon help' for the commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

const usage = `baluchon: a peer-to-peer encrypted safe for people's papers

Usage: baluchon COMMAND [OPTIONS] [ARGUMENTS]

Node:
  serve [--listen MULTIADDR]... [--mdns=false] [--ui HOST:PORT | --ui off] [--clamav ADDR|off] [--scans DIR]
                                  run this structure's node (Ctrl-C stops it) and its web page
                                  (127.0.0.1:8080 by default; another address is served over
                                  HTTPS with a certificate the node makes)
  init [--listen MULTIADDR]... [--protect-key]
                                  prepare a node's folder without running it; --protect-key
                                  encrypts the node's keys with a passphrase
  key protect | unprotect | status
                                  encrypt the node's keys (structure key, node identity) with a
                                  passphrase, or write them back in clear; the node stopped.
                                  The passphrase comes from BALUCHON_KEY_PASSPHRASE or is typed;
                                  'serve' then asks for it
  id                              print the node's peer id and addresses
  connect MULTIADDR               connect to another structure's node, and remember it
  peers                           list connected nodes
  status [--json]                 per vault (by id, never a name): replicas and last sync
  pair [--qr FILE.png]            print this node's pairing code (when the network blocks discovery)
  pair -                          connect to the node of a pairing code read from standard input
                                  (typed or pasted), and remember it; 'pair CODE' works too but
                                  shows the code to every user of the machine (ps)
  federation invite [--qr FILE.png]  invite one structure into this node's federation
  federation join [-]             join a federation with an invitation read from standard input
                                  ('federation join CODE' works too, visible to ps)
  federation members              list the federation's members
  federation remove PEERID        take a member out of the federation, for good
  gc                              delete the blocks nothing needs any more (superseded states, old keys)

People and documents:
  card new [--out FILE] [--qr FILE.png] [--guardians ID,…] [--threshold K]
                                                register a person: make a new vault and its card
  add --card FILE [--title T] [--category C] PATH...
                                                store documents in the person's vault
  ls --card FILE [--json]                       list the person's documents
  get --card FILE DOCID [-o OUT] [--raw]        get a document back
  rm --card FILE DOCID...                       delete documents: they go to the trash for 30 days
  trash --card FILE [--json]                    list deleted documents, with the day each is purged
  restore --card FILE DOCID                     bring a deleted document back (under a new id)
  card identity --card FILE                     print the vault's age identity (a secret)
  card replace --card OLD --out NEW [--qr F]    give a new card; the old one stops working everywhere
  log --card FILE                               who opened what, when (the person's access log)
  delegate --card FILE --to PEERID [--category C]... [--days N]
                                                let a structure open documents without the card
  revoke --card FILE DELEGATION                 end a delegation, at every structure
  delegations --card FILE                       list them
  rotate --card FILE                            change every key of the vault (if they may have leaked)

Without the card:
  ls --vault VAULTID / get --vault VAULTID DOCID   through a delegation the person gave this structure
  deposit --vault VAULTID [--title T] [--category C] PATH
                                                add a document (mail received for the person); it
                                                joins the vault at the next card session
  pending --vault VAULTID                       deposits not yet taken in

Lost card (recovery by guardian structures):
  recover start VAULTID                         here, where the person asks
  recover list                                  at a guardian: requests to approve
  recover approve REQUEST [--yes-from PEERID]   at a guardian, after checking the person's identity
                                                and which structure asked (type yes, or --yes-from)
  recover finish REQUEST --out NEWCARD [--qr F] here, once enough guardians approved

Zone blanche (USB stick):
  export --card FILE -o vault.car     write one person's vault (encrypted) to a file
  export --all -o node.car            write everything this node keeps
  import FILE.car                     take in a file written by export (checked block by block)
  have -o have.json                   list what this node keeps, for a courier to carry
  export --have have.json -o d.car    write only what the node of have.json lacks

Backups (everything the node keeps, encrypted, to a folder or USB stick):
  backup setup --to FOLDER [--keep N] [--recipient age1…]
                                      every night while the node runs, newest N kept (7);
                                      prints the backup key to keep away from the computer
  backup now | status                 one backup now (the node running); when was the last
  restore --home NEWFOLDER [--key FILE] BACKUP.age
                                      a new machine's node from a backup (key typed, or --key)

Service (the node starts with the machine):
  service install [--user NAME] [--ui HOST:PORT]
                                      install and start it (as an administrator); its folder is
                                      /var/lib/baluchon, %ProgramData%\baluchon or
                                      /Library/Application Support/baluchon unless --home is given
  service uninstall | status          remove it (the folder is kept), or say whether it runs

This binary:
  version [--json]                    version, commit, Go version and platform
  completion bash|zsh|fish|powershell shell completion ('baluchon completion bash --help')
  COMMAND --help                      help on one command and its options

Every command takes --home DIR: the node's folder (default $BALUCHON_HOME,
else ~/.baluchon). --card - reads the card text from standard input;
BALUCHON_CARD=FILE works like --card FILE.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// env is what a command works with.
type env struct {
	home   string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	ctx    context.Context
}

type command func(e *env, args []string) error

var commands = map[string]command{
	"serve":       cmdServe,
	"init":        cmdInit,
	"id":          cmdID,
	"connect":     cmdConnect,
	"peers":       cmdPeers,
	"card":        cmdCard,
	"add":         cmdAdd,
	"ls":          cmdLs,
	"get":         cmdGet,
	"export":      cmdExport,
	"import":      cmdImport,
	"have":        cmdHave,
	"pair":        cmdPair,
	"federation":  cmdFederation,
	"status":      cmdStatus,
	"recover":     cmdRecover,
	"delegate":    cmdDelegate,
	"revoke":      cmdRevoke,
	"delegations": cmdDelegations,
	"deposit":     cmdDeposit,
	"pending":     cmdPending,
	"log":         cmdLog,
	"rotate":      cmdRotate,
	"gc":          cmdGC,
	"rm":          cmdRm,
	"trash":       cmdTrash,
	"restore":     cmdRestoreAny,
	"backup":      cmdBackup,
	"key":         cmdKey,
	"version":     cmdVersion,
	"service":     cmdService,
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return runWith(systemLauncher, args, stdin, stdout, stderr)
}

// runWith runs the command of args; l says how the program was started
// (a double click on Windows starts the node and opens its page).
func runWith(l launcher, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, ctx: context.Background()}
	if len(args) == 0 {
		if l.doubleClicked() {
			if err := startByDoubleClick(e, l); err != nil {
				code := report(stderr, e.home, err)
				// The window closes when the program ends: let it be read.
				fmt.Fprintln(stderr, "press Enter to close this window")
				io.ReadAll(io.LimitReader(stdin, 1))
				return code
			}
			return 0
		}
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	if err := execute(e, args); err != nil {
		return report(stderr, e.home, err)
	}
	return 0
}

// flags is a command's flag set, with --home.
type flags struct {
	*flag.FlagSet
	home *string
	e    *env
}

func newFlags(e *env, name string) *flags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return &flags{FlagSet: fs, home: fs.String("home", "", "the node's folder"), e: e}
}

// parse parses flags and arguments in any order ("get DOCID -o OUT" as
// well as "get -o OUT DOCID"), and sets the home. "--" ends the flags.
func (f *flags) parse(args []string) ([]string, error) {
	var pos []string
	for len(args) > 0 {
		if err := f.FlagSet.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, &helpRequest{flags: f.FlagSet}
			}
			return nil, usagef("%s: %v", f.Name(), err)
		}
		// Parse stops at the first argument that is not a flag, or just
		// after "--", after which everything is an argument.
		consumed := len(args) - f.NArg()
		if consumed > 0 && args[consumed-1] == "--" {
			pos = append(pos, f.Args()...)
			break
		}
		args = f.Args()
		if len(args) > 0 {
			pos = append(pos, args[0])
			args = args[1:]
		}
	}
	home, err := resolveHome(*f.home)
	if err != nil {
		return nil, err
	}
	f.e.home = home
	return pos, nil
}

func resolveHome(flagValue string) (string, error) {
	home := flagValue
	if home == "" {
		home = os.Getenv("BALUCHON_HOME")
	}
	if home == "" {
		dir, err := os.UserHomeDir()
		if err != nil {
			return "", withHint(err, "give the node's folder with --home DIR")
		}
		home = filepath.Join(dir, ".baluchon")
	}
	abs, err := filepath.Abs(home)
	if err != nil {
		return "", err
	}
	return abs, nil
}

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }
