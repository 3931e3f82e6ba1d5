// Command bench measures a baluchon node on the workload of a person's
// vault and prints, in one run, each figure next to its physical limit and
// its target.
//
//	go run ./testnet/bench [-scale 0.2] [-seed 1] [-dir DIR]
//
// The workload is seeded: 2,000 documents at scale 1 (70 % phone scans of
// 50–250 KB, 25 % PDFs of 0.3–2 MB, 5 % large PDFs of 2–10 MB, by count),
// every size then scaled by one factor so that the vault holds 300 MB;
// the bytes are random (incompressible). -scale takes a slice: 0.2 is 400
// documents, 60 MB.
//
// Two nodes run as processes of this same program on loopback (TCP only,
// no mDNS) and are driven through their local HTTP API, as the CLI drives
// them: node A adds every document (calls of 200 files), node B, which has
// never seen the card, opens the vault (resolve, fetch, pin), then gets
// every document. RSS is read from /proc (Linux).
package main

import (
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/ipfs/go-datastore"
	"github.com/ipfs/go-datastore/namespace"
	leveldb "github.com/ipfs/go-ds-leveldb"

	"baluchon/api"
	"baluchon/internal/packds"
	"baluchon/node"
	"baluchon/vault"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-node" {
		if err := runNode(os.Args[2]); err != nil {
			fmt.Fprintln(os.Stderr, "bench node:", err)
			os.Exit(1)
		}
		return
	}
	scale := flag.Float64("scale", 1, "fraction of the 2,000-document, 300 MB workload")
	seed := flag.Uint64("seed", 1, "seed of the workload")
	dir := flag.String("dir", "", "folder for the nodes' homes (default: a temporary folder, removed after)")
	batch := flag.Int("batch", 200, "documents per add call")
	flag.Parse()
	if *scale <= 0 || *scale > 1 {
		fmt.Fprintln(os.Stderr, "bench: -scale must be in (0, 1]")
		os.Exit(2)
	}
	if err := run(*scale, *seed, *dir, *batch); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// doc is one document of the workload: its bytes are drawn from its seed.
type doc struct {
	kind string
	size int64
	seed uint64
}

func (d doc) reader() io.Reader {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], d.seed)
	return io.LimitReader(rand.NewChaCha8(s), d.size)
}

// workload draws the documents of a vault of 2,000·scale documents and
// 300·scale MB.
func workload(scale float64, seed uint64) []doc {
	r := rand.New(rand.NewPCG(seed, 0x62616c7563686f6e))
	count := max(int(2000*scale+0.5), 10)
	docs := make([]doc, count)
	var total int64
	for i := range docs {
		d := doc{seed: r.Uint64()}
		switch p := r.Float64(); {
		case p < 0.70:
			d.kind, d.size = "scan", 50_000+r.Int64N(200_000)
		case p < 0.95:
			d.kind, d.size = "pdf", 300_000+r.Int64N(1_700_000)
		default:
			d.kind, d.size = "large", 2_000_000+r.Int64N(8_000_000)
		}
		total += d.size
		docs[i] = d
	}
	want := int64(300e6 * scale)
	for i := range docs {
		docs[i].size = max(docs[i].size*want/total, 1)
	}
	return docs
}

func totalSize(docs []doc) int64 {
	var t int64
	for _, d := range docs {
		t += d.size
	}
	return t
}

// result is one line of the table.
type result struct {
	name   string
	figure string
	limit  string
	ratio  string
	target string
	pass   *bool
}

func (r result) verdict() string {
	switch {
	case r.pass == nil:
		return ""
	case *r.pass:
		return "PASS"
	}
	return "FAIL"
}

func ptr(b bool) *bool { return &b }

