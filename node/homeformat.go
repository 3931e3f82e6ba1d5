package node

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"baluchon/internal/atomicfile"
)

// HomeFormat is the format of the homes this binary makes and reads. A
// home records its own in HOME/format (one decimal number); a home
// without that file was made before formats were recorded (format 0).
//
// A binary opens a home of its format or older, migrating an older one
// first (migrations), and refuses a newer one with a FormatError without
// changing anything: an older binary must not damage a home that a newer
// one has changed.
const HomeFormat = 2

// formatFile is HOME/format.
const formatFile = "format"

// migrations[i] turns a home of format i into format i+1. It runs with
// the home locked, before the store is opened, and must be safe to run
// again if interrupted (the format is recorded only once it returned).
var migrations = [HomeFormat]func(home string) error{
	// 0 → 1: formats start being recorded; the files are unchanged.
	func(string) error { return nil },
	// 1 → 2: new blocks go to append-only packs (HOME/packs, indexed in
	// the datastore); the blocks in flatfs (HOME/blocks) stay where they
	// are and are still read. An older binary would not see the packed
	// blocks, hence the new format. HOME/packs is made at the first open.
	func(home string) error { return os.MkdirAll(filepath.Join(home, packsDir), homeDirPerm) },
}

// FormatError says that a home was made by a newer baluchon.
type FormatError struct {
	Home      string
	Found     int // the home's format
	Supported int // the newest format this binary reads
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("%s was made by a newer version of baluchon (home format %d; this version reads formats up to %d); nothing was changed", e.Home, e.Found, e.Supported)
}

// ReadHomeFormat returns the format recorded in home (0 when none is).
func ReadHomeFormat(home string) (int, error) {
	b, err := os.ReadFile(filepath.Join(home, formatFile))
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read home format: %w", err)
	}
	f, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || f < 0 {
		return 0, fmt.Errorf("%s is damaged: it should hold one number", filepath.Join(home, formatFile))
	}
	return f, nil
}

// checkHomeFormat refuses a home of a newer format; it changes nothing.
func checkHomeFormat(home string) (int, error) {
	f, err := ReadHomeFormat(home)
	if err != nil {
		return 0, err
	}
	if f > HomeFormat {
		return 0, &FormatError{Home: home, Found: f, Supported: HomeFormat}
	}
	return f, nil
}

// migrateHome brings a home of an older format to HomeFormat, one step at
// a time, recording each step. The home must be locked.
func migrateHome(home string) error {
	f, err := checkHomeFormat(home)
	if err != nil {
		return err
	}
	for ; f < HomeFormat; f++ {
		if err := migrations[f](home); err != nil {
			return fmt.Errorf("upgrade home from format %d to %d: %w", f, f+1, err)
		}
		if err := writeHomeFormat(home, f+1); err != nil {
			return err
		}
	}
	return nil
}

func writeHomeFormat(home string, f int) error {
	if err := atomicfile.Write(filepath.Join(home, formatFile), []byte(strconv.Itoa(f)+"\n"), secretPerm); err != nil {
		return fmt.Errorf("record home format: %w", err)
	}
	return nil
}
