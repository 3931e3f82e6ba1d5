// Package backupfiles reads and writes the two files that describe a
// node's backups, in its home: the settings ('baluchon backup setup') and
// how the last backup went (written by the node). The command line and
// the web page both read them.
package backupfiles

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"baluchon/internal/atomicfile"
)

const (
	SettingsFile = "backup.json"        // written by 'backup setup'
	StatusFile   = "backup-status.json" // written by the node
	// TooOld is the age from which the last backup is warned about.
	TooOld = 7 * 24 * time.Hour
)

// Settings is HOME/backup.json.
type Settings struct {
	Folder    string `json:"folder"`
	Recipient string `json:"recipient"` // age1…: the public half of the backup key
	Keep      int    `json:"keep"`
}

// Status is HOME/backup-status.json.
type Status struct {
	Last      time.Time `json:"last,omitzero"` // last backup written
	LastFile  string    `json:"last_file,omitempty"`
	LastBytes int64     `json:"last_bytes,omitempty"`
	Error     string    `json:"error,omitempty"` // of the last attempt, if it failed
	ErrorTime time.Time `json:"error_time,omitzero"`
}

// Read reads the settings and status of home; configured is false when
// backups are not set up.
func Read(home string) (s Settings, st Status, configured bool, err error) {
	configured, err = ReadJSON(filepath.Join(home, SettingsFile), &s)
	if err != nil {
		return s, st, false, err
	}
	_, err = ReadJSON(filepath.Join(home, StatusFile), &st)
	return s, st, configured, err
}

// Overdue reports whether backups are set up and the last one is older
// than TooOld (or there is none yet).
func Overdue(st Status, configured bool, now time.Time) bool {
	return configured && now.Sub(st.Last) > TooOld
}

// ReadJSON reads name into v; false when the file does not exist.
func ReadJSON(name string, v any) (bool, error) {
	b, err := os.ReadFile(name)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("%s is damaged: %w", name, err)
	}
	return true, nil
}

// Write writes v (Settings or Status) to name, atomically.
func Write(name string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(name, append(b, '\n'), 0o600)
}