func run(scale float64, seed uint64, dir string, batch int) error {
	ctx := context.Background()
	docs := workload(scale, seed)
	total := totalSize(docs)
	mb := float64(total) / 1e6
	fmt.Printf("workload: %d documents, %.1f MB (seed %d, scale %g)\n", len(docs), mb, seed, scale)

	tcp, err := loopbackCopy(total)
	if err != nil {
		return fmt.Errorf("loopback copy: %w", err)
	}
	ageRate, err := ageOnly(docs)
	if err != nil {
		return fmt.Errorf("age encryption: %w", err)
	}
	store, err := storeOnly(docs)
	if err != nil {
		return fmt.Errorf("block store: %w", err)
	}
	fmt.Printf("limits: loopback TCP %.0f MB/s, age-only encryption %.0f MB/s, block store writes %.0f MB/s\n", tcp, ageRate, store)

	if dir == "" {
		d, err := os.MkdirTemp("", "baluchon-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	var res []result

	a, err := startNode(ctx, filepath.Join(dir, "a"))
	if err != nil {
		return err
	}
	defer a.stop()
	created, err := a.cl.CreateVault(ctx, []string{}, 0)
	if err != nil {
		return fmt.Errorf("create vault: %w", err)
	}
	card, err := vault.ParseCard(created.Card)
	if err != nil {
		return err
	}

	// Add every document, batch by batch.
	per := make([]time.Duration, len(docs))
	var ids []string
	start := time.Now()
	for i := 0; i < len(docs); i += batch {
		part := docs[i:min(i+batch, len(docs))]
		got, times, err := addBatch(ctx, a.cl, card, part, i)
		if err != nil {
			return fmt.Errorf("add documents %d to %d: %w", i, i+len(part), err)
		}
		ids = append(ids, got...)
		copy(per[i:], times)
	}
	addTime := time.Since(start)
	addRate := mb / addTime.Seconds()
	res = append(res, result{"add", fmt.Sprintf("%.1f MB/s (%.1f s)", addRate, addTime.Seconds()), fmt.Sprintf("age %.0f MB/s", ageRate),
		fmt.Sprintf("%.2f", addRate/ageRate), "≥ 0.50 of age", ptr(addRate >= 0.5*ageRate)})
	res = append(res, result{"add, against the block store", "", fmt.Sprintf("store %.0f MB/s", store),
		fmt.Sprintf("%.2f", addRate/store), "", nil})
	k := min(100, len(per))
	first, last := meanMS(per[:k]), meanMS(per[len(per)-k:])
	res = append(res, result{"add, time per document", fmt.Sprintf("first %d: %.1f ms, last %d: %.1f ms", k, first, k, last), "", fmt.Sprintf("last/first %.2f", last/first),
		"last ≤ 1.5 × first", ptr(last <= 1.5*first)})

	// Listing at A, the vault local.
	var list time.Duration
	for range 5 {
		t := time.Now()
		l, err := a.cl.List(ctx, card)
		if err != nil {
			return fmt.Errorf("list: %w", err)
		}
		if len(l.Docs) != len(docs) {
			return fmt.Errorf("list: %d documents, want %d", len(l.Docs), len(docs))
		}
		d := time.Since(t)
		if list == 0 || d < list {
			list = d
		}
	}
	res = append(res, result{"list (local, best of 5)", ms(list), "", "", "< 100 ms", ptr(list < 100*time.Millisecond)})

	// Disk at A after a collection.
	if _, err := a.cl.GC(ctx); err != nil {
		return fmt.Errorf("gc: %w", err)
	}
	disk, err := duStore(a.home)
	if err != nil {
		return err
	}
	res = append(res, result{"disk (store after gc) / documents", fmt.Sprintf("%.1f MB", float64(disk)/1e6), fmt.Sprintf("%.1f MB", mb),
		fmt.Sprintf("%.2f×", float64(disk)/float64(total)), "≤ 1.10×", ptr(float64(disk) <= 1.1*float64(total))})

	// Restart A: start-up time with the vault.
	a.stop()
	t0 := time.Now()
	a, err = startNode(ctx, a.home)
	if err != nil {
		return err
	}
	defer a.stop()
	startup := time.Since(t0)
	res = append(res, result{"start-up (process to API answering)", ms(startup), "", "", "", nil})
	time.Sleep(2 * time.Second)
	idleA := a.rss()

	// B: first open, a never-seen vault.
	b, err := startNode(ctx, filepath.Join(dir, "b"))
	if err != nil {
		return err
	}
	defer b.stop()
	info, err := a.cl.ID(ctx)
	if err != nil {
		return err
	}
	if _, err := b.cl.Connect(ctx, info.Addrs[0]+"/p2p/"+info.ID); err != nil {
		return fmt.Errorf("connect b to a: %w", err)
	}
	t0 = time.Now()
	if err := b.cl.Open(ctx, card, nil); err != nil {
		return fmt.Errorf("first open at b: %w", err)
	}
	open := time.Since(t0)
	openRate := mb / open.Seconds()
	res = append(res, result{"first open at a second node", fmt.Sprintf("%.0f MB/s (%.2f s)", openRate, open.Seconds()), fmt.Sprintf("TCP %.0f MB/s", tcp),
		fmt.Sprintf("%.2f", openRate/tcp), "≥ 100 MB/s (Kubo here)", ptr(openRate >= 100)})
	res = append(res, result{"first open, against the block store", "", fmt.Sprintf("store %.0f MB/s", store),
		fmt.Sprintf("%.2f", openRate/store), "", nil})

	// One get of a document of about 200 KB, at B.
	near := 0
	for i, d := range docs {
		if abs(d.size-200_000) < abs(docs[near].size-200_000) {
			near = i
		}
	}
	var one time.Duration
	for range 5 {
		t := time.Now()
		if err := getOne(ctx, b.cl, card, ids[near], docs[near].size); err != nil {
			return fmt.Errorf("get: %w", err)
		}
		if d := time.Since(t); one == 0 || d < one {
			one = d
		}
	}
	res = append(res, result{fmt.Sprintf("one get (%d KB, best of 5)", docs[near].size/1000), ms(one), "", "", "< 30 ms", ptr(one < 30*time.Millisecond)})

	// Every document at B, decrypted, in one card session (as a download
	// of the whole vault does).
	t0 = time.Now()
	if err := getAll(ctx, b.cl, card, ids, docs); err != nil {
		return err
	}
	all := time.Since(t0)
	fetch := open + all
	fetchRate := mb / fetch.Seconds()
	res = append(res, result{"full fetch with decryption (open + every document, one session)", fmt.Sprintf("%.0f MB/s (%.2f s)", fetchRate, fetch.Seconds()), fmt.Sprintf("TCP %.0f MB/s", tcp),
		fmt.Sprintf("%.2f", fetchRate/tcp), "≥ 100 MB/s", ptr(fetchRate >= 100)})
	peakB := b.hwm()
	time.Sleep(2 * time.Second)
	idleB := b.rss()
	res = append(res, result{"idle RSS (A after restart, B after fetch)", fmt.Sprintf("A %.0f MB, B %.0f MB", idleA, idleB), "", "", "≤ 64 MB", ptr(max(idleA, idleB) <= 64)})
	res = append(res, result{"peak RSS of B (fetch)", fmt.Sprintf("%.0f MB", peakB), "", "", "≤ 256 MB", ptr(peakB <= 256)})

	printTable(res)
	return nil
}

// addBatch adds part (documents i… of the workload) in one call, as
// `baluchon add` with several files does, and returns their ids and the
// time each took (the call's time shared by its documents).
func addBatch(ctx context.Context, cl *api.Client, card *vault.Card, part []doc, i int) ([]string, []time.Duration, error) {
	files := make([]api.BatchFile, len(part))
	for j, d := range part {
		files[j] = api.BatchFile{
			Meta: node.DocMeta{Title: fmt.Sprintf("%s %d", d.kind, i+j), Category: d.kind, FileName: fmt.Sprintf("doc%04d.pdf", i+j), MIME: "application/pdf"},
			Open: func() (io.ReadCloser, error) { return io.NopCloser(d.reader()), nil },
		}
	}
	t := time.Now()
	infos, err := cl.AddBatch(ctx, card, files)
	if err != nil {
		return nil, nil, err
	}
	each := time.Since(t) / time.Duration(len(part))
	ids := make([]string, len(part))
	times := make([]time.Duration, len(part))
	for j, info := range infos {
		ids[j], times[j] = info.ID, each
	}
	return ids, times, nil
}

// getAll gets every document in one call (GetMany) and checks that each
// is the one of the workload with its id, and of its size.
func getAll(ctx context.Context, cl *api.Client, card *vault.Card, ids []string, docs []doc) error {
	size := make(map[string]int64, len(ids))
	for i, id := range ids {
		size[id] = docs[i].size
	}
	k := 0
	buf := make([]byte, 256<<10)
	err := cl.GetMany(ctx, card, nil, func(info api.DocInfo, r io.Reader) error {
		want, ok := size[info.ID]
		if !ok {
			return fmt.Errorf("document %s is not of the workload", info.ID)
		}
		n, err := io.CopyBuffer(io.Discard, r, buf)
		if err != nil {
			return fmt.Errorf("get %s: %w", info.ID, err)
		}
		if n != want {
			return fmt.Errorf("document %s: %d bytes, want %d", info.ID, n, want)
		}
		k++
		return nil
	})
	if err != nil {
		return fmt.Errorf("get every document: %w", err)
	}
	if k != len(ids) {
		return fmt.Errorf("got %d documents of %d", k, len(ids))
	}
	return nil
}

func getOne(ctx context.Context, cl *api.Client, card *vault.Card, id string, size int64) error {
	r, _, err := cl.Get(ctx, card, id, false)
	if err != nil {
		return err
	}
	defer r.Close()
	n, err := io.Copy(io.Discard, r)
	if err != nil {
		return err
	}
	if n != size {
		return fmt.Errorf("document %s: %d bytes, want %d", id, n, size)
	}
	return nil
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func meanMS(ds []time.Duration) float64 {
	var t time.Duration
	for _, d := range ds {
		t += d
	}
	return float64(t.Microseconds()) / 1000 / float64(len(ds))
}

func printTable(res []result) {
	w := [5]int{len("step"), len("figure"), len("limit"), len("ratio"), len("target")}
	for _, r := range res {
		for i, s := range []string{r.name, r.figure, r.limit, r.ratio, r.target} {
			w[i] = max(w[i], len([]rune(s)))
		}
	}
	line := func(cols ...string) {
		var b strings.Builder
		for i, s := range cols {
			if i < len(w) {
				s += strings.Repeat(" ", w[i]-len([]rune(s)))
			}
			b.WriteString(s + "  ")
		}
		fmt.Println(strings.TrimRight(b.String(), " "))
	}
	fmt.Println()
	line("step", "figure", "limit", "ratio", "target", "")
	for _, r := range res {
		line(r.name, r.figure, r.limit, r.ratio, r.target, r.verdict())
	}
}

// loopbackCopy copies total bytes over a loopback TCP connection and
// returns MB/s.
func loopbackCopy(total int64) (float64, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		_, err = io.Copy(io.Discard, c)
		done <- err
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return 0, err
	}
	buf := make([]byte, 1<<20)
	rand.NewChaCha8([32]byte{1}).Read(buf)
	t := time.Now()
	for left := total; left > 0; left -= int64(len(buf)) {
		if _, err := c.Write(buf[:min(int64(len(buf)), left)]); err != nil {
			return 0, err
		}
	}
	c.Close()
	if err := <-done; err != nil {
		return 0, err
	}
	return float64(total) / 1e6 / time.Since(t).Seconds(), nil
}

// ageOnly encrypts every document of the workload with age to a vault's
// recipient (as an add does, without storing) and returns MB/s.
func ageOnly(docs []doc) (float64, error) {
	keys, err := vault.NewKeys()
	if err != nil {
		return 0, err
	}
	buf := make([]byte, 256<<10)
	var elapsed time.Duration
	for _, d := range docs {
		// The bytes are drawn outside the timing: only encryption counts.
		data, err := io.ReadAll(d.reader())
		if err != nil {
			return 0, err
		}
		t := time.Now()
		w, err := keys.EncryptDocument(io.Discard)
		if err != nil {
			return 0, err
		}
		if _, err := io.CopyBuffer(w, strings.NewReader(string(data)), buf); err != nil {
			return 0, err
		}
		if err := w.Close(); err != nil {
			return 0, err
		}
		elapsed += time.Since(t)
	}
	return float64(totalSize(docs)) / 1e6 / elapsed.Seconds(), nil
}

// storeOnly writes blocks of the sizes an add writes for the workload
// (per document: one block when its age file fits in a leaf, else its age
// header, its 1 MiB leaves and a root node) to a block store laid out as
// a node's (packs indexed in leveldb: internal/packds), in batches of
// about 4 MiB as a node writes them (node/addbuffer.go), then syncs once,
// and returns MB/s of documents: the speed of the disk and file system
// for our blocks.
func storeOnly(docs []doc) (float64, error) {
	dir, err := os.MkdirTemp("", "baluchon-bench-store-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	ldb, err := leveldb.NewDatastore(filepath.Join(dir, "datastore"), nil)
	if err != nil {
		return 0, err
	}
	defer ldb.Close()
	fs, err := packds.Open(filepath.Join(dir, "packs"), namespace.Wrap(ldb, datastore.NewKey("/packindex")), packds.Options{})
	if err != nil {
		return 0, err
	}
	defer fs.Close()
	src := make([]byte, node.ChunkSize)
	rand.NewChaCha8([32]byte{2}).Read(src)
	ctx := context.Background()
	var b datastore.Batch
	k, held := 0, 0
	put := func(size int) error {
		if b == nil {
			if b, err = fs.Batch(ctx); err != nil {
				return err
			}
		}
		k++
		// A distinct block each time: its first bytes are its number. A
		// batch keeps what it is given until its commit: a copy each.
		buf := append([]byte(nil), src[:size]...)
		binary.LittleEndian.PutUint64(buf, uint64(k))
		key := datastore.NewKey(fmt.Sprintf("CIQ%040X", k))
		if err := b.Put(ctx, key, buf); err != nil {
			return err
		}
		if held += size; held >= 4<<20 {
			held = 0
			err := b.Commit(ctx)
			b = nil
			return err
		}
		return nil
	}
	t := time.Now()
	for _, d := range docs {
		// An age file of one leaf or less is one block (node/rekey.go).
		if file := d.size + 1700; file <= node.ChunkSize {
			if err := put(int(file)); err != nil {
				return 0, err
			}
			continue
		}
		if err := put(1700); err != nil {
			return 0, err
		}
		for left := d.size; left > 0; left -= node.ChunkSize {
			if err := put(int(min(left, node.ChunkSize))); err != nil {
				return 0, err
			}
		}
		if err := put(120); err != nil {
			return 0, err
		}
	}
	if b != nil {
		if err := b.Commit(ctx); err != nil {
			return 0, err
		}
	}
	if err := fs.Flush(); err != nil {
		return 0, err
	}
	return float64(totalSize(docs)) / 1e6 / time.Since(t).Seconds(), nil
}

// benchNode is a node running as a child process.
type benchNode struct {
	home string
	cmd  *exec.Cmd
	cl   *api.Client
}

// startNode starts a node on home (initialising it the first time) in a
// child process and waits until its API answers.
func startNode(ctx context.Context, home string) (*benchNode, error) {
	if !node.IsInitialised(home) {
		off := false
		cfg := node.Config{Listen: []string{"/ip4/127.0.0.1/tcp/0"}, MDNS: &off}
		if err := node.Init(home, node.InitOptions{Config: &cfg}); err != nil {
			return nil, fmt.Errorf("init %s: %w", home, err)
		}
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	os.Remove(filepath.Join(home, "api"))
	cmd := exec.Command(self, "-node", home)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	n := &benchNode{home: home, cmd: cmd}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if cl, err := api.Dial(home); err == nil {
			if _, err := cl.ID(ctx); err == nil {
				n.cl = cl
				return n, nil
			}
		}
		if time.Now().After(deadline) {
			n.stop()
			return nil, fmt.Errorf("node %s did not start", home)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (n *benchNode) stop() {
	if n.cmd.Process == nil || n.cmd.ProcessState != nil {
		return
	}
	n.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { n.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		n.cmd.Process.Kill()
		<-done
	}
}

// rss and hwm return the child's resident and peak resident memory, MB.
func (n *benchNode) rss() float64 { return procStatus(n.cmd.Process.Pid, "VmRSS:") }
func (n *benchNode) hwm() float64 { return procStatus(n.cmd.Process.Pid, "VmHWM:") }

func procStatus(pid int, field string) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == field {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1000
		}
	}
	return -1
}

// duStore returns the bytes of the store of home: its packs, its flatfs
// folder (empty in a home made since packs) and its datastore (leveldb:
// pins, heads, records, the packs' index).
func duStore(home string) (int64, error) {
	var t int64
	for _, dir := range []string{"packs", "blocks", "datastore"} {
		err := filepath.WalkDir(filepath.Join(home, dir), func(_ string, d os.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return err
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			t += fi.Size()
			return nil
		})
		if err != nil {
			return 0, err
		}
	}
	return t, nil
}

// runNode is the child: a node and its API on home, until interrupted.
func runNode(home string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if dir := os.Getenv("BALUCHON_BENCH_PROFILE"); dir != "" {
		// A CPU profile of each node process, for whoever tunes it.
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("%s-%d.cpu", filepath.Base(home), os.Getpid())))
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	n, err := node.Start(ctx, node.Options{Home: home})
	if err != nil {
		return err
	}
	s, err := api.Start(n, api.Options{Home: home, Addr: n.Config().API})
	if err != nil {
		n.Close()
		return err
	}
	<-ctx.Done()
	if dir := os.Getenv("BALUCHON_BENCH_PROFILE"); dir != "" {
		// What the idle node holds, for whoever looks at its memory.
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("%s-%d.heap", filepath.Base(home), os.Getpid())))
		if err == nil {
			runtime.GC()
			pprof.WriteHeapProfile(f)
			f.Close()
		}
	}
	s.Close()
	return errors.Join(n.Close())
}
