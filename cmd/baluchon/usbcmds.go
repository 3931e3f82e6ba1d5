package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

func cmdExport(e *env, args []string) error {
	f := newFlags(e, "export")
	card := cardFlag(f)
	all := f.Bool("all", false, "export every vault this node keeps")
	out := f.String("o", "", "the CAR file to write")
	have := f.String("have", "", "only what the node that wrote this file (baluchon have) lacks")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if *have != "" {
		return exportDelta(e, *have, *card, *all, *out, pos)
	}
	if len(pos) != 0 || *out == "" || (*all == (*card != "" || os.Getenv("BALUCHON_CARD") != "")) {
		return usagef("export takes --card FILE (one person's vault) or --all (everything this node keeps), and -o FILE.car")
	}
	if st, err := os.Stat(filepath.Dir(*out)); err != nil || !st.IsDir() {
		return withHint(fmt.Errorf("folder %s does not exist", filepath.Dir(*out)), "check that the USB stick is plugged in and give a file on it")
	}
	cl, err := dial(e)
	if err != nil {
		return err
	}
	var body interface {
		Read([]byte) (int, error)
		Close() error
	}
	var size int64
	if *all {
		body, size, err = cl.Export(e.ctx, nil)
	} else {
		c, cerr := readCard(e, *card)
		if cerr != nil {
			return cerr
		}
		body, size, err = cl.Export(e.ctx, c)
	}
	if err != nil {
		return err
	}
	defer body.Close()
	p := newProgress(e, size, "export")
	err = writeAtomic(*out, p.reader(body))
	p.done()
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "wrote %s\n", *out)
	return nil
}

func cmdImport(e *env, args []string) error {
	f := newFlags(e, "import")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("import takes one CAR file: baluchon import FILE.car")
	}
	file, err := os.Open(pos[0])
	if errors.Is(err, fs.ErrNotExist) {
		return withHint(fmt.Errorf("file %s does not exist; nothing was imported", pos[0]), "check the name, and that the USB stick is plugged in")
	}
	if err != nil {
		return err
	}
	defer file.Close()
	st, err := file.Stat()
	if err != nil {
		return err
	}
	if st.IsDir() {
		return fmt.Errorf("%s is a folder, not a CAR file; nothing was imported", pos[0])
	}
	cl, err := dial(e)
	if err != nil {
		return err
	}
	p := newProgress(e, st.Size(), "import")
	res, err := cl.Import(e.ctx, p.reader(file), st.Size())
	p.done()
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "imported %d vault(s): %d blocks (%d new), %d new state(s), %d new card(s)\n", res.Vaults, res.Blocks, res.NewBlocks, res.NewStates, res.Cards)
	if res.RefusedStates > 0 || res.RefusedRecords > 0 {
		fmt.Fprintf(e.stderr, "left out: %d state(s) and %d record(s) that no member of this federation wrote\n", res.RefusedStates, res.RefusedRecords)
	}
	return nil
}
