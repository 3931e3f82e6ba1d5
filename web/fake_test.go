package web

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"baluchon/cardprint"
	"baluchon/node"
	"baluchon/proto"
	"baluchon/vault"
)

// fakeNode is a Node in memory: each card opens one file.
type fakeNode struct {
	mu       sync.Mutex
	max      int64
	files    map[string]*fakeFile // by card text
	replaced map[string]time.Time // old card texts
	now      func() time.Time
	n        int
	// exporting is the file of the last planned export
	exporting *fakeFile
	// open, if set, is called at each Open
	open func()
	// recoveries by request id
	recoveries map[string]*fakeRecovery
	// name is the structure's name the page gave the node
	name   string
	fed    peer.ID
	paired []peer.ID
	// the people this structure follows, and this node's id
	followed []node.Followed
	self     peer.ID
	members  []peer.ID
}

type fakeFile struct {
	id      vault.VaultID
	entries []vault.Entry
	data    map[string][]byte
	trash   []node.TrashItem
	log     []node.LogLine
	pending []string // titles deposited without the card
	dels    []node.DelegationInfo
}

func newFakeNode(now func() time.Time) *fakeNode {
	return &fakeNode{max: 1 << 20, files: map[string]*fakeFile{}, replaced: map[string]time.Time{}, now: now}
}

func (f *fakeNode) file(card *vault.Card) (*fakeFile, error) {
	if t, ok := f.replaced[card.String()]; ok {
		return nil, &node.CardReplacedError{When: t}
	}
	ff, ok := f.files[card.String()]
	if !ok {
		return nil, node.ErrUnknownCard
	}
	return ff, nil
}

func (f *fakeNode) logf(ff *fakeFile, action, doc, title string) {
	ff.log = append(ff.log, node.LogLine{Time: f.now(), Who: "Accueil de jour", Action: action, DocID: doc, DocTitle: title})
}

// newCard makes a file and returns its card.
func (f *fakeNode) newCard() (*vault.Card, *fakeFile) {
	card, err := vault.NewCard(nil)
	if err != nil {
		panic(err)
	}
	k, err := vault.NewKeys()
	if err != nil {
		panic(err)
	}
	ff := &fakeFile{id: k.VaultID(), data: map[string][]byte{}}
	f.files[card.String()] = ff
	return card, ff
}

func (f *fakeNode) Register(ctx context.Context, opts node.CreateOptions) (*node.Created, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	card, ff := f.newCard()
	f.logf(ff, vault.ActionCreate, "", "")
	return &node.Created{Card: card, Vault: ff.id, Guardians: []peer.ID{"a", "b", "c"}, Threshold: 2}, nil
}

func (f *fakeNode) Open(ctx context.Context, card *vault.Card) (*node.Opened, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.open != nil {
		f.open()
	}
	ff, err := f.file(card)
	if err != nil {
		return nil, err
	}
	return &node.Opened{Vault: ff.id, Entries: append([]vault.Entry(nil), ff.entries...)}, nil
}

