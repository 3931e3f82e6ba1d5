package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"filippo.io/age"

	"baluchon/internal/backupfiles"
	"baluchon/internal/diskspace"
	"baluchon/node"
)

// Backups: 'backup setup' chooses the folder (a USB stick) and the key;
// the running node writes a backup there every night (backupLoop), keeps
// the newest ones, and records how it went; 'backup now' asks it for one
// at once; 'restore BACKUP' makes a new machine's node from one.
//
// A backup is encrypted to an age recipient (a public key): the node can
// write it every night without holding any secret, and the secret half,
// printed once by 'backup setup', stays on paper or on another stick,
// away from the node and the backups. See docs/install.md.

const (
	backupSettingsFile = backupfiles.SettingsFile
	backupStatusFile   = backupfiles.StatusFile
	backupRequestFile  = "backup.now" // 'backup now' asks the node
	backupPrefix       = "baluchon-backup-"
	backupSuffix       = ".age"
	defaultBackupKeep  = 7
	backupEvery        = 24 * time.Hour
)

type (
	backupSettings = backupfiles.Settings
	backupStatus   = backupfiles.Status
)

func readJSON(name string, v any) (bool, error) { return backupfiles.ReadJSON(name, v) }

func writeJSON(name string, v any) error { return backupfiles.Write(name, v) }

func cmdBackup(e *env, args []string) error {
	const use = "usage: baluchon backup setup --to FOLDER [--keep N] [--recipient age1…] | now | status"
	if len(args) == 0 {
		return usagef("%s", use)
	}
	sub := args[0]
	f := newFlags(e, "backup "+sub)
	to := f.String("to", "", "the folder backups go to (a USB stick, a network folder) (setup)")
	keep := f.Int("keep", defaultBackupKeep, "how many backups to keep; older ones are deleted (setup)")
	recipient := f.String("recipient", "", "encrypt to this age public key (age1…) instead of a new one (setup)")
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
	case "setup":
		return backupSetup(e, *to, *keep, *recipient)
	case "now":
		return backupNow(e)
	case "status":
		printBackupHealth(e, time.Now())
		return nil
	}
	return usagef("unknown backup subcommand %q: %s", sub, use)
}

func backupSetup(e *env, to string, keep int, recipient string) error {
	if to == "" {
		return usagef("backup setup needs the folder: --to FOLDER")
	}
	if keep < 1 {
		return usagef("--keep must be at least 1")
	}
	abs, err := filepath.Abs(to)
	if err != nil {
		return err
	}
	if st, err := os.Stat(abs); err != nil || !st.IsDir() {
		return withHint(fmt.Errorf("folder %s does not exist", abs), "plug the USB stick in, or create the folder, and try again")
	}
	s := backupSettings{Folder: abs, Keep: keep, Recipient: recipient}
	var identity *age.X25519Identity
	if recipient == "" {
		if identity, err = age.GenerateX25519Identity(); err != nil {
			return err
		}
		s.Recipient = identity.Recipient().String()
	} else if _, err := age.ParseX25519Recipient(recipient); err != nil {
		return withHint(errors.New("--recipient is not an age public key"), "it looks like age1… (made by age-keygen); or leave it out for a new key")
	}
	if err := writeJSON(filepath.Join(e.home, backupSettingsFile), s); err != nil {
		return fmt.Errorf("save backup settings: %w", err)
	}
	if identity != nil {
		fmt.Fprintln(e.stdout, identity.String())
		fmt.Fprintln(e.stderr, "the line above is the backup key: print it or write it down, and keep it away from this computer and from the backups (a safe, another USB stick).")
		fmt.Fprintln(e.stderr, "without it no backup can be opened; with it, anyone holding a backup has every file of this structure.")
	}
	fmt.Fprintf(e.stderr, "backups go to %s every night (the newest %d kept), while the node runs; 'baluchon backup now' makes one at once\n", abs, keep)
	return nil
}

