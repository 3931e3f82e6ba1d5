package node

import (
	"archive/tar"
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"filippo.io/age"
	ds "github.com/ipfs/go-datastore"
	dsq "github.com/ipfs/go-datastore/query"
)

// A backup is everything a node keeps, in one file that only the
// structure can open: an age file (to the recipient the admin set, see
// docs/install.md) around a tar stream of
//
//	BACKUP           JSON: backup format, home format, node id, time
//	home/<path>      the home's own files: config, node keys, accounts,
//	                 certificate, … (not the runtime files nor logs)
//	datastore        every key and value of the datastore (pins, heads, card
//	                 pointers, records, federation, followed people), as
//	                 (uvarint length, key, uvarint length, value) pairs
//	blocks/<key>     every block of the block store (all encrypted already)
//
// The node's keys are in it (a restored node is the same structure, in its
// federation): a backup is never written in clear. The export CAR
// ('export --all') carries the vaults only: not the node's keys, its
// federation, its accounts nor the people it follows.
//
// The datastore is read from one leveldb snapshot, and garbage collection
// waits until the blocks are copied, so every block the snapshot refers to
// is in the backup.

// configFile is the home's config, restored last (see Init).
const configFile = "config.json"

// backupFormat is the version of the tar layout above.
const backupFormat = 1

// Bounds on what a restore accepts, whoever made the file.
const (
	maxBackupHomeFile = 64 << 20
	maxBackupKV       = 256 << 20
	maxBackupBlock    = 8 << 20
)

// skippedInBackup are the home's entries a backup leaves out: the runtime
// files of a running node, the store (copied through the datastore and
// block store), the logs, the copier's scan folder, and backups themselves.
var skippedInBackup = []string{lockFile, "api", "api.token", "ui", blocksDir, packsDir, datastoreDir, "logs", "scans", "backups"}

// backupHeader is the BACKUP entry.
type backupHeader struct {
	Format     int       `json:"format"`
	HomeFormat int       `json:"home_format"`
	Node       string    `json:"node"`
	Time       time.Time `json:"time"`
}

// BackupResult says what a backup holds.
type BackupResult struct {
	Files  int   `json:"files"`
	Keys   int   `json:"keys"`
	Blocks int   `json:"blocks"`
	Bytes  int64 `json:"bytes"` // written, encrypted
}

// Backup writes everything this node keeps to w, encrypted to recipients
// (at least one). Garbage collection waits until it is done.
func (n *Node) Backup(ctx context.Context, w io.Writer, recipients ...age.Recipient) (*BackupResult, error) {
	if len(recipients) == 0 {
		return nil, errors.New("a backup needs a recipient: it holds the node's keys")
	}
	defer n.opHold()()
	cw := &countWriter{w: w}
	enc, err := age.Encrypt(cw, recipients...)
	if err != nil {
		return nil, fmt.Errorf("encrypt backup: %w", err)
	}
	bw := bufio.NewWriterSize(enc, 1<<16)
	tw := tar.NewWriter(bw)
	res := &BackupResult{}
	hdr, _ := json.Marshal(backupHeader{Format: backupFormat, HomeFormat: HomeFormat, Node: n.ID().String(), Time: time.Now().UTC()})
	if err := writeTarFile(tw, "BACKUP", hdr); err != nil {
		return nil, err
	}
	if err := n.backupHomeFiles(tw, res); err != nil {
		return nil, err
	}
	if err := n.backupDatastore(ctx, tw, res); err != nil {
		return nil, err
	}
	if err := n.backupBlocks(ctx, tw, res); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("write backup: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return nil, fmt.Errorf("write backup: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("write backup: %w", err)
	}
	res.Bytes = cw.n
	return res, nil
}

func (n *Node) backupHomeFiles(tw *tar.Writer, res *BackupResult) error {
	return filepath.WalkDir(n.home, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(n.home, p)
		rel = filepath.ToSlash(rel)
		if rel == "." {
			return nil
		}
		top, _, _ := strings.Cut(rel, "/")
		if slices.Contains(skippedInBackup, top) || strings.Contains(path.Base(rel), ".tmp") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("back up %s: %w", rel, err)
		}
		res.Files++
		return writeTarFile(tw, "home/"+rel, b)
	})
}

