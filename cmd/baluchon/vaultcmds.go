package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	qrcode "github.com/skip2/go-qrcode"

	"baluchon/api"
	"baluchon/node"
	"baluchon/vault"
)

// maxCardFile is the most a card file may hold.
const maxCardFile = 4096

// cardFlag adds --card to a command.
func cardFlag(f *flags) *string {
	return f.String("card", "", "file holding the card text (- for standard input)")
}

// readCard reads and checks the card named by --card, or by BALUCHON_CARD.
func readCard(e *env, name string) (*vault.Card, error) {
	if name == "" {
		name = os.Getenv("BALUCHON_CARD")
	}
	if name == "" {
		return nil, usagef("give the person's card with --card FILE (or --card - to type or paste it)")
	}
	var (
		b   []byte
		err error
	)
	if name == "-" {
		b, err = io.ReadAll(io.LimitReader(e.stdin, maxCardFile+1))
	} else {
		b, err = readLimited(name, maxCardFile+1)
	}
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, withHint(fmt.Errorf("card file %s does not exist", name), "give the file written by 'baluchon card new --out FILE', or --card - to type the card text")
		}
		return nil, fmt.Errorf("read card: %w", err)
	}
	if len(b) > maxCardFile {
		return nil, withHint(fmt.Errorf("%s is too large to be a card", name), "a card file holds only the card text (30 characters)")
	}
	c, err := vault.ParseCard(string(b))
	if err != nil {
		var cte *vault.CardTextError
		if errors.As(err, &cte) {
			where := "card " + name
			if name == "-" {
				where = "card text"
			}
			return nil, withHint(fmt.Errorf("the %s has a mistake: %w", where, err), "compare the text with the printed card, or scan the card's QR code again")
		}
		return nil, err
	}
	return c, nil
}

// vaultArgs parses the arguments of a command that works on a person's
// vault, checks their number, reads the card and dials the node.
func vaultArgs(e *env, f *flags, card *string, args []string, countOK func(n int) bool, usage string) ([]string, *vault.Card, *api.Client, error) {
	pos, err := f.parse(args)
	if err != nil {
		return nil, nil, nil, err
	}
	if !countOK(len(pos)) {
		return nil, nil, nil, usagef("%s", usage)
	}
	c, err := readCard(e, *card)
	if err != nil {
		return nil, nil, nil, err
	}
	cl, err := dial(e)
	if err != nil {
		return nil, nil, nil, err
	}
	return pos, c, cl, nil
}

func readLimited(name string, max int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, max))
}

func cmdCard(e *env, args []string) error {
	if len(args) == 0 {
		return usagef("card needs a subcommand: 'card new' or 'card identity'")
	}
	switch args[0] {
	case "new":
		return cmdCardNew(e, args[1:])
	case "identity":
		return cmdCardIdentity(e, args[1:])
	case "replace":
		return cmdCardReplace(e, args[1:])
	}
	return usagef("unknown card subcommand %q: use 'card new', 'card replace' or 'card identity'", args[0])
}

func cmdCardNew(e *env, args []string) error {
	f := newFlags(e, "card new")
	out := f.String("out", "", "write the card text to this file")
	qr := f.String("qr", "", "also write the card's QR code to this PNG file")
	guardians := f.String("guardians", "", "recovery guardians: peer ids of member structures, comma-separated (default: this one and up to two others)")
	threshold := f.Int("threshold", 2, "how many guardians must approve a recovery")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("card new takes no arguments")
	}
	if err := checkNewOutputs(*out, *qr); err != nil {
		return err
	}
	var gs []string
	if *guardians != "" {
		gs = strings.Split(*guardians, ",")
	}
	c, err := dial(e)
	if err != nil {
		return err
	}
	created, err := c.CreateVault(e.ctx, gs, *threshold)
	if err != nil {
		return err
	}
	if err := deliverCard(e, created.Card, created.Vault, *out, *qr); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "vault %s\n", created.Vault)
	if len(created.Guardians) >= 2 {
		fmt.Fprintf(e.stderr, "if the card is lost, any %d of these %d structures can together give a new one: %s\n", created.Threshold, len(created.Guardians), strings.Join(created.Guardians, ", "))
	} else {
		fmt.Fprintln(e.stderr, "warning: no recovery guardians (this node is in no federation yet): a lost card could not be replaced")
	}
	return nil
}

// checkNewOutputs checks, before anything is made, that the card and QR
// files can be written: they must not exist, their folders must.
func checkNewOutputs(names ...string) error {
	for _, name := range names {
		if name == "" {
			continue
		}
		if _, err := os.Lstat(name); err == nil {
			return withHint(fmt.Errorf("%s already exists; a card is never written over another file", name), "choose another file name")
		}
		if st, err := os.Stat(filepath.Dir(name)); err != nil || !st.IsDir() {
			return withHint(fmt.Errorf("folder %s does not exist", filepath.Dir(name)), "create it first or choose another file name")
		}
	}
	return nil
}