// backupNow asks the running node for a backup and waits for it.
func backupNow(e *env) error {
	if _, err := dial(e); err != nil {
		return err
	}
	var s backupSettings
	if ok, err := readJSON(filepath.Join(e.home, backupSettingsFile), &s); err != nil {
		return err
	} else if !ok {
		return withHint(errors.New("backups are not set up"), "run: baluchon backup setup --to FOLDER")
	}
	req := filepath.Join(e.home, backupRequestFile)
	if err := os.WriteFile(req, nil, 0o600); err != nil {
		return err
	}
	deadline := time.Now().Add(30 * time.Minute)
	for time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		if _, err := os.Stat(req); err == nil {
			continue
		}
		var st backupStatus
		if _, err := readJSON(filepath.Join(e.home, backupStatusFile), &st); err != nil {
			return err
		}
		if st.Error != "" && st.ErrorTime.After(st.Last) {
			return withHint(fmt.Errorf("backup failed: %s", st.Error), "see %s", filepath.Join(e.home, logDir, "baluchon.log"))
		}
		fmt.Fprintln(e.stdout, st.LastFile)
		fmt.Fprintf(e.stderr, "backup written: %s (%d bytes)\n", st.LastFile, st.LastBytes)
		return nil
	}
	return errors.New("the node did not make the backup within 30 minutes")
}

// startBackups runs the nightly backups of n until ctx ends; the returned
// function waits for the last one to finish.
func startBackups(ctx context.Context, home string, n *node.Node, log *slog.Logger) (wait func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(2 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				backupIfDue(ctx, home, n, log, now)
			}
		}
	}()
	return func() { <-done }
}

// backupIfDue writes a backup when asked ('backup now'), or when the last
// one is a day old, at night (or any time once it is a day and a half old).
func backupIfDue(ctx context.Context, home string, n *node.Node, log *slog.Logger, now time.Time) {
	var s backupSettings
	if ok, err := readJSON(filepath.Join(home, backupSettingsFile), &s); !ok || err != nil {
		return
	}
	var st backupStatus
	readJSON(filepath.Join(home, backupStatusFile), &st)
	req := filepath.Join(home, backupRequestFile)
	_, asked := os.Stat(req)
	since := now.Sub(st.Last)
	lastTry := now.Sub(st.ErrorTime)
	due := asked == nil ||
		(since >= backupEvery && lastTry >= time.Hour && (now.Hour() < 6 || since >= backupEvery*3/2))
	if !due {
		return
	}
	name, size, err := writeBackup(ctx, n, s, now)
	if err != nil {
		log.Error("backup failed", "err", err)
		st.Error, st.ErrorTime = err.Error(), now
	} else {
		log.Info("backup written", "file", name, "bytes", size)
		st.Last, st.LastFile, st.LastBytes, st.Error = now, name, size, ""
	}
	if err := writeJSON(filepath.Join(home, backupStatusFile), st); err != nil {
		log.Error("record backup status", "err", err)
	}
	os.Remove(req)
}

// writeBackup writes one backup into the folder of s (temporary name,
// synced, renamed), then deletes the oldest beyond s.Keep.
func writeBackup(ctx context.Context, n *node.Node, s backupSettings, now time.Time) (string, int64, error) {
	r, err := age.ParseX25519Recipient(s.Recipient)
	if err != nil {
		return "", 0, fmt.Errorf("backup key in %s: %w", backupSettingsFile, err)
	}
	if st, err := os.Stat(s.Folder); err != nil || !st.IsDir() {
		return "", 0, fmt.Errorf("folder %s is not there (USB stick unplugged?)", s.Folder)
	}
	name := filepath.Join(s.Folder, backupPrefix+now.UTC().Format("20060102-150405.000")+backupSuffix)
	tmp, err := os.CreateTemp(s.Folder, ".baluchon-backup-*.tmp")
	if err != nil {
		return "", 0, fmt.Errorf("write backup: %w", err)
	}
	defer os.Remove(tmp.Name())
	res, err := n.Backup(ctx, tmp, r)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), name)
	}
	if err != nil {
		return "", 0, fmt.Errorf("write backup to %s: %w", s.Folder, err)
	}
	if d, err := os.Open(s.Folder); err == nil {
		d.Sync()
		d.Close()
	}
	rotateBackups(s.Folder, max(s.Keep, 1))
	return name, res.Bytes, nil
}

// rotateBackups deletes the oldest backups of folder beyond keep.
func rotateBackups(folder string, keep int) {
	names, _ := filepath.Glob(filepath.Join(folder, backupPrefix+"*"+backupSuffix))
	sort.Strings(names) // the names sort by date
	for len(names) > keep {
		os.Remove(names[0])
		names = names[1:]
	}
}

