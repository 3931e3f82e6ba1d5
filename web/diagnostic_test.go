package web

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"baluchon/internal/backupfiles"
)

// TestHealthWarningsAndReport: the admin's health page warns when no
// backup is set up and when the last one is over a week old, and gives a
// diagnostic report with the version, addresses, backups and the log's
// last errors, and nothing secret.
func TestHealthWarningsAndReport(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.Version = "baluchon 1.2.3 (commit abc, go1.26.8, linux/arm64)"
		c.Reachable = func() []string { return []string{"/ip4/192.168.1.20/tcp/4001"} }
	})
	c := e.admin()
	r := e.get(c, "/health")
	e.want(r, 200, "Aucune sauvegarde n'est prévue", "Rapport de diagnostic", "Copier le rapport de diagnostic",
		"version: baluchon 1.2.3 (commit abc, go1.26.8, linux/arm64)", "listening: /ip4/192.168.1.20/tcp/4001", "backup: not set up", "disk: ")

	now := e.clock.Now()
	backupfiles.Write(filepath.Join(e.home, backupfiles.SettingsFile), backupfiles.Settings{Folder: "/media/usb", Keep: 7})
	backupfiles.Write(filepath.Join(e.home, backupfiles.StatusFile), backupfiles.Status{Last: now.Add(-9 * 24 * time.Hour), LastFile: "/media/usb/b.age", Error: "folder /media/usb is not there (USB stick unplugged?)", ErrorTime: now.Add(-time.Hour)})
	os.MkdirAll(filepath.Join(e.home, "logs"), 0o700)
	os.WriteFile(filepath.Join(e.home, "logs", "baluchon.log"), []byte(
		"time=2026-03-03T09:00:00Z level=INFO msg=\"node started\"\n"+
			"time=2026-03-03T09:10:00Z level=ERROR msg=\"backup failed\" err=\"folder /media/usb is not there\"\n"), 0o600)
	r = e.get(c, "/health")
	e.want(r, 200, "La dernière sauvegarde date de plus d'une semaine", "USB stick unplugged",
		"backup: last 2026-02-22T10:00:00Z, to /media/usb", "last warnings and errors in the log: 1", `level=ERROR msg="backup failed"`)
	if strings.Contains(r.body, "node started") {
		t.Error("the report holds log lines that are not warnings or errors")
	}

	backupfiles.Write(filepath.Join(e.home, backupfiles.StatusFile), backupfiles.Status{Last: now.Add(-2 * time.Hour)})
	r = e.get(c, "/health")
	if strings.Contains(r.body, "plus d&#39;une semaine") || strings.Contains(r.body, "Aucune sauvegarde") {
		t.Errorf("a recent backup is warned about:\n%s", excerpt(r.body))
	}
}
