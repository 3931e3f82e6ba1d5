package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"baluchon/api"
	"baluchon/vault"
)

// cmdGetMany is get --all, or get of several DOCIDs: the documents go
// into the folder -o.
func cmdGetMany(e *env, card, out string, raw bool, vaultID string, all bool, ids []string) error {
	switch {
	case out == "":
		return usagef("several documents go into a folder: baluchon get --card FILE (--all | DOCID...) -o FOLDER")
	case raw || vaultID != "":
		return usagef("--raw and --vault get one document at a time")
	case all && len(ids) > 0:
		return usagef("--all gets every document: name no DOCID with it")
	}
	c, err := readCard(e, card)
	if err != nil {
		return err
	}
	cl, err := dial(e)
	if err != nil {
		return err
	}
	if err := syncFirst(e, cl, c); err != nil {
		return err
	}
	k, err := getMany(e, cl, c, ids, out)
	if err != nil {
		return fmt.Errorf("%w (%d documents written)", err, k)
	}
	return nil
}

// getMany writes the documents ids of the vault of c (every document when
// ids is empty) into the folder dir, in one card session at the node
// (POST /v1/docs/many), each as DOCID_NAME (its file name, when it has
// one), and returns how many it wrote.
func getMany(e *env, cl *api.Client, c *vault.Card, ids []string, dir string) (int, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, fmt.Errorf("cannot make the folder %s: %w", dir, err)
	}
	k := 0
	err := cl.GetMany(e.ctx, c, ids, func(info api.DocInfo, r io.Reader) error {
		name := filepath.Join(dir, localName(info))
		if err := writeAtomic(name, r); err != nil {
			return fmt.Errorf("document %s: %w", info.ID, err)
		}
		k++
		fmt.Fprintln(e.stderr, name)
		return nil
	})
	return k, err
}

// localName is the file name a document gets in a folder: its id, then
// its own file name stripped of any folder (the vault's members chose it).
func localName(info api.DocInfo) string {
	base := filepath.Base(strings.ReplaceAll(info.FileName, "\\", "/"))
	base = strings.Map(func(r rune) rune {
		if r < ' ' || r == '/' || r == ':' {
			return '_'
		}
		return r
	}, base)
	if base == "." || base == ".." || base == "/" || base == "" {
		return info.ID
	}
	return info.ID + "_" + base
}
