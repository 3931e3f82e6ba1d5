package api

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"baluchon/node"
	"baluchon/vault"
)

// fakeNode is a node held in memory: one vault, its documents, its
// trash, its delegations and deposits. It embeds Node, so a method no
// test needs panics if called. fail, when set, is what every operation on
// the vault returns.
type fakeNode struct {
	Node

	id    peer.ID
	cfg   node.Config
	card  *vault.Card
	vault vault.VaultID

	mu          sync.Mutex
	fail        error
	docs        []vault.Entry
	data        map[string][]byte
	trash       []node.TrashItem
	delegations []node.DelegationInfo
	deposits    []node.PendingDeposit
	members     []peer.ID
	calls       []string
}

// newFake returns a fake whose card and ids derive from seed.
func newFake(t testing.TB, seed uint64) *fakeNode {
	t.Helper()
	rnd := rand.New(rand.NewChaCha8([32]byte{byte(seed)}))
	card, err := vault.NewCard(readerOf(rnd))
	if err != nil {
		t.Fatal(err)
	}
	var v vault.VaultID
	for i := range v {
		v[i] = byte(rnd.Uint32())
	}
	f := &fakeNode{id: fakePeer(t, rnd), cfg: node.Config{API: "127.0.0.1:0", MaxDocumentBytes: 1 << 20}, card: card, vault: v, data: map[string][]byte{}}
	f.members = []peer.ID{f.id, fakePeer(t, rnd)}
	return f
}

type randReader struct{ r *rand.Rand }

func (r randReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r.r.Uint32())
	}
	return len(p), nil
}

func readerOf(r *rand.Rand) io.Reader { return randReader{r} }

func fakePeer(t testing.TB, rnd *rand.Rand) peer.ID {
	t.Helper()
	_, pub, err := crypto.GenerateEd25519Key(readerOf(rnd))
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (f *fakeNode) called(name string) {
	f.calls = append(f.calls, name)
}

// Calls returns the operations called so far.
func (f *fakeNode) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// check returns fail, or node.ErrUnknownCard for another card than the
// fake's.
func (f *fakeNode) check(card *vault.Card) error {
	if f.fail != nil {
		return f.fail
	}
	if card.String() != f.card.String() {
		return node.ErrUnknownCard
	}
	return nil
}

func (f *fakeNode) ID() peer.ID { return f.id }
func (f *fakeNode) Addrs() []ma.Multiaddr {
	return []ma.Multiaddr{ma.StringCast("/ip4/127.0.0.1/tcp/4001")}
}
func (f *fakeNode) MaxDocumentBytes() int64 { return f.cfg.MaxDocumentBytes }
func (f *fakeNode) StructureName(p peer.ID) string {
	return "structure " + p.String()[len(p.String())-4:]
}

func (f *fakeNode) Register(ctx context.Context, opts node.CreateOptions) (*node.Created, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.called("Register")
	if f.fail != nil {
		return nil, f.fail
	}
	return &node.Created{Card: f.card, Vault: f.vault, Guardians: f.members[1:], Threshold: 1}, nil
}

func (f *fakeNode) Add(ctx context.Context, card *vault.Card, r io.Reader, meta node.DocMeta) (vault.Entry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.called("Add")
	if err := f.check(card); err != nil {
		return vault.Entry{}, err
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return vault.Entry{}, err
	}
	e := vault.Entry{ID: fmt.Sprintf("doc%d", len(f.data)), Size: int64(len(b)), Title: meta.Title, Category: meta.Category, FileName: meta.FileName, MIME: meta.MIME, Added: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)}
	f.docs = append(f.docs, e)
	f.data[e.ID] = b
	return e, nil
}

func (f *fakeNode) Open(ctx context.Context, card *vault.Card) (*node.Opened, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.called("Open")
	if err := f.check(card); err != nil {
		return nil, err
	}
	return &node.Opened{Vault: f.vault, Entries: append([]vault.Entry(nil), f.docs...)}, nil
}

func (f *fakeNode) List(ctx context.Context, card *vault.Card) (vault.VaultID, []vault.Entry, error) {
	o, err := f.Open(ctx, card)
	if err != nil {
		return vault.VaultID{}, nil, err
	}
	return o.Vault, o.Entries, nil
}

func (f *fakeNode) document(id string) (*node.Document, error) {
	for _, e := range f.docs {
		if e.ID == id {
			return &node.Document{Entry: e, Reader: bytes.NewReader(f.data[id]), Closer: io.NopCloser(nil)}, nil
		}
	}
	return nil, &node.NoDocumentError{ID: id}
}

