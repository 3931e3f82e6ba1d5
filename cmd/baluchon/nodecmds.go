package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"baluchon/api"
	"baluchon/node"
	"baluchon/web"
)

func cmdServe(e *env, args []string) error {
	f := newFlags(e, "serve")
	var listen listFlag
	f.Var(&listen, "listen", "listen address (repeatable)")
	mdns := f.Bool("mdns", true, "find other nodes on the local network")
	ui := f.String("ui", web.DefaultAddr, "address of the structure's web page (HOST:PORT, port 0 for any; 'off' for none)")
	var uo uiOptions
	f.StringVar(&uo.clamAV, "clamav", "", "clamd that scans uploads (socket path or HOST:PORT; 'off' for none); default: Debian's clamav-daemon if it answers")
	f.StringVar(&uo.scans, "scans", "", "folder the copier scans to, listed in the web page (default HOME/scans)")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("serve takes no arguments, got %q", pos[0])
	}
	var mdnsOpt *bool
	uiAsked := false
	f.Visit(func(fl *flag.Flag) {
		switch fl.Name {
		case "mdns":
			mdnsOpt = mdns
		case "ui":
			uiAsked = true
		}
	})
	if !node.IsInitialised(e.home) {
		if err := initHome(e, listen, ""); err != nil {
			return err
		}
	}
	logw := openLog(e.home) // HOME/logs/baluchon.log, as well as the terminal
	defer logw.Close()
	e.stderr = io.MultiWriter(e.stderr, logw)
	log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, stop := signal.NotifyContext(e.ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	n, err := node.Start(ctx, node.Options{Home: e.home, Listen: listen, Logger: log, MDNS: mdnsOpt, KeyPassphrase: startPassphrase(e)})
	if err != nil {
		return keyError(err)
	}
	srv, err := api.Start(n, api.Options{Home: e.home, Addr: n.Config().API, Logger: log})
	if err != nil {
		n.Close()
		return err
	}
	fmt.Fprintf(e.stderr, "baluchon node %s is running (home %s)\n", n.ID(), e.home)
	for _, a := range n.Addrs() {
		fmt.Fprintf(e.stderr, "  reachable at %s\n", a)
	}
	waitUI, err := startUI(ctx, e, n, *ui, uiAsked, uo, log)
	if err != nil {
		srv.Close()
		n.Close()
		return err
	}
	waitBackups := startBackups(ctx, e.home, n, log)
	fmt.Fprintf(e.stderr, "local API on %s; stop with Ctrl-C\n", srv.Addr())
	<-ctx.Done()
	waitBackups()
	waitUI()
	fmt.Fprintln(e.stderr, "stopping…")
	srv.Close()
	if err := n.Close(); err != nil {
		return fmt.Errorf("stop the node: %w", err)
	}
	fmt.Fprintln(e.stderr, "stopped")
	return nil
}

func cmdInit(e *env, args []string) error {
	f := newFlags(e, "init")
	var listen listFlag
	f.Var(&listen, "listen", "listen address (repeatable)")
	protect := f.Bool("protect-key", false, "encrypt the node's keys with a passphrase (from "+passphraseEnv+" or typed)")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("init takes no arguments, got %q", pos[0])
	}
	pass := ""
	if *protect {
		if node.IsInitialised(e.home) {
			return fmt.Errorf("%s: %w", e.home, node.ErrInitialised)
		}
		if pass, err = askPassphrase(e, "new passphrase for this node's keys: ", true); err != nil {
			return err
		}
	}
	return initHome(e, listen, pass)
}

func initHome(e *env, listen []string, pass string) error {
	if err := node.Init(e.home, node.InitOptions{Config: &node.Config{Listen: listen}, KeyPassphrase: pass}); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "initialised a new baluchon node in %s\n", e.home)
	return nil
}

// clientTimeout bounds the commands that only ask the node a question.
const clientTimeout = 30 * time.Second

func dial(e *env) (*api.Client, error) {
	return api.Dial(e.home)
}

// noArgs parses the flags of a command that takes no arguments, then
// dials the node.
func noArgs(e *env, f *flags, args []string) (*api.Client, error) {
	pos, err := f.parse(args)
	if err != nil {
		return nil, err
	}
	if len(pos) != 0 {
		return nil, usagef("%s takes no arguments", f.Name())
	}
	return dial(e)
}

// printJSON prints v as indented JSON on standard output.
func printJSON(e *env, v any) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func cmdID(e *env, args []string) error {
	f := newFlags(e, "id")
	c, err := noArgs(e, f, args)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(e.ctx, clientTimeout)
	defer cancel()
	info, err := c.ID(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, info.ID)
	for _, a := range info.Addrs {
		fmt.Fprintln(e.stdout, a)
	}
	return nil
}

func cmdConnect(e *env, args []string) error {
	f := newFlags(e, "connect")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("connect takes one peer address, like /ip4/192.168.1.10/tcp/4001/p2p/12D3Koo…")
	}
	if _, err := node.ParsePeerAddr(pos[0]); err != nil {
		return withHint(err, "'baluchon id' on the other node prints its addresses")
	}
	c, err := dial(e)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(e.ctx, node.ConnectTimeout+5*time.Second)
	defer cancel()
	p, err := c.Connect(ctx, pos[0])
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return withHint(fmt.Errorf("peer %s did not answer in time", pos[0]), "check that the other node is running and reachable")
		}
		return err
	}
	fmt.Fprintf(e.stderr, "connected to %s; it will be reconnected after a restart\n", p)
	return nil
}

func cmdPeers(e *env, args []string) error {
	f := newFlags(e, "peers")
	c, err := noArgs(e, f, args)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(e.ctx, clientTimeout)
	defer cancel()
	peers, err := c.Peers(ctx)
	if err != nil {
		return err
	}
	for _, p := range peers {
		fmt.Fprintln(e.stdout, p)
	}
	return nil
}