func (f *fakeNode) Add(ctx context.Context, card *vault.Card, r io.Reader, meta node.DocMeta) (vault.Entry, error) {
	b, err := io.ReadAll(io.LimitReader(r, f.max+1))
	if err != nil {
		return vault.Entry{}, fmt.Errorf("read document: %w", err)
	}
	if int64(len(b)) > f.max {
		return vault.Entry{}, &node.TooLargeError{Limit: f.max}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	ff, err := f.file(card)
	if err != nil {
		return vault.Entry{}, err
	}
	f.n++
	e := vault.Entry{ID: fmt.Sprintf("d%d", f.n), Size: int64(len(b)), Title: meta.Title, Category: meta.Category, FileName: meta.FileName, MIME: meta.MIME, Added: f.now(), Expires: meta.Expires}
	ff.entries = append(ff.entries, e)
	ff.data[e.ID] = b
	f.logf(ff, vault.ActionAdd, e.ID, e.Title)
	return e, nil
}

// AddBatch adds as Add does; when each fails, the batch's documents are
// taken out again (nothing is committed).
func (f *fakeNode) AddBatch(ctx context.Context, card *vault.Card, each func(add node.AddFunc) error) ([]vault.Entry, error) {
	if _, err := f.Open(ctx, card); err != nil {
		return nil, err
	}
	var out []vault.Entry
	err := each(func(r io.Reader, meta node.DocMeta) (vault.Entry, error) {
		e, err := f.Add(ctx, card, r, meta)
		if err == nil {
			out = append(out, e)
		}
		return e, err
	})
	if err != nil {
		f.mu.Lock()
		defer f.mu.Unlock()
		ff, _ := f.file(card)
		for _, e := range out {
			ff.entries = slices.DeleteFunc(ff.entries, func(x vault.Entry) bool { return x.ID == e.ID })
		}
		return nil, err
	}
	return out, nil
}

func (f *fakeNode) Get(ctx context.Context, card *vault.Card, id string) (*node.Document, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ff, err := f.file(card)
	if err != nil {
		return nil, err
	}
	for _, e := range ff.entries {
		if e.ID == id {
			f.logf(ff, vault.ActionGet, e.ID, e.Title)
			return &node.Document{Entry: e, Reader: bytes.NewReader(ff.data[id]), Closer: io.NopCloser(nil)}, nil
		}
	}
	return nil, &node.NoDocumentError{ID: id}
}

func (f *fakeNode) GetMany(ctx context.Context, card *vault.Card, ids []string, each func(*node.Document) error) error {
	f.mu.Lock()
	ff, err := f.file(card)
	if err != nil {
		f.mu.Unlock()
		return err
	}
	var ds []*node.Document
	for _, e := range ff.entries {
		if len(ids) == 0 || slices.Contains(ids, e.ID) {
			f.logf(ff, vault.ActionGet, e.ID, e.Title)
			ds = append(ds, &node.Document{Entry: e, Reader: bytes.NewReader(ff.data[e.ID]), Closer: io.NopCloser(nil)})
		}
	}
	f.mu.Unlock()
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
	ff, err := f.file(card)
	if err != nil {
		return err
	}
	for i, e := range ff.entries {
		if e.ID == id {
			ff.entries = append(ff.entries[:i:i], ff.entries[i+1:]...)
			ff.trash = append(ff.trash, node.TrashItem{Entry: e, Deleted: f.now(), Purge: f.now().Add(30 * 24 * time.Hour)})
			f.logf(ff, vault.ActionDelete, e.ID, e.Title)
			return nil
		}
	}
	return &node.NoDocumentError{ID: id}
}

func (f *fakeNode) Trash(ctx context.Context, card *vault.Card) ([]node.TrashItem, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ff, err := f.file(card)
	if err != nil {
		return nil, err
	}
	return append([]node.TrashItem(nil), ff.trash...), nil
}

func (f *fakeNode) Restore(ctx context.Context, card *vault.Card, id string) (vault.Entry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ff, err := f.file(card)
	if err != nil {
		return vault.Entry{}, err
	}
	for i, t := range ff.trash {
		if t.ID == id {
			ff.trash = append(ff.trash[:i:i], ff.trash[i+1:]...)
			ff.entries = append(ff.entries, t.Entry)
			f.logf(ff, vault.ActionRestore, t.ID, t.Title)
			return t.Entry, nil
		}
	}
	return vault.Entry{}, &node.NotInTrashError{ID: id}
}

func (f *fakeNode) Replace(ctx context.Context, card *vault.Card) (*vault.Card, vault.VaultID, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ff, err := f.file(card)
	if err != nil {
		return nil, vault.VaultID{}, err
	}
	nc, err := vault.NewCard(nil)
	if err != nil {
		return nil, vault.VaultID{}, err
	}
	delete(f.files, card.String())
	f.replaced[card.String()] = f.now()
	f.files[nc.String()] = ff
	f.logf(ff, vault.ActionReplace, "", "")
	return nc, ff.id, nil
}

func (f *fakeNode) AccessLog(ctx context.Context, card *vault.Card) ([]node.LogLine, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ff, err := f.file(card)
	if err != nil {
		return nil, err
	}
	return append([]node.LogLine(nil), ff.log...), nil
}

func (f *fakeNode) Status(ctx context.Context) (*node.Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := &node.Status{Peer: "12D3KooWfake", Federation: "12D3KooWfounder", Members: 3, Connected: 2, Reach: node.ReachRelayed, UsedBytes: 12 << 20, QuotaBytes: 10 << 30}
	for _, ff := range f.files {
		st.Vaults = append(st.Vaults, node.VaultStatus{Vault: ff.id.String(), Replicas: 2, Target: 3, LastTime: f.now()})
	}
	return st, nil
}

func (f *fakeNode) StructureName(p peer.ID) string {
	return map[peer.ID]string{"a": "Accueil de jour", "b": "CCAS de Lyon", "c": "Secours du Rhône"}[p]
}

func (f *fakeNode) SetName(_ context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.name = name
	return nil
}

func (f *fakeNode) MaxDocumentBytes() int64 { return f.max }

// fakeCards writes a stand-in PDF and reads "photos" holding the card text.
type fakeCards struct{}

func (fakeCards) PapersPDF(w io.Writer, p cardprint.Papers) error {
	_, err := fmt.Fprintf(w, "%%PDF-1.4 papers of %d documents (%s)\n", len(p.Docs), p.Lang)
	return err
}

func (fakeCards) CardPDF(w io.Writer, card *vault.Card, structureName, secondLang string) error {
	_, err := fmt.Fprintf(w, "%%PDF-1.4 card of %s (%s)\n", structureName, secondLang)
	return err
}

func (fakeCards) ReadCardPhoto(r io.Reader) (string, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return "", err
	}
	if !bytes.HasPrefix(b, []byte("CARD:")) {
		return "", fmt.Errorf("no code found in the photo")
	}
	return string(b[5:]), nil
}