func (f *fakeNode) Get(ctx context.Context, card *vault.Card, id string) (*node.Document, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.called("Get")
	if err := f.check(card); err != nil {
		return nil, err
	}
	return f.document(id)
}

func (f *fakeNode) GetMany(ctx context.Context, card *vault.Card, ids []string, each func(*node.Document) error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.called("GetMany")
	if err := f.check(card); err != nil {
		return err
	}
	if len(ids) == 0 {
		for _, e := range f.docs {
			ids = append(ids, e.ID)
		}
	}
	var ds []*node.Document
	for _, id := range ids {
		d, err := f.document(id)
		if err != nil {
			return err
		}
		ds = append(ds, d)
	}
	for _, d := range ds {
		if err := each(d); err != nil {
			return err
		}
	}
	return nil
}

func (f *fakeNode) Remove(ctx context.Context, card *vault.Card, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.called("Remove")
	if err := f.check(card); err != nil {
		return err
	}
	for i, e := range f.docs {
		if e.ID == id {
			f.docs = append(f.docs[:i], f.docs[i+1:]...)
			f.trash = append(f.trash, node.TrashItem{Entry: e, Deleted: e.Added, Purge: e.Added.Add(30 * 24 * time.Hour)})
			return nil
		}
	}
	return &node.NoDocumentError{ID: id}
}

func (f *fakeNode) Trash(ctx context.Context, card *vault.Card) ([]node.TrashItem, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.called("Trash")
	if err := f.check(card); err != nil {
		return nil, err
	}
	return append([]node.TrashItem(nil), f.trash...), nil
}

func (f *fakeNode) Restore(ctx context.Context, card *vault.Card, id string) (vault.Entry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.called("Restore")
	if err := f.check(card); err != nil {
		return vault.Entry{}, err
	}
	for i, t := range f.trash {
		if t.ID == id {
			f.trash = append(f.trash[:i], f.trash[i+1:]...)
			e := t.Entry
			e.ID += "r"
			f.docs = append(f.docs, e)
			f.data[e.ID] = f.data[id]
			return e, nil
		}
	}
	return vault.Entry{}, &node.NoDocumentError{ID: id}
}

func (f *fakeNode) Delegate(ctx context.Context, card *vault.Card, opts node.DelegateOptions) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.called("Delegate")
	if err := f.check(card); err != nil {
		return "", err
	}
	id := fmt.Sprintf("del%d", len(f.delegations))
	f.delegations = append(f.delegations, node.DelegationInfo{Delegation: vault.Delegation{ID: id, Structure: opts.To.String(), Categories: opts.Categories, Expires: opts.Until}})
	return id, nil
}

func (f *fakeNode) DelegatedList(ctx context.Context, v vault.VaultID) ([]vault.Entry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.called("DelegatedList")
	if v != f.vault || len(f.delegations) == 0 {
		return nil, node.ErrNoDelegation
	}
	return append([]vault.Entry(nil), f.docs...), nil
}

func (f *fakeNode) Deposit(ctx context.Context, v vault.VaultID, r io.Reader, meta node.DepositMetaIn) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.called("Deposit")
	if f.fail != nil {
		return "", f.fail
	}
	if _, err := io.Copy(io.Discard, r); err != nil {
		return "", err
	}
	f.deposits = append(f.deposits, node.PendingDeposit{By: "structure", Time: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)})
	return fmt.Sprintf("dep%d", len(f.deposits)), nil
}

func (f *fakeNode) PendingDeposits(ctx context.Context, v vault.VaultID) ([]node.PendingDeposit, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.called("PendingDeposits")
	return append([]node.PendingDeposit(nil), f.deposits...), nil
}

func (f *fakeNode) Federation() (peer.ID, []peer.ID) { return f.members[0], f.members }
func (f *fakeNode) Removed() []peer.ID               { return nil }

func (f *fakeNode) PlanExportVault(ctx context.Context, card *vault.Card) (*node.ExportPlan, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.called("PlanExportVault")
	if err := f.check(card); err != nil {
		return nil, err
	}
	return &node.ExportPlan{Bytes: 5, Blocks: 1}, nil
}

func (f *fakeNode) WriteExport(ctx context.Context, p *node.ExportPlan, w io.Writer, progress func(done int64)) error {
	_, err := io.WriteString(w, "car!!")
	return err
}

func (f *fakeNode) Import(ctx context.Context, r io.Reader, progress func(read int64)) (*node.ImportResult, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	if string(b) != "car!!" {
		return nil, &node.ImportError{Err: fmt.Errorf("not a CAR file")}
	}
	return &node.ImportResult{Vaults: 1, Blocks: 1}, nil
}