// printBackupHealth prints the backup's and the disk's state, with a
// warning when the disk is nearly full or the last backup is over a week
// old. It returns the number of warnings.
func printBackupHealth(e *env, now time.Time) int {
	warnings := 0
	if u, err := diskspace.Of(e.home); err == nil {
		fmt.Fprintf(e.stdout, "disk %d %% full, %d MB free\n", u.Percent(), u.Free>>20)
		if u.Percent() >= diskspace.FullAt {
			fmt.Fprintf(e.stdout, "warning: the disk of %s is %d %% full: free space ('baluchon gc'), or move the node to a larger disk\n", e.home, u.Percent())
			warnings++
		}
	}
	var s backupSettings
	var st backupStatus
	configured, _ := readJSON(filepath.Join(e.home, backupSettingsFile), &s)
	readJSON(filepath.Join(e.home, backupStatusFile), &st)
	switch {
	case !configured:
		fmt.Fprintln(e.stdout, "backup none set up")
		fmt.Fprintln(e.stdout, "warning: no backup: if the disk dies, this structure's files are lost; run 'baluchon backup setup --to FOLDER'")
		warnings++
	case st.Last.IsZero():
		fmt.Fprintf(e.stdout, "backup to %s, none written yet\n", s.Folder)
	default:
		fmt.Fprintf(e.stdout, "backup last %s (%s)\n", st.Last.UTC().Format("2006-01-02T15:04:05Z"), st.LastFile)
	}
	if backupfiles.Overdue(st, configured, now) {
		what := "the last backup is over a week old"
		if st.Last.IsZero() {
			what = "no backup was written yet"
		}
		if st.Error != "" {
			what += " (last attempt: " + st.Error + ")"
		}
		fmt.Fprintf(e.stdout, "warning: %s: check that %s is plugged in and the node runs\n", what, s.Folder)
		warnings++
	}
	return warnings
}

// cmdRestoreAny is 'restore': a backup file (restore BACKUP), else a
// document from the trash (restore --card FILE DOCID).
func cmdRestoreAny(e *env, args []string) error {
	if isBackupRestore(args) {
		return cmdRestoreBackup(e, args)
	}
	return cmdRestore(e, args)
}

// isBackupRestore reports whether args name a backup file rather than a
// document: no card, and an argument that is a baluchon backup file.
func isBackupRestore(args []string) bool {
	if os.Getenv("BALUCHON_CARD") != "" {
		return false
	}
	for _, a := range args {
		if a == "--card" || a == "-card" || strings.HasPrefix(a, "--card=") || strings.HasPrefix(a, "-card=") || a == "--" {
			return false
		}
	}
	for _, a := range args {
		if strings.HasSuffix(a, backupSuffix) {
			if st, err := os.Stat(a); err == nil && st.Mode().IsRegular() {
				return true
			}
		}
	}
	return false
}

func cmdRestoreBackup(e *env, args []string) error {
	f := newFlags(e, "restore")
	keyFile := f.String("key", "-", "file holding the backup key (AGE-SECRET-KEY-1…); - reads it from standard input")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("restore takes one backup file: baluchon restore --home NEWFOLDER BACKUP.age")
	}
	var key []byte
	if *keyFile == "-" {
		if key, err = io.ReadAll(io.LimitReader(e.stdin, 4096)); err != nil {
			return err
		}
	} else if key, err = os.ReadFile(*keyFile); err != nil {
		return withHint(fmt.Errorf("read the backup key: %w", err), "give the file holding the key printed by 'backup setup' with --key FILE, or type it")
	}
	ids, err := age.ParseIdentities(strings.NewReader(string(key)))
	if err != nil {
		return withHint(errors.New("the backup key is not valid"), "it is the line AGE-SECRET-KEY-1… printed by 'baluchon backup setup'")
	}
	file, err := os.Open(pos[0])
	if err != nil {
		return err
	}
	defer file.Close()
	res, err := node.Restore(e.ctx, e.home, file, ids...)
	if err != nil {
		var fe *node.FormatError
		var nomatch *age.NoIdentityMatchError
		switch {
		case errors.Is(err, node.ErrNotEmpty):
			return withHint(fmt.Errorf("%s is not empty; nothing was changed", e.home), "restore into a new folder: --home NEWFOLDER")
		case errors.As(err, &fe):
			return err
		case errors.As(err, &nomatch):
			return withHint(errors.New("this backup key does not open this backup; nothing was changed"), "use the key printed by 'backup setup' on the node that made the backup")
		}
		return err
	}
	fmt.Fprintf(e.stderr, "restored %d blocks, %d records and %d files into %s\n", res.Blocks, res.Keys, res.Files, e.home)
	fmt.Fprintf(e.stderr, "start it with: baluchon serve --home %s (or 'baluchon service install --home %s')\n", e.home, e.home)
	return nil
}