// carMagic starts the fake's exports.
const carMagic = "FAKECAR\n"

func (f *fakeNode) PlanExportVault(ctx context.Context, card *vault.Card) (*node.ExportPlan, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ff, err := f.file(card)
	if err != nil {
		return nil, err
	}
	var n int64
	for _, b := range ff.data {
		n += int64(len(b))
	}
	f.exporting = ff
	return &node.ExportPlan{Bytes: n, Blocks: len(ff.data)}, nil
}

func (f *fakeNode) WriteExport(ctx context.Context, p *node.ExportPlan, w io.Writer, progress func(int64)) error {
	f.mu.Lock()
	ff := f.exporting
	f.mu.Unlock()
	if _, err := io.WriteString(w, carMagic+ff.id.String()+"\n"); err != nil {
		return err
	}
	f.logf(ff, vault.ActionExport, "", "")
	return nil
}

func (f *fakeNode) Import(ctx context.Context, r io.Reader, progress func(int64)) (*node.ImportResult, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, &node.ImportError{Err: err}
	}
	if !bytes.HasPrefix(b, []byte(carMagic)) {
		return nil, &node.ImportError{Err: fmt.Errorf("not a CAR file")}
	}
	return &node.ImportResult{Vaults: 1, Blocks: 3, NewBlocks: 3, NewStates: 1, Cards: 1}, nil
}

func (f *fakeNode) Deposit(ctx context.Context, v vault.VaultID, r io.Reader, meta node.DepositMetaIn) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r, f.max+1))
	if err != nil {
		return "", fmt.Errorf("read document: %w", err)
	}
	if int64(len(b)) > f.max {
		return "", &node.TooLargeError{Limit: f.max}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, ff := range f.files {
		if ff.id == v {
			if len(ff.pending) >= 2 {
				return "", node.ErrTooManyDeposits
			}
			ff.pending = append(ff.pending, meta.Title)
			return fmt.Sprintf("dep%d", len(ff.pending)), nil
		}
	}
	return "", node.ErrVaultUnreachable
}

// fake recovery: a request started here needs one approval, by any fake
// structure's page (the inbox lists every request).
type fakeRecovery struct {
	req      node.RecoveryRequest
	approved bool
}

func (f *fakeNode) RecoveryStart(ctx context.Context, v vault.VaultID) (*node.RecoveryRequest, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, ff := range f.files {
		if ff.id == v {
			f.n++
			r := node.RecoveryRequest{ID: fmt.Sprintf("bafyreq%d", f.n), Vault: v.String(), Requester: "12D3KooWrequester", Name: "Accueil de jour", Time: f.now(), Guardians: []string{"a", "b", "c"}}
			if f.recoveries == nil {
				f.recoveries = map[string]*fakeRecovery{}
			}
			f.recoveries[r.ID] = &fakeRecovery{req: r}
			return &r, nil
		}
	}
	return nil, node.ErrVaultUnreachable
}

