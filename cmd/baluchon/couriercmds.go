package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"baluchon/vault"
)

// Couriers: B writes what it has (have -o FILE); A writes only what B
// lacks (export --have FILE -o delta.car); B imports it.

func cmdHave(e *env, args []string) error {
	f := newFlags(e, "have")
	out := f.String("o", "", "the file to write")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 0 || *out == "" {
		return usagef("have takes -o FILE: the list of what this node keeps, to carry to the node that will export")
	}
	if st, err := os.Stat(filepath.Dir(*out)); err != nil || !st.IsDir() {
		return withHint(fmt.Errorf("folder %s does not exist", filepath.Dir(*out)), "check that the USB stick is plugged in and give a file on it")
	}
	cl, err := dial(e)
	if err != nil {
		return err
	}
	body, err := cl.Have(e.ctx)
	if err != nil {
		return err
	}
	defer body.Close()
	if err := writeAtomic(*out, body); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "wrote %s\n", *out)
	return nil
}

// exportDelta is 'export --have FILE': of the card's vault, or of the
// vaults the have file names (--all is the same: every vault of the file
// that this node keeps).
func exportDelta(e *env, haveName, cardName string, all bool, out string, pos []string) error {
	if len(pos) != 0 || out == "" || (all && (cardName != "" || os.Getenv("BALUCHON_CARD") != "")) {
		return usagef("export --have FILE takes -o FILE.car, and --card FILE to add one person's vault that the other node may not have")
	}
	if st, err := os.Stat(filepath.Dir(out)); err != nil || !st.IsDir() {
		return withHint(fmt.Errorf("folder %s does not exist", filepath.Dir(out)), "check that the USB stick is plugged in and give a file on it")
	}
	have, err := os.Open(haveName)
	if errors.Is(err, fs.ErrNotExist) {
		return withHint(fmt.Errorf("file %s does not exist", haveName), "write it at the other node with: baluchon have -o FILE")
	}
	if err != nil {
		return err
	}
	defer have.Close()
	st, err := have.Stat()
	if err != nil {
		return err
	}
	var card *vault.Card
	if !all && (cardName != "" || os.Getenv("BALUCHON_CARD") != "") {
		if card, err = readCard(e, cardName); err != nil {
			return err
		}
	}
	cl, err := dial(e)
	if err != nil {
		return err
	}
	body, size, err := cl.ExportDelta(e.ctx, have, st.Size(), card)
	if err != nil {
		return err
	}
	defer body.Close()
	p := newProgress(e, size, "export")
	err = writeAtomic(out, p.reader(body))
	p.done()
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "wrote %s\n", out)
	return nil
}
