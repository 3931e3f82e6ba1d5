package web

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"baluchon/internal/backupfiles"
	"baluchon/internal/diskspace"
	"baluchon/node"
)

// The admin's health page warns when the disk is nearly full and when the
// last backup is too old, and offers a diagnostic report to copy and send
// to whoever helps: versions, reachability, peers, disk, backups and the
// log's last errors. Nothing in it is secret: ids, addresses, counts, and
// log lines (which never hold a card, a document, a title or a name).

// healthExtra is what the health page shows beyond the node's status.
type healthExtra struct {
	DiskPercent   int
	DiskFull      bool // at least diskspace.FullAt %
	BackupSet     bool
	BackupLast    time.Time
	BackupOverdue bool
	BackupError   string
	Report        string
}

// maxReportErrors is how many of the log's last warnings and errors the
// report holds.
const maxReportErrors = 20

func (s *Server) healthExtra(ctx context.Context, st *node.Status) healthExtra {
	var h healthExtra
	disk, diskErr := diskspace.Of(s.cfg.Home)
	if diskErr == nil {
		h.DiskPercent = disk.Percent()
		h.DiskFull = h.DiskPercent >= diskspace.FullAt
	}
	set, bst, configured, _ := backupfiles.Read(s.cfg.Home)
	h.BackupSet, h.BackupLast, h.BackupError = configured, bst.Last, bst.Error
	h.BackupOverdue = backupfiles.Overdue(bst, configured, s.now())

	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	line("baluchon diagnostic report, %s", s.now().UTC().Format(time.RFC3339))
	if s.cfg.Version != "" {
		line("version: %s", s.cfg.Version)
	}
	line("node: %s", st.Peer)
	if s.cfg.Reachable != nil {
		for _, a := range s.cfg.Reachable() {
			line("listening: %s", a)
		}
	}
	fed := st.Federation
	if fed == "" {
		fed = "none"
	}
	line("federation: %s (%d members, %d structure keys known)", fed, st.Members, st.Structures)
	line("connected peers: %d", st.Connected)
	line("vaults kept: %d; used: %d bytes; quota: %d bytes", len(st.Vaults), st.UsedBytes, st.QuotaBytes)
	under := 0
	for _, v := range st.Vaults {
		if v.Replicas < v.Target {
			under++
		}
	}
	line("vaults with fewer copies than wanted: %d", under)
	if diskErr == nil {
		line("disk: %d %% full, %d MB free", disk.Percent(), disk.Free>>20)
	} else {
		line("disk: unknown (%v)", diskErr)
	}
	switch {
	case !configured:
		line("backup: not set up")
	case bst.Last.IsZero():
		line("backup: to %s, none written yet", set.Folder)
	default:
		line("backup: last %s, to %s", bst.Last.UTC().Format(time.RFC3339), set.Folder)
	}
	if bst.Error != "" {
		line("backup: last attempt failed at %s: %s", bst.ErrorTime.UTC().Format(time.RFC3339), bst.Error)
	}
	line("antivirus: %s", s.antivirusMessage(ctx))
	errs := lastLogErrors(filepath.Join(s.cfg.Home, "logs", "baluchon.log"), maxReportErrors)
	line("last warnings and errors in the log: %d", len(errs))
	for _, e := range errs {
		line("  %s", e)
	}
	h.Report = b.String()
	return h
}

// lastLogErrors returns the last n lines of the log at level WARN or
// ERROR (an absent log has none).
func lastLogErrors(name string, n int) []string {
	f, err := os.Open(name)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if strings.Contains(l, " level=ERROR ") || strings.Contains(l, " level=WARN ") {
			if len(l) > 500 {
				l = l[:500] + "…"
			}
			out = append(out, l)
			if len(out) > n {
				out = out[1:]
			}
		}
	}
	return out
}