func (f *fakeNode) RecoveryRequests(ctx context.Context) ([]node.RecoveryRequest, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []node.RecoveryRequest
	for _, r := range f.recoveries {
		rq := r.req
		rq.Approved = r.approved
		out = append(out, rq)
	}
	return out, nil
}

func (f *fakeNode) RecoveryApprove(ctx context.Context, id string, from peer.ID) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.recoveries[id]
	if !ok {
		return fmt.Errorf("no recovery request %s", id)
	}
	if string(from) != r.req.Requester {
		return node.ErrRequesterMismatch
	}
	r.approved = true
	return nil
}

func (f *fakeNode) RecoveryFinish(ctx context.Context, id string) (*vault.Card, vault.VaultID, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.recoveries[id]
	if !ok {
		return nil, vault.VaultID{}, fmt.Errorf("no recovery request %s", id)
	}
	if !r.approved {
		return nil, vault.VaultID{}, vault.ErrNotEnoughShares
	}
	for text, ff := range f.files {
		if ff.id.String() == r.req.Vault {
			nc, _ := vault.NewCard(nil)
			delete(f.files, text)
			f.replaced[text] = f.now()
			f.files[nc.String()] = ff
			delete(f.recoveries, id)
			f.logf(ff, vault.ActionRecover, "", "")
			return nc, ff.id, nil
		}
	}
	return nil, vault.VaultID{}, node.ErrVaultUnreachable
}

// fakePeer is an Ed25519 peer id (codes need one).
func fakePeer() peer.ID {
	_, pub, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		panic(err)
	}
	id, err := peer.IDFromPublicKey(pub)
	if err != nil {
		panic(err)
	}
	return id
}

func (f *fakeNode) Federation() (peer.ID, []peer.ID) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fed == "" {
		return "", nil
	}
	if f.members != nil {
		return f.fed, slices.Clone(f.members)
	}
	return f.fed, []peer.ID{"a", "b"}
}

func (f *fakeNode) PairingCode() *proto.Code {
	return &proto.Code{Kind: proto.KindPairing, Peer: fakePeer()}
}

func (f *fakeNode) Pair(ctx context.Context, code *proto.Code) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.paired = append(f.paired, code.Peer)
	return nil
}

func (f *fakeNode) Invite(ctx context.Context) (*proto.Code, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fed == "" {
		f.fed = "12D3KooWfederation"
	}
	c := &proto.Code{Kind: proto.KindInvitation, Peer: fakePeer()}
	rand.Read(c.Secret[:])
	return c, nil
}

func (f *fakeNode) JoinFederation(ctx context.Context, code *proto.Code) (peer.ID, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	// An all-zero secret stands for an unknown invitation (a random one is
	// never all zero; its first byte alone is zero once in 256 runs).
	if code.Secret == (proto.Code{}).Secret {
		return "", node.ErrInvitation
	}
	f.fed = code.Peer
	return code.Peer, nil
}

// The people this structure follows (follow.go).

func (f *fakeNode) ID() peer.ID {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.self == "" {
		f.self = fakePeer()
	}
	return f.self
}

func (f *fakeNode) delegate(ff *fakeFile, to peer.ID, cats []string, until time.Time) string {
	f.n++
	id := fmt.Sprintf("g%d", f.n)
	ff.dels = append(ff.dels, node.DelegationInfo{Delegation: vault.Delegation{ID: id, Structure: to.String(), StructureName: f.StructureName(to), Categories: cats, Granted: f.now(), Expires: until}})
	f.logf(ff, vault.ActionDelegate, "", "")
	return id
}

func (f *fakeNode) Follow(ctx context.Context, card *vault.Card, opts node.FollowOptions) (*node.Followed, error) {
	self := f.ID()
	f.mu.Lock()
	defer f.mu.Unlock()
	ff, err := f.file(card)
	if err != nil {
		return nil, err
	}
	name := strings.Join(strings.Fields(opts.Name), " ")
	if name == "" || len([]rune(name)) > 200 {
		return nil, &node.FollowError{Field: "name", Reason: "is wrong"}
	}
	if opts.Birth != "" {
		if t, err := time.Parse(time.DateOnly, opts.Birth); err != nil || t.After(f.now()) {
			return nil, &node.FollowError{Field: "birth date", Reason: "is wrong"}
		}
	}
	del := f.delegate(ff, self, opts.Categories, opts.Until)
	f.followed = slices.DeleteFunc(f.followed, func(p node.Followed) bool { return p.Vault == ff.id })
	p := node.Followed{ID: fmt.Sprintf("p%d", f.n), Name: name, Birth: opts.Birth, Vault: ff.id, Delegation: del, Until: opts.Until, Added: f.now()}
	f.followed = append(f.followed, p)
	return &p, nil
}

