package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	qrcode "github.com/skip2/go-qrcode"

	"baluchon/node"
	"baluchon/proto"
)

// joinTimeout bounds pairing and joining: a connection (10 s) and one
// request.
const joinTimeout = node.ConnectTimeout + proto.StreamTimeout + 5*time.Second

// readCodeArg checks a typed code before it goes to the node, so that a
// typo is reported as a typo.
func readCodeArg(args []string) (string, error) {
	text := strings.Join(args, "")
	if _, err := proto.ParseCode(text); err != nil {
		var ce *proto.CodeError
		if errors.As(err, &ce) {
			return "", withHint(fmt.Errorf("the code has a mistake: %w", err), "compare it with the code shown on the other node, or scan its QR code")
		}
		return "", err
	}
	return text, nil
}

// writeQR writes text as a QR code image, refusing to overwrite a file.
func writeQR(name, text string) error {
	if _, err := os.Lstat(name); err == nil {
		return withHint(fmt.Errorf("%s already exists", name), "choose another file name")
	}
	png, err := qrcode.Encode(text, qrcode.Medium, 512)
	if err != nil {
		return fmt.Errorf("make QR code: %w", err)
	}
	return writeNew(name, png, 0o644)
}

func cmdPair(e *env, args []string) error {
	f := newFlags(e, "pair")
	qr := f.String("qr", "", "also write the pairing code as a QR code image (PNG)")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	cl, err := dial(e)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(e.ctx, joinTimeout)
	defer cancel()
	if len(pos) == 0 {
		code, err := cl.PairingCode(ctx)
		if err != nil {
			return err
		}
		if *qr != "" {
			if err := writeQR(*qr, code); err != nil {
				return err
			}
		}
		fmt.Fprintln(e.stdout, code)
		fmt.Fprintln(e.stderr, "on the other node, run: baluchon pair - (and paste the code)")
		return nil
	}
	text, err := codeInput(e, pos, "pairing code")
	if err != nil {
		return err
	}
	p, err := cl.Pair(ctx, text)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "paired with %s; it will be reconnected after a restart\n", p)
	return nil
}

func cmdFederation(e *env, args []string) error {
	if len(args) == 0 {
		return usagef("federation needs a subcommand: invite, join CODE, members or remove PEERID")
	}
	f := newFlags(e, "federation "+args[0])
	var qr *string
	if args[0] == "invite" {
		qr = f.String("qr", "", "also write the invitation as a QR code image (PNG)")
	}
	pos, err := f.parse(args[1:])
	if err != nil {
		return err
	}
	switch args[0] {
	case "invite", "members":
		if len(pos) != 0 {
			return usagef("federation %s takes no arguments", args[0])
		}
	case "join":
	case "remove":
		if len(pos) != 1 {
			return usagef("federation remove takes the peer id of one member (see 'baluchon federation members')")
		}
	default:
		return usagef("unknown federation subcommand %q: use invite, join CODE, members or remove PEERID", args[0])
	}
	var text string
	if args[0] == "join" {
		if text, err = codeInput(e, pos, "invitation code"); err != nil {
			return err
		}
	}
	cl, err := dial(e)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(e.ctx, joinTimeout)
	defer cancel()
	switch args[0] {
	case "invite":
		code, fed, err := cl.Invite(ctx)
		if err != nil {
			return err
		}
		if *qr != "" {
			if err := writeQR(*qr, code); err != nil {
				return err
			}
		}
		fmt.Fprintln(e.stdout, code)
		fmt.Fprintf(e.stderr, "invitation into federation %s, valid for %d days and for one node: on that node, run: baluchon federation join (and paste the code)\n", fed, int(node.InviteTTL.Hours()/24))
	case "join":
		fed, err := cl.Join(ctx, text)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "this node is now a member of federation %s\n", fed)
	case "members":
		fi, err := cl.FederationInfo(ctx)
		if err != nil {
			return err
		}
		if fi.Federation == "" {
			fmt.Fprintln(e.stderr, "this node is in no federation yet: 'baluchon federation invite' founds one")
			return nil
		}
		fmt.Fprintf(e.stderr, "federation %s\n", fi.Federation)
		for _, m := range fi.Members {
			fmt.Fprintf(e.stdout, "%s\t%s\n", m, clean(fi.Names[m]))
		}
		for _, m := range fi.Removed {
			fmt.Fprintf(e.stderr, "removed: %s\t%s\n", m, clean(fi.Names[m]))
		}
	case "remove":
		if err := cl.RemoveMember(ctx, pos[0]); err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "%s is no longer a member: what it writes from now on is refused wherever this news arrives (it spreads to the members)\n", pos[0])
	}
	return nil
}

func cmdStatus(e *env, args []string) error {
	f := newFlags(e, "status")
	asJSON := f.Bool("json", false, "print JSON (with the peer ids of the replicas)")
	cl, err := noArgs(e, f, args)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(e.ctx, clientTimeout)
	defer cancel()
	st, err := cl.Status(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(e, st)
	}
	fed := st.Federation
	if fed == "" {
		fed = "none"
	}
	quota := "no limit"
	if st.QuotaBytes > 0 {
		quota = fmt.Sprintf("%d bytes", st.QuotaBytes)
	}
	fmt.Fprintf(e.stdout, "node %s\nfederation %s (%d members, %d structure keys known, %d connected peers)\nstorage %d bytes used, quota %s\n", st.Peer, fed, st.Members, st.Structures, st.Connected, st.UsedBytes, quota)
	if st.Reach != "" {
		fmt.Fprintf(e.stdout, "reachable %s\n", st.Reach)
	}
	printBackupHealth(e, time.Now())
	fmt.Fprintln(e.stdout, "vault\treplicas\tlast sync\tsynced with\tlast change by")
	for _, v := range st.Vaults {
		last, with, by := "never", "-", "-"
		if !v.LastTime.IsZero() {
			last, with = v.LastTime.UTC().Format("2006-01-02T15:04:05Z"), v.LastPeer
		}
		if v.LastChange != nil {
			by = clean(v.LastChange.Name)
		}
		fmt.Fprintf(e.stdout, "%s\t%d/%d\t%s\t%s\t%s\n", v.Vault, v.Replicas, v.Target, last, with, by)
	}
	return nil
}

func cmdGC(e *env, args []string) error {
	f := newFlags(e, "gc")
	cl, err := noArgs(e, f, args)
	if err != nil {
		return err
	}
	res, err := cl.GC(e.ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "removed %d unused blocks (%d bytes), kept %d\n", res.Removed, res.Freed, res.Kept)
	return nil
}