// deliverCard writes a new card's text to out (mode 0600) or standard
// output, and its QR code to qr.
func deliverCard(e *env, text, vaultID, out, qr string) error {
	if out != "" {
		if err := writeNew(out, []byte(text+"\n"), 0o600); err != nil {
			// The card exists now: it must not be lost.
			fmt.Fprintln(e.stdout, text)
			return withHint(fmt.Errorf("could not write the card to %s (%v); its text is printed above", out, err),
				"copy the card text by hand: it is the only way into vault %s", vaultID)
		}
	} else {
		fmt.Fprintln(e.stdout, text)
	}
	if qr != "" {
		png, err := qrcode.Encode(text, qrcode.Medium, 512)
		if err == nil {
			err = writeNew(qr, png, 0o600)
		}
		if err != nil {
			return fmt.Errorf("write QR code: %w", err)
		}
	}
	return nil
}

// writeNew writes a file that must not exist yet, durably.
func writeNew(name string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(name)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func cmdCardIdentity(e *env, args []string) error {
	f := newFlags(e, "card identity")
	card := cardFlag(f)
	_, c, cl, err := vaultArgs(e, f, card, args, func(n int) bool { return n == 0 }, "card identity takes no arguments")
	if err != nil {
		return err
	}
	id, err := cl.Identity(e.ctx, c)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stderr, "warning: this identity is a secret: it opens every document of this person. Do not keep it, print it or send it.")
	fmt.Fprintln(e.stdout, id)
	return nil
}

func cmdAdd(e *env, args []string) error {
	f := newFlags(e, "add")
	card := cardFlag(f)
	title := f.String("title", "", "title of the document(s)")
	category := f.String("category", "", "category of the document(s)")
	pos, c, cl, err := vaultArgs(e, f, card, args, func(n int) bool { return n > 0 }, "add needs at least one file: baluchon add --card FILE [--title T] [--category C] PATH...")
	if err != nil {
		return err
	}
	info, err := cl.ID(e.ctx)
	if err != nil {
		return err
	}
	// Check every file before storing any, so that a bad one changes nothing.
	sizes := make([]int64, len(pos))
	for i, p := range pos {
		if sizes[i], err = checkFile(e, p, info.MaxDocumentBytes); err != nil {
			return err
		}
	}
	if len(pos) == 1 {
		doc, err := addFile(e, cl, c, pos[0], sizes[0], node.DocMeta{Title: *title, Category: *category})
		if err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, doc.ID)
		return nil
	}
	docs, err := addFiles(e, cl, c, pos, node.DocMeta{Title: *title, Category: *category})
	if err != nil {
		return err
	}
	for _, d := range docs {
		fmt.Fprintln(e.stdout, d.ID)
	}
	return nil
}

// checkFile checks that p is a regular file within the node's limit, and
// returns its size. Its errors say that nothing was added.
func checkFile(e *env, p string, limit int64) (int64, error) {
	st, err := os.Stat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return 0, withHint(fmt.Errorf("file %s does not exist; nothing was added", p), "check the name and the folder")
	case err != nil:
		return 0, fmt.Errorf("%s: %w; nothing was added", p, err)
	case st.IsDir():
		return 0, withHint(fmt.Errorf("%s is a folder, not a file; nothing was added", p), "give the files inside it one by one")
	case !st.Mode().IsRegular():
		return 0, fmt.Errorf("%s is not a regular file; nothing was added", p)
	case st.Size() > limit:
		return 0, withHint(fmt.Errorf("%s is %d bytes, over this node's limit of %d bytes per document; nothing was added", p, st.Size(), limit),
			"split or compress the file, or raise max_document_bytes in %s/config.json and restart the node", e.home)
	}
	return st.Size(), nil
}

// openForUpload opens a file to store, with its name and MIME type.
func openForUpload(path string) (*os.File, node.DocMeta, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, node.DocMeta{}, err
	}
	meta := node.DocMeta{FileName: filepath.Base(path), MIME: mime.TypeByExtension(strings.ToLower(filepath.Ext(path)))}
	if meta.MIME == "" {
		head := make([]byte, 512)
		k, _ := io.ReadFull(f, head)
		meta.MIME = http.DetectContentType(head[:k])
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			f.Close()
			return nil, node.DocMeta{}, err
		}
	}
	return f, meta, nil
}