func (n *Node) backupDatastore(ctx context.Context, tw *tar.Writer, res *BackupResult) error {
	// A leveldb iterator reads one snapshot. Its size is not known before
	// the end: the pairs are written to a temporary file first.
	tmp, err := os.CreateTemp(n.home, ".backup-datastore.tmp*")
	if err != nil {
		return fmt.Errorf("back up the datastore: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	q, err := n.store.ldb.Query(ctx, dsq.Query{})
	if err != nil {
		return fmt.Errorf("back up the datastore: %w", err)
	}
	bw := bufio.NewWriter(tmp)
	var lenBuf [binary.MaxVarintLen64]byte
	for r := range q.Next() {
		if r.Error != nil {
			q.Close()
			return fmt.Errorf("back up the datastore: %w", r.Error)
		}
		if ds.RawKey(r.Key).IsDescendantOf(packIndexPrefix) {
			// Places in this home's packs: the blocks are in the backup,
			// and a restore writes them to packs of its own.
			continue
		}
		for _, part := range [][]byte{[]byte(r.Key), r.Value} {
			bw.Write(lenBuf[:binary.PutUvarint(lenBuf[:], uint64(len(part)))])
			bw.Write(part)
		}
		res.Keys++
	}
	q.Close()
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("back up the datastore: %w", err)
	}
	size, err := tmp.Seek(0, io.SeekCurrent)
	if err != nil {
		return err
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: "datastore", Mode: 0o600, Size: size, Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	_, err = io.Copy(tw, tmp)
	return err
}

func (n *Node) backupBlocks(ctx context.Context, tw *tar.Writer, res *BackupResult) error {
	q, err := n.store.packs.Query(ctx, dsq.Query{KeysOnly: true})
	if err != nil {
		return fmt.Errorf("back up blocks: %w", err)
	}
	var keys []string
	for r := range q.Next() {
		if r.Error != nil {
			q.Close()
			return fmt.Errorf("back up blocks: %w", r.Error)
		}
		keys = append(keys, r.Key)
	}
	q.Close()
	sort.Strings(keys)
	for _, k := range keys {
		b, err := n.store.packs.Get(ctx, ds.NewKey(k))
		if err != nil {
			return fmt.Errorf("back up block %s: %w", k, err)
		}
		if err := writeTarFile(tw, "blocks"+ds.NewKey(k).String(), b); err != nil {
			return err
		}
		res.Blocks++
	}
	return nil
}

func writeTarFile(tw *tar.Writer, name string, b []byte) error {
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: int64(len(b)), Typeflag: tar.TypeReg}); err != nil {
		return fmt.Errorf("write backup: %w", err)
	}
	if _, err := tw.Write(b); err != nil {
		return fmt.Errorf("write backup: %w", err)
	}
	return nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// ErrNotEmpty is returned by Restore on a folder that already holds
// something.
var ErrNotEmpty = errors.New("the folder is not empty")

// Restore makes home, a new empty folder, the node of the backup r,
// decrypted with identities. A backup that does not decrypt, is damaged or
// cut short is refused, and the folder is left as it was (removed, if
// Restore created it).
func Restore(ctx context.Context, home string, r io.Reader, identities ...age.Identity) (*BackupResult, error) {
	if entries, err := os.ReadDir(home); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("%s: %w", home, ErrNotEmpty)
	}
	created := false
	if _, err := os.Stat(home); errors.Is(err, os.ErrNotExist) {
		created = true
	}
	res, err := restore(ctx, home, r, identities)
	if err != nil {
		// Leave nothing half restored.
		if created {
			os.RemoveAll(home)
		} else if entries, _ := os.ReadDir(home); entries != nil {
			for _, e := range entries {
				os.RemoveAll(filepath.Join(home, e.Name()))
			}
		}
		return nil, err
	}
	return res, nil
}