func (f *fakeNode) FollowedPeople(ctx context.Context, query string) ([]node.Followed, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []node.Followed
	for _, p := range f.followed {
		if strings.Contains(strings.ToLower(p.Name), strings.ToLower(strings.TrimSpace(query))) {
			out = append(out, p)
		}
	}
	return out, nil
}

func (f *fakeNode) FollowedPerson(ctx context.Context, id string) (*node.Followed, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range f.followed {
		if p.ID == id {
			return &p, nil
		}
	}
	return nil, node.ErrNotFollowed
}

func (f *fakeNode) Unfollow(ctx context.Context, card *vault.Card, id string) error {
	p, err := f.FollowedPerson(ctx, id)
	if err != nil {
		return err
	}
	if card != nil {
		if err := f.RevokeDelegation(ctx, card, p.Delegation); err != nil {
			return err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.followed = slices.DeleteFunc(f.followed, func(q node.Followed) bool { return q.ID == id })
	return nil
}

// byVault returns the file of a vault id.
func (f *fakeNode) byVault(v vault.VaultID) *fakeFile {
	for _, ff := range f.files {
		if ff.id == v {
			return ff
		}
	}
	return nil
}

// delegated returns the documents of v this node may open without the card.
func (f *fakeNode) delegated(v vault.VaultID) ([]vault.Entry, error) {
	ff := f.byVault(v)
	if ff == nil {
		return nil, node.ErrNoDelegation
	}
	var d *node.DelegationInfo
	for i, x := range ff.dels {
		if x.Structure == f.self.String() && x.Revoked.IsZero() && f.now().Before(x.Expires) {
			d = &ff.dels[i]
		}
	}
	if d == nil {
		return nil, node.ErrNoDelegation
	}
	var out []vault.Entry
	for _, e := range ff.entries {
		if !e.Private && (len(d.Categories) == 0 || slices.Contains(d.Categories, e.Category)) {
			out = append(out, e)
		}
	}
	return out, nil
}

func (f *fakeNode) DelegatedList(ctx context.Context, v vault.VaultID) ([]vault.Entry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.delegated(v)
}

func (f *fakeNode) DelegatedGet(ctx context.Context, v vault.VaultID, id string) (*node.Document, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	es, err := f.delegated(v)
	if err != nil {
		return nil, err
	}
	for _, e := range es {
		if e.ID == id {
			return &node.Document{Entry: e, Reader: bytes.NewReader(f.byVault(v).data[id]), Closer: io.NopCloser(nil)}, nil
		}
	}
	return nil, node.ErrNoDelegation
}

func (f *fakeNode) Delegations(ctx context.Context, card *vault.Card) ([]node.DelegationInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ff, err := f.file(card)
	if err != nil {
		return nil, err
	}
	return slices.Clone(ff.dels), nil
}

func (f *fakeNode) Delegate(ctx context.Context, card *vault.Card, opts node.DelegateOptions) (string, error) {
	self := f.ID()
	f.mu.Lock()
	defer f.mu.Unlock()
	ff, err := f.file(card)
	if err != nil {
		return "", err
	}
	if opts.To == self {
		return "", errors.New("this structure cannot delegate to itself")
	}
	return f.delegate(ff, opts.To, opts.Categories, opts.Until), nil
}

func (f *fakeNode) RevokeDelegation(ctx context.Context, card *vault.Card, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	ff, err := f.file(card)
	if err != nil {
		return err
	}
	for i := range ff.dels {
		if ff.dels[i].ID == id {
			ff.dels[i].Revoked = f.now()
			return nil
		}
	}
	return fmt.Errorf("this vault has no delegation %s", id)
}

func (f *fakeNode) SetPrivate(ctx context.Context, card *vault.Card, id string, private bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	ff, err := f.file(card)
	if err != nil {
		return err
	}
	for i := range ff.entries {
		if ff.entries[i].ID == id {
			ff.entries[i].Private = private
			return nil
		}
	}
	return &node.NoDocumentError{ID: id}
}
