package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/kardianos/service"

	"baluchon/node"
)

// The node as a system service (systemd, a Windows service, launchd),
// through github.com/kardianos/service. The installed service runs
// 'baluchon service run --home HOME', which talks to the service manager
// (a Windows service must answer the Service Control Manager) and runs
// 'serve' until the manager stops it, logging to HOME/logs.

// serviceName is the service's name for the service manager.
const serviceName = "baluchon"

// serviceHome is the node's home when it runs as a service: the
// platform's usual place for a system service's data.
func serviceHome(goos string, getenv func(string) string) string {
	switch goos {
	case "windows":
		pd := getenv("ProgramData")
		if pd == "" {
			pd = `C:\ProgramData`
		}
		return pd + `\baluchon`
	case "darwin":
		return "/Library/Application Support/baluchon"
	}
	return "/var/lib/baluchon"
}

func cmdService(e *env, args []string) error {
	const use = "usage: baluchon service install [--user NAME] [--ui HOST:PORT] | uninstall | status"
	if len(args) == 0 {
		return usagef("%s", use)
	}
	sub := args[0]
	f := newFlags(e, "service "+sub)
	user := f.String("user", defaultServiceUser, "the system account the node runs as (created if missing, Linux)")
	ui := f.String("ui", "", "address of the web page (default 127.0.0.1:8080; 0.0.0.0:8443 for the local network)")
	name := f.String("name", serviceName, "the service's name (tests install under another)")
	pos, err := f.parse(args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("%s", use)
	}
	if *f.home == "" && os.Getenv("BALUCHON_HOME") == "" {
		e.home = serviceHome(runtime.GOOS, os.Getenv)
	}
	runArgs := []string{"service", "run", "--home", e.home, "--name", *name}
	if *ui != "" {
		runArgs = append(runArgs, "--ui", *ui)
	}
	if sub == "run" {
		return runService(e, *name, *ui)
	}
	cfg := &service.Config{
		Name:        *name,
		DisplayName: "baluchon",
		Description: "baluchon node: the structure's encrypted safe for people's papers",
		Arguments:   runArgs,
		Dependencies: []string{
			"After=network-online.target",
			"Wants=network-online.target",
		},
		Option: service.KeyValue{"LogOutput": false},
	}
	if runtime.GOOS == "linux" {
		cfg.UserName = *user
	}
	s, err := service.New(nil, cfg)
	if err != nil {
		return fmt.Errorf("find the system's service manager: %w", err)
	}
	switch sub {
	case "install":
		return installService(e, s, *user)
	case "uninstall":
		s.Stop()
		if err := s.Uninstall(); err != nil {
			return withHint(fmt.Errorf("uninstall the service: %w", err), "run it as an administrator (Linux: sudo baluchon service uninstall)")
		}
		fmt.Fprintf(e.stderr, "service %s uninstalled; the node's folder %s is kept\n", *name, e.home)
		return nil
	case "status":
		st, err := s.Status()
		switch {
		case errors.Is(err, service.ErrNotInstalled):
			fmt.Fprintln(e.stdout, "not installed")
		case err != nil:
			return fmt.Errorf("ask the service manager (%s): %w", service.Platform(), err)
		case st == service.StatusRunning:
			fmt.Fprintln(e.stdout, "running")
		case st == service.StatusStopped:
			fmt.Fprintln(e.stdout, "stopped")
		default:
			fmt.Fprintln(e.stdout, "unknown")
		}
		return nil
	}
	return usagef("unknown service subcommand %q: %s", sub, use)
}

func installService(e *env, s service.Service, user string) error {
	if !node.IsInitialised(e.home) {
		if err := initHome(e, nil, ""); err != nil {
			return err
		}
	}
	if runtime.GOOS == "linux" {
		if err := ensureServiceUser(user, e.home); err != nil {
			return withHint(err, "run it as root: sudo baluchon service install")
		}
	}
	if err := s.Install(); err != nil {
		return withHint(fmt.Errorf("install the service: %w", err), "run it as an administrator (Linux: sudo baluchon service install); 'baluchon service uninstall' removes an older one")
	}
	if err := s.Start(); err != nil {
		return fmt.Errorf("start the service: %w", err)
	}
	exe, _ := os.Executable()
	fmt.Fprintf(e.stderr, "service installed and started: it runs %s with the node's folder %s, and starts with the machine\n", exe, e.home)
	fmt.Fprintln(e.stderr, "keep the program where it is (or install the service again after moving it); its logs are in "+filepath.Join(e.home, "logs"))
	return nil
}

// runService is what the service manager starts: serve, until it is told
// to stop.
func runService(e *env, name, ui string) error {
	// serve writes its log to HOME/logs; a service has no terminal.
	p := &serviceProgram{e: e, log: io.Discard, ui: ui}
	s, err := service.New(p, &service.Config{Name: name})
	if err != nil {
		return err
	}
	return s.Run()
}

// serviceProgram runs serve for the service manager.
type serviceProgram struct {
	e      *env
	log    io.Writer
	ui     string
	cancel context.CancelFunc
	done   chan error
}

func (p *serviceProgram) Start(service.Service) error {
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel, p.done = cancel, make(chan error, 1)
	se := &env{home: p.e.home, stdin: eofReader{}, stdout: p.log, stderr: p.log, ctx: ctx}
	args := []string{"--home", p.e.home}
	if p.ui != "" {
		args = append(args, "--ui", p.ui)
	}
	go func() {
		err := cmdServe(se, args)
		if err != nil {
			// serve failed before its log was open, or while starting.
			logw := openLog(se.home)
			msg, hint := explain(se.home, err)
			slog.New(slog.NewTextHandler(logw, nil)).Error("the node stopped", "err", msg, "hint", hint)
			logw.Close()
		}
		p.done <- err
		if ctx.Err() == nil {
			// The node stopped by itself: the service manager restarts it.
			os.Exit(1)
		}
	}()
	return nil
}

func (p *serviceProgram) Stop(service.Service) error {
	p.cancel()
	select {
	case err := <-p.done:
		return err
	case <-time.After(30 * time.Second):
		return errors.New("the node did not stop within 30 s")
	}
}

// eofReader is an empty standard input: a service has no terminal.
type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }
