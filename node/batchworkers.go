package node

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"runtime"
	"sync"

	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
)

// smallDocument is the largest plaintext a batch reads whole and hands to
// its workers: its age file still fits in one leaf (the age header and
// the payload's tags take a few kB).
const smallDocument = ChunkSize - 64<<10

// smallBuffers holds the buffers small documents are read into, given
// back once a worker has encrypted them: a batch of small documents
// allocates a few of them, not one per document.
var smallBuffers = sync.Pool{New: func() any {
	b := make([]byte, smallDocument+1)
	return &b
}}

// readWholeIfSmall reads r whole when it holds at most smallDocument
// bytes, and returns them in a buffer of smallBuffers (free, when not nil,
// gives it back); otherwise it returns a reader of all of r (what was
// read, then the rest), and free must be called once that reader is done
// with. Past limit bytes (0: no limit) it fails with a *TooLargeError.
func readWholeIfSmall(r io.Reader, limit int64) (small []byte, rest io.Reader, free func(), err error) {
	limit = documentLimit(limit)
	bp := smallBuffers.Get().(*[]byte)
	free = func() { smallBuffers.Put(bp) }
	buf := (*bp)[:min(smallDocument, limit)+1]
	k, err := io.ReadFull(r, buf)
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		return buf[:k], nil, free, nil
	case err != nil:
		free()
		return nil, nil, nil, err
	case int64(k) > limit:
		free()
		return nil, nil, nil, &TooLargeError{Limit: limit}
	}
	return nil, io.MultiReader(bytes.NewReader(buf), r), free, nil
}

// lockedDAG is a buffered DAG service that several goroutines add to,
// syncing in the background as blocks are added (writeBack). Its reads
// go to the store, as the buffered DAG's do.
type lockedDAG struct {
	mu sync.Mutex
	*ipld.BufferedDAG
	wb writeBack
}

func newLockedDAG(dag *ipld.BufferedDAG, sync func() error) *lockedDAG {
	return &lockedDAG{BufferedDAG: dag, wb: writeBack{sync: sync}}
}

func (d *lockedDAG) Add(ctx context.Context, nd ipld.Node) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.wb.wrote(len(nd.RawData()))
	return d.BufferedDAG.Add(ctx, nd)
}

func (d *lockedDAG) AddMany(ctx context.Context, nds []ipld.Node) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, nd := range nds {
		d.wb.wrote(len(nd.RawData()))
	}
	return d.BufferedDAG.AddMany(ctx, nds)
}

// Commit writes every block added, and waits for a background sync
// under way.
func (d *lockedDAG) Commit() error {
	d.mu.Lock()
	err := d.BufferedDAG.Commit()
	d.mu.Unlock()
	d.wb.wait()
	return err
}

// batchWorkers encrypt, on every core, the small documents of a batch,
// each into one raw block. The documents are read one after the other
// (the body of a request is a stream); the key encapsulation of each age
// header, the encryption and the hashing then take the other core.
type batchWorkers struct {
	dag     *lockedDAG
	encrypt func(io.Writer) (io.WriteCloser, error)
	work    chan batchJob
	wg      sync.WaitGroup

	mu   sync.Mutex
	cids map[int]cid.Cid
	err  error // the first document that could not be stored
}

// batchJob is document i of a batch, small: data is its plaintext, and
// free gives its buffer back.
type batchJob struct {
	i    int
	data []byte
	free func()
}

func newBatchWorkers(dag *lockedDAG, encrypt func(io.Writer) (io.WriteCloser, error)) *batchWorkers {
	w := &batchWorkers{dag: dag, encrypt: encrypt, work: make(chan batchJob), cids: map[int]cid.Cid{}}
	work := w.work // stop sets w.work to nil, maybe before a worker starts
	for range runtime.GOMAXPROCS(0) {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			for j := range work {
				w.do(j)
			}
		}()
	}
	return w
}

func (w *batchWorkers) do(j batchJob) {
	c, err := w.store(j.data)
	j.free()
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil && w.err == nil {
		w.err = err
	}
	w.cids[j.i] = c
}

// store encrypts a small document and adds it (one raw block: its age
// file fits in one leaf).
func (w *batchWorkers) store(data []byte) (cid.Cid, error) {
	var buf bytes.Buffer
	buf.Grow(len(data) + 8<<10)
	enc, err := w.encrypt(&buf)
	if err != nil {
		return cid.Undef, err
	}
	if _, err := enc.Write(data); err != nil {
		return cid.Undef, err
	}
	if err := enc.Close(); err != nil {
		return cid.Undef, err
	}
	nd, err := addWholeFile(w.dag, buf.Bytes())
	if err != nil {
		return cid.Undef, fmt.Errorf("store document: %w", err)
	}
	return nd.Cid(), nil
}

// give hands document i to a worker.
func (w *batchWorkers) give(j batchJob) { w.work <- j }

// wait waits for every document given, and returns the CIDs of those the
// workers stored, by document number.
func (w *batchWorkers) wait() (map[int]cid.Cid, error) {
	w.stop()
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.cids, w.err
}

// stop lets the workers end once what they were given is done.
func (w *batchWorkers) stop() {
	if w.work != nil {
		close(w.work)
		w.work = nil
	}
	w.wg.Wait()
}

// placeholderCID stands for a document's CID while its entry's fields are
// checked, before it is stored.
var placeholderCID = func() cid.Cid {
	c, err := rawPrefix.Sum(nil)
	if err != nil {
		panic(err)
	}
	return c
}()