func restore(ctx context.Context, home string, r io.Reader, identities []age.Identity) (*BackupResult, error) {
	dec, err := age.Decrypt(r, identities...)
	if err != nil {
		return nil, fmt.Errorf("open the backup: %w", err)
	}
	tr := tar.NewReader(bufio.NewReaderSize(dec, 1<<16))
	next := func() (*tar.Header, error) {
		h, err := tr.Next()
		if err == io.EOF {
			return nil, io.EOF
		}
		if err != nil {
			return nil, fmt.Errorf("the backup is damaged or incomplete: %w", err)
		}
		if h.Typeflag != tar.TypeReg || h.Size < 0 {
			return nil, fmt.Errorf("the backup is damaged: entry %q is not a file", h.Name)
		}
		return h, nil
	}
	h, err := next()
	if err != nil || h.Name != "BACKUP" || h.Size > 4096 {
		return nil, errors.New("this file is not a baluchon backup")
	}
	var bh backupHeader
	if err := json.NewDecoder(io.LimitReader(tr, h.Size)).Decode(&bh); err != nil || bh.Format == 0 {
		return nil, errors.New("this file is not a baluchon backup")
	}
	if bh.Format > backupFormat || bh.HomeFormat > HomeFormat {
		return nil, &FormatError{Home: "the backup", Found: bh.HomeFormat, Supported: HomeFormat}
	}
	if err := os.MkdirAll(home, homeDirPerm); err != nil {
		return nil, fmt.Errorf("create %s: %w", home, err)
	}
	for _, d := range []string{blocksDir, datastoreDir} {
		if err := os.MkdirAll(filepath.Join(home, d), homeDirPerm); err != nil {
			return nil, err
		}
	}
	s, err := openStore(home)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	res := &BackupResult{}
	var config []byte
	for {
		h, err := next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch {
		case strings.HasPrefix(h.Name, "home/"):
			rel := strings.TrimPrefix(h.Name, "home/")
			clean := path.Clean(rel)
			top, _, _ := strings.Cut(clean, "/")
			if clean != rel || !fs.ValidPath(clean) || slices.Contains(skippedInBackup, top) || h.Size > maxBackupHomeFile {
				return nil, fmt.Errorf("the backup is damaged: entry %q", h.Name)
			}
			b, err := io.ReadAll(tr)
			if err != nil {
				return nil, fmt.Errorf("the backup is damaged or incomplete: %w", err)
			}
			if clean == configFile {
				config = b // written last, as Init does: it marks the home as a node's
				continue
			}
			name := filepath.Join(home, filepath.FromSlash(clean))
			if err := os.MkdirAll(filepath.Dir(name), homeDirPerm); err != nil {
				return nil, err
			}
			if err := os.WriteFile(name, b, secretPerm); err != nil {
				return nil, fmt.Errorf("restore %s: %w", clean, err)
			}
			res.Files++
		case h.Name == "datastore":
			if h.Size > maxBackupKV*16 {
				return nil, errors.New("the backup is damaged: its datastore is too large")
			}
			n, err := restoreDatastore(ctx, s, bufio.NewReader(io.LimitReader(tr, h.Size)))
			if err != nil {
				return nil, err
			}
			res.Keys += n
		case strings.HasPrefix(h.Name, "blocks/"):
			k := ds.NewKey(strings.TrimPrefix(h.Name, "blocks"))
			if k.String() != strings.TrimPrefix(h.Name, "blocks") || h.Size > maxBackupBlock {
				return nil, fmt.Errorf("the backup is damaged: entry %q", h.Name)
			}
			b, err := io.ReadAll(tr)
			if err != nil {
				return nil, fmt.Errorf("the backup is damaged or incomplete: %w", err)
			}
			if err := s.packs.Put(ctx, k, b); err != nil {
				return nil, fmt.Errorf("restore block %s: %w", k, err)
			}
			res.Blocks++
		default:
			return nil, fmt.Errorf("the backup is damaged: unknown entry %q", h.Name)
		}
	}
	if config == nil {
		return nil, errors.New("the backup is damaged or incomplete: it has no config.json")
	}
	if err := s.syncBlocks(); err != nil {
		return nil, err
	}
	if err := s.ldb.Sync(ctx, ds.NewKey("/")); err != nil {
		return nil, fmt.Errorf("restore the datastore: %w", err)
	}
	if err := writeHomeFormat(home, bh.HomeFormat); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(home, configFile), config, secretPerm); err != nil {
		return nil, fmt.Errorf("restore config.json: %w", err)
	}
	res.Files++
	return res, nil
}

// restoreDatastore puts the (key, value) pairs of r into the datastore.
func restoreDatastore(ctx context.Context, s *store, r *bufio.Reader) (int, error) {
	read := func() ([]byte, error) {
		l, err := binary.ReadUvarint(r)
		if err != nil {
			return nil, err
		}
		if l > maxBackupKV {
			return nil, errors.New("entry too large")
		}
		b := make([]byte, l)
		_, err = io.ReadFull(r, b)
		return b, err
	}
	b, err := s.ldb.Batch(ctx)
	if err != nil {
		return 0, err
	}
	count := 0
	for {
		k, err := read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, fmt.Errorf("the backup's datastore is damaged (entry %d): %v", count, err)
		}
		v, err := read()
		if err != nil {
			return 0, fmt.Errorf("the backup's datastore is damaged (entry %d): %v", count, err)
		}
		if ds.RawKey(string(k)).IsDescendantOf(packIndexPrefix) {
			return 0, fmt.Errorf("the backup's datastore is damaged (entry %d): it names places in packs, which a backup never holds", count)
		}
		if err := b.Put(ctx, ds.RawKey(string(k)), v); err != nil {
			return 0, err
		}
		count++
		if count%4096 == 0 {
			if err := b.Commit(ctx); err != nil {
				return 0, err
			}
			if b, err = s.ldb.Batch(ctx); err != nil {
				return 0, err
			}
		}
	}
	if err := b.Commit(ctx); err != nil {
		return 0, fmt.Errorf("restore the datastore: %w", err)
	}
	return count, nil
}
