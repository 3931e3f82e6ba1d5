package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestRotateBackups(t *testing.T) {
	dir := t.TempDir()
	var names []string
	for i := range 5 {
		n := backupPrefix + time.Date(2026, 11, 20+i, 2, 0, 0, 0, time.UTC).Format("20060102-150405.000") + backupSuffix
		names = append(names, n)
		os.WriteFile(filepath.Join(dir, n), nil, 0o600)
	}
	os.WriteFile(filepath.Join(dir, "notes.txt"), nil, 0o600)
	rotateBackups(dir, 2)
	entries, _ := os.ReadDir(dir)
	var left []string
	for _, e := range entries {
		left = append(left, e.Name())
	}
	want := []string{names[3], names[4], "notes.txt"}
	slices.Sort(want)
	if !slices.Equal(left, want) {
		t.Errorf("left %v, want %v", left, want)
	}
}

// TestBackupWarnings: status warns when no backup is set up, and when the
// last one is over a week old.
func TestBackupWarnings(t *testing.T) {
	home := t.TempDir()
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	check := func(name string, wantWarning string) {
		t.Helper()
		var out bytes.Buffer
		printBackupHealth(&env{home: home, stdout: &out}, now)
		got := strings.Contains(out.String(), "warning: "+wantWarning)
		if wantWarning == "" {
			got = !strings.Contains(out.String(), "warning: ") || strings.Contains(out.String(), "warning: the disk")
		}
		if !got {
			t.Errorf("%s: want warning %q in\n%s", name, wantWarning, out.String())
		}
	}
	check("none set up", "no backup")
	writeJSON(filepath.Join(home, backupSettingsFile), backupSettings{Folder: "/media/usb", Keep: 7})
	check("set up, never written", "no backup was written yet")
	writeJSON(filepath.Join(home, backupStatusFile), backupStatus{Last: now.Add(-8 * 24 * time.Hour), Error: "folder /media/usb is not there (USB stick unplugged?)", ErrorTime: now.Add(-time.Hour)})
	check("eight days old", "the last backup is over a week old (last attempt: folder /media/usb is not there")
	writeJSON(filepath.Join(home, backupStatusFile), backupStatus{Last: now.Add(-20 * time.Hour)})
	check("yesterday", "")
}