func addFile(e *env, cl *api.Client, c *vault.Card, path string, size int64, meta node.DocMeta) (*api.DocInfo, error) {
	f, m, err := openForUpload(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	meta.FileName, meta.MIME = m.FileName, m.MIME
	return cl.Add(e.ctx, c, f, size, meta)
}

// cardOrVault reads the card, or takes --vault for access through a
// delegation, never both.
func cardOrVault(e *env, card, vaultID *string) (*vault.Card, string, error) {
	if *vaultID != "" {
		if *card != "" {
			return nil, "", usagef("give either --card (the person is here) or --vault (through a delegation), not both")
		}
		return nil, *vaultID, nil
	}
	c, err := readCard(e, *card)
	return c, "", err
}

func cmdLs(e *env, args []string) error {
	f := newFlags(e, "ls")
	card := cardFlag(f)
	vaultID := f.String("vault", "", "list through a delegation, without the card")
	asJSON := f.Bool("json", false, "print JSON")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("ls takes no arguments")
	}
	c, v, err := cardOrVault(e, card, vaultID)
	if err != nil {
		return err
	}
	cl, err := dial(e)
	if err != nil {
		return err
	}
	var list *api.ListInfo
	if c != nil {
		if err := syncFirst(e, cl, c); err != nil {
			return err
		}
		list, err = cl.List(e.ctx, c)
	} else {
		list, err = cl.DelegatedList(e.ctx, v)
	}
	if err != nil {
		return err
	}
	tellDeposits(e, list.Deposited)
	docs := list.Docs
	if *asJSON {
		type row struct {
			ID       string `json:"id"`
			Title    string `json:"title"`
			Category string `json:"category"`
			Size     int64  `json:"size"`
			Added    string `json:"added"`
		}
		rows := make([]row, 0, len(docs))
		for _, d := range docs {
			rows = append(rows, row{d.ID, d.Title, d.Category, d.Size, d.Added.UTC().Format("2006-01-02T15:04:05Z")})
		}
		return printJSON(e, rows)
	}
	fmt.Fprintln(e.stdout, "id\ttitle\tcategory\tsize\tadded")
	for _, d := range docs {
		fmt.Fprintf(e.stdout, "%s\t%s\t%s\t%d\t%s\n", d.ID, clean(d.Title), clean(d.Category), d.Size, d.Added.UTC().Format("2006-01-02T15:04:05Z"))
	}
	return nil
}

// tellDeposits tells the person, on stderr, of documents deposited for
// them without the card: "2 new documents deposited by X on 3 March 2027".
func tellDeposits(e *env, docs []api.DocInfo) {
	type key struct{ by, day string }
	count := map[key]int{}
	var order []key
	for _, d := range docs {
		k := key{d.AddedBy, d.Added.Format("2 January 2006")}
		if count[k] == 0 {
			order = append(order, k)
		}
		count[k]++
	}
	for _, k := range order {
		what := "new document"
		if count[k] > 1 {
			what = "new documents"
		}
		fmt.Fprintf(e.stderr, "%d %s deposited by %s on %s\n", count[k], what, k.by, k.day)
	}
}

// clean keeps a table cell on one line.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s)
}

func cmdGet(e *env, args []string) error {
	f := newFlags(e, "get")
	card := cardFlag(f)
	vaultID := f.String("vault", "", "get through a delegation, without the card")
	out := f.String("o", "", "write the document to this file (default: standard output)")
	raw := f.Bool("raw", false, "write the stored age ciphertext instead of the document")
	all := f.Bool("all", false, "get every document of the vault into the folder -o, in one session")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if *all || len(pos) > 1 {
		return cmdGetMany(e, *card, *out, *raw, *vaultID, *all, pos)
	}
	if len(pos) != 1 {
		return usagef("get takes one document id: baluchon get --card FILE DOCID [-o OUT] [--raw]")
	}
	c, v, err := cardOrVault(e, card, vaultID)
	if err != nil {
		return err
	}
	cl, err := dial(e)
	if err != nil {
		return err
	}
	var (
		body io.ReadCloser
		size int64
	)
	if c != nil {
		if err := syncFirst(e, cl, c); err != nil {
			return err
		}
		body, size, err = cl.Get(e.ctx, c, pos[0], *raw)
	} else {
		if *raw {
			return usagef("--raw needs the card")
		}
		body, size, err = cl.DelegatedGet(e.ctx, v, pos[0])
	}
	if err != nil {
		return err
	}
	defer body.Close()
	if *out == "" {
		if _, err := io.CopyBuffer(e.stdout, body, make([]byte, 256<<10)); err != nil {
			return fmt.Errorf("transfer of the document was cut: %w", err)
		}
		return nil
	}
	p := newProgress(e, size, "get")
	defer p.done()
	return writeAtomic(*out, p.reader(body))
}

// writeAtomic writes r to name through a temporary file in the same
// folder, so that name never holds a partial document.
func writeAtomic(name string, r io.Reader) error {
	dir := filepath.Dir(name)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(name)+".part*")
	if err != nil {
		return fmt.Errorf("cannot write in %s: %w", dir, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := io.CopyBuffer(tmp, r, make([]byte, 256<<10)); err != nil {
		tmp.Close()
		return fmt.Errorf("transfer of the document was cut: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), name)
}
