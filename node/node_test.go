package node

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"baluchon/vault"
)

var loopback = []string{"/ip4/127.0.0.1/tcp/0"}

func startNode(t testing.TB, cfg Config) *Node {
	t.Helper()
	home := filepath.Join(t.TempDir(), "home")
	if len(cfg.Listen) == 0 {
		cfg.Listen = loopback
	}
	if err := Init(home, InitOptions{Config: &cfg}); err != nil {
		t.Fatal(err)
	}
	n, err := Start(context.Background(), Options{Home: home})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

func TestInitTwiceChangesNothing(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	if err := Init(home, InitOptions{Config: &Config{Listen: loopback}}); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(home, "config.json"))
	key, _ := os.ReadFile(filepath.Join(home, identityFile))
	err := Init(home, InitOptions{Config: &Config{Listen: []string{"/ip4/127.0.0.1/tcp/9"}}})
	if !errors.Is(err, ErrInitialised) {
		t.Fatalf("second init: got %v, want ErrInitialised", err)
	}
	after, _ := os.ReadFile(filepath.Join(home, "config.json"))
	key2, _ := os.ReadFile(filepath.Join(home, identityFile))
	if !bytes.Equal(before, after) || !bytes.Equal(key, key2) {
		t.Fatal("second init changed the home")
	}
	st, err := os.Stat(filepath.Join(home, identityFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("identity file mode %v (%v), want 0600", st.Mode().Perm(), err)
	}
}

func TestInitRefusesBadConfig(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	err := Init(home, InitOptions{Config: &Config{Listen: []string{"not an address"}}})
	if err == nil || !strings.Contains(err.Error(), "is not a multiaddr") {
		t.Fatalf("got %v", err)
	}
	if _, err := os.Stat(home); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("a refused init created the home")
	}
}

func TestSecondNodeOnHomeRefused(t *testing.T) {
	n := startNode(t, Config{})
	_, err := Start(context.Background(), Options{Home: n.Home()})
	var le *LockedError
	if !errors.As(err, &le) || le.PID != os.Getpid() {
		t.Fatalf("second start: got %v, want LockedError with our pid", err)
	}
}

// TestConnectSilentPeerGivesUp: a peer that accepts the TCP connection but
// never speaks is reported as unreachable, within the connect timeout.
func TestConnectSilentPeerGivesUp(t *testing.T) {
	n := startNode(t, Config{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	_, pub, _ := crypto.GenerateEd25519Key(nil)
	id, _ := peer.IDFromPublicKey(pub)
	addr := "/ip4/127.0.0.1/tcp/" + strings.Split(ln.Addr().String(), ":")[1] + "/p2p/" + id.String()
	done := make(chan error, 1)
	go func() {
		_, err := n.Connect(context.Background(), addr, true)
		done <- err
	}()
	select {
	case err := <-done:
		var ue *UnreachableError
		if !errors.As(err, &ue) {
			t.Fatalf("got %v, want UnreachableError", err)
		}
	case <-time.After(3 * ConnectTimeout):
		t.Fatal("connect to a silent peer did not give up")
	}
	cfg, _ := readConfig(n.Home())
	if len(cfg.Peers) != 0 {
		t.Fatal("an unreachable peer was remembered")
	}
}

func TestConnectRemembersPeer(t *testing.T) {
	a := startNode(t, Config{})
	b := startNode(t, Config{})
	addr := b.Addrs()[0].String()
	if _, err := a.Connect(context.Background(), addr, true); err != nil {
		t.Fatal(err)
	}
	cfg, err := readConfig(a.Home())
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Peers) != 1 || cfg.Peers[0] != addr {
		t.Fatalf("peers in config: %v", cfg.Peers)
	}
	if _, err := a.Connect(context.Background(), "/ip4/1.2.3.4/tcp/1", true); err == nil {
		t.Fatal("accepted an address without /p2p/")
	}
}

func TestAddOverLimitChangesNothing(t *testing.T) {
	ctx := context.Background()
	n := startNode(t, Config{MaxDocumentBytes: 1000})
	card, _, err := n.CreateVault(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Add(ctx, card, bytes.NewReader(make([]byte, 1000)), DocMeta{Title: "exactly the limit"}); err != nil {
		t.Fatal(err)
	}
	_, err = n.Add(ctx, card, bytes.NewReader(make([]byte, 1001)), DocMeta{Title: "one byte over"})
	var tl *TooLargeError
	if !errors.As(err, &tl) || tl.Limit != 1000 {
		t.Fatalf("got %v, want TooLargeError", err)
	}
	_, entries, err := n.List(ctx, card)
	if err != nil || len(entries) != 1 {
		t.Fatalf("after a refused add: %d documents (%v), want 1", len(entries), err)
	}
}

func TestUnknownCardAndDocument(t *testing.T) {
	ctx := context.Background()
	n := startNode(t, Config{})
	stranger, _ := vault.NewCard(nil)
	if _, _, err := n.List(ctx, stranger); !errors.Is(err, ErrUnknownCard) {
		t.Fatalf("unknown card: got %v", err)
	}
	card, _, err := n.CreateVault(ctx)
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := n.CreateVault(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e, err := n.Add(ctx, card, strings.NewReader("bulletin de salaire"), DocMeta{})
	if err != nil {
		t.Fatal(err)
	}
	var nd *NoDocumentError
	if _, err := n.Get(ctx, other, e.ID); !errors.As(err, &nd) {
		t.Fatalf("other card: got %v, want NoDocumentError", err)
	}
}

// TestGCKeepsWhatIsPinned: a collection removes the blocks of a document
// refused half-way, and every document, envelope and state of the vault
// stays readable.
func TestGCKeepsWhatIsPinned(t *testing.T) {
	ctx := context.Background()
	n := startNode(t, Config{MaxDocumentBytes: 3 << 20})
	card, _, err := n.CreateVault(ctx)
	if err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("scan "), 500_000) // 2.5 MB, several blocks
	e1, err := n.Add(ctx, card, bytes.NewReader(big), DocMeta{Title: "scan"})
	if err != nil {
		t.Fatal(err)
	}
	e2, err := n.Add(ctx, card, strings.NewReader("petit"), DocMeta{Title: "petit"})
	if err != nil {
		t.Fatal(err)
	}
	// Refused half-way: over the limit, with no size announced.
	over := io.MultiReader(bytes.NewReader(big), bytes.NewReader(big))
	if _, err := n.Add(ctx, card, over, DocMeta{}); err == nil {
		t.Fatal("an oversize document was accepted")
	}
	// The refused document's blocks are mostly still in the batch's
	// buffer when it is refused, and never written (addbuffer.go): a
	// block written and named by nothing is collected as well.
	if _, err := n.putRaw(ctx, []byte("named by nothing")); err != nil {
		t.Fatal(err)
	}
	before, _ := n.BlockCount(ctx)
	res, err := n.GC(ctx)
	if err != nil {
		t.Fatal(err)
	}
	after, _ := n.BlockCount(ctx)
	if res.Removed == 0 || after != before-res.Removed || after != res.Kept {
		t.Fatalf("gc: %+v, blocks %d → %d", res, before, after)
	}
	for _, e := range []vault.Entry{e1, e2} {
		d, err := n.Get(ctx, card, e.ID)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(d)
		d.Close()
		if err != nil || int64(len(got)) != e.Size {
			t.Fatalf("document %s after gc: %d bytes (%v)", e.Title, len(got), err)
		}
	}
	again, err := n.GC(ctx)
	if err != nil || again.Removed != 0 {
		t.Fatalf("second gc: %+v (%v)", again, err)
	}
}
