package main

import (
	"fmt"
	"time"
)

const dateFormat = "2006-01-02T15:04:05Z"

func cmdRm(e *env, args []string) error {
	f := newFlags(e, "rm")
	card := cardFlag(f)
	pos, c, cl, err := vaultArgs(e, f, card, args, func(n int) bool { return n >= 1 }, "rm takes document ids: baluchon rm --card FILE DOCID...")
	if err != nil {
		return err
	}
	for _, id := range pos {
		if err := cl.Remove(e.ctx, c, id); err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "document %s moved to the trash; 'baluchon restore --card FILE %s' brings it back\n", id, id)
	}
	return nil
}

func cmdTrash(e *env, args []string) error {
	f := newFlags(e, "trash")
	card := cardFlag(f)
	asJSON := f.Bool("json", false, "print JSON")
	_, c, cl, err := vaultArgs(e, f, card, args, func(n int) bool { return n == 0 }, "trash takes no arguments: baluchon trash --card FILE")
	if err != nil {
		return err
	}
	items, err := cl.Trash(e.ctx, c)
	if err != nil {
		return err
	}
	if *asJSON {
		type row struct {
			ID       string `json:"id"`
			Title    string `json:"title"`
			Category string `json:"category"`
			Size     int64  `json:"size"`
			Deleted  string `json:"deleted"`
			Purge    string `json:"purge"`
		}
		rows := make([]row, 0, len(items))
		for _, t := range items {
			rows = append(rows, row{t.ID, t.Title, t.Category, t.Size, t.Deleted.UTC().Format(dateFormat), t.Purge.UTC().Format(dateFormat)})
		}
		return printJSON(e, rows)
	}
	fmt.Fprintln(e.stdout, "id\ttitle\tcategory\tsize\tdeleted\tpurged on")
	for _, t := range items {
		fmt.Fprintf(e.stdout, "%s\t%s\t%s\t%d\t%s\t%s\n", t.ID, clean(t.Title), clean(t.Category), t.Size,
			t.Deleted.UTC().Format(dateFormat), t.Purge.UTC().Format(time.DateOnly))
	}
	return nil
}

func cmdRestore(e *env, args []string) error {
	f := newFlags(e, "restore")
	card := cardFlag(f)
	pos, c, cl, err := vaultArgs(e, f, card, args, func(n int) bool { return n == 1 }, "restore takes one document id from 'baluchon trash': baluchon restore --card FILE DOCID")
	if err != nil {
		return err
	}
	d, err := cl.Restore(e.ctx, c, pos[0])
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, d.ID)
	fmt.Fprintf(e.stderr, "document %s restored as %s\n", pos[0], d.ID)
	return nil
}
