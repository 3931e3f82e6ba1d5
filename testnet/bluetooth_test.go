package testnet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"baluchon/internal/rfcomm"
	"baluchon/node"
	"baluchon/proto"
)

// btAddrs are the stand-in adapters' addresses of the Bluetooth tests.
var btAddrs = [][6]byte{
	{0xB8, 0x27, 0xEB, 0x00, 0x00, 0x01},
	{0xB8, 0x27, 0xEB, 0x00, 0x00, 0x02},
}

// startBluetooth starts node i with the stand-in adapter btAddrs[i] and
// no IP listen address at all: it can be reached over "Bluetooth" only.
func startBluetooth(t *testing.T, air *rfcomm.StandIn, i int) *node.Node {
	t.Helper()
	home := filepath.Join(t.TempDir(), fmt.Sprintf("bt%d", i))
	off := false
	listen, err := proto.BluetoothMultiaddr(btAddrs[i], rfcomm.DefaultChannel)
	if err != nil {
		t.Fatal(err)
	}
	cfg := node.Config{Listen: []string{listen.String()}, MDNS: &off}
	if err := node.Init(home, node.InitOptions{Config: &cfg, Identity: Identity(t.Name(), i)}); err != nil {
		t.Fatal(err)
	}
	n, err := node.Start(context.Background(), node.Options{Home: home, Logger: logger(), Bluetooth: air.Adapter(btAddrs[i])})
	if err != nil {
		t.Fatalf("start node %d: %v", i, err)
	}
	t.Cleanup(func() {
		if err := n.Close(); err != nil {
			t.Errorf("close node %d: %v", i, err)
		}
	})
	return n
}

// TestBluetoothPairAndOpen: two nodes whose only link is Bluetooth (the
// RFCOMM transport over a stand-in socket) connect by a pairing code,
// which carries the Bluetooth address; a card made at A opens at B
// through that link alone; the link is cut in the middle of the vault's
// transfer, comes back, and the transfer resumes: every document reads
// back, and no block was received twice.
func TestBluetoothPairAndOpen(t *testing.T) {
	ctx := context.Background()
	air := rfcomm.NewStandIn(t.TempDir())
	a := startBluetooth(t, air, 0)
	b := startBluetooth(t, air, 1)
	for _, addr := range a.Host().Addrs() {
		if _, _, ok := proto.SplitBluetoothMultiaddr(addr); !ok {
			t.Fatalf("node A listens on %s, besides Bluetooth", addr)
		}
	}

	// The code, as text (what the QR code holds), names A's adapter.
	text := a.PairingCode().String()
	code, err := proto.ParseCode(text)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("/bt/%s/rfcomm/%d", proto.FormatBluetoothAddr(btAddrs[0]), rfcomm.DefaultChannel)
	if len(code.Addrs) != 1 || code.Addrs[0].String() != want {
		t.Fatalf("A's pairing code holds %v, want [%s]", code.Addrs, want)
	}
	if err := b.Pair(ctx, code); err != nil {
		t.Fatal(err)
	}
	conns := b.Host().Network().ConnsToPeer(a.ID())
	if len(conns) == 0 {
		t.Fatal("B is not connected to A after pairing")
	}
	for _, c := range conns {
		if !strings.HasPrefix(c.RemoteMultiaddr().String(), want) {
			t.Fatalf("B reaches A at %s, not over Bluetooth", c.RemoteMultiaddr())
		}
		if sec := c.ConnState().Security; sec == "" {
			t.Fatal("the Bluetooth connection has no security protocol")
		}
	}

	// A vault of 4 MiB and a small document, made at A.
	card, _, err := a.CreateVault(ctx)
	if err != nil {
		t.Fatal(err)
	}
	docs := map[string][]byte{}
	for _, d := range []testDoc{
		{"Titre de séjour", "Identité", "titre.pdf", randomBytes(t, 4<<20+123)},
		{"Domiciliation", "Courrier", "domiciliation.txt", []byte("Attestation d'élection de domicile, CCAS de Gap.")},
	} {
		e, err := a.Add(ctx, card, bytes.NewReader(d.data), node.DocMeta{Title: d.title, Category: d.category, FileName: d.name})
		if err != nil {
			t.Fatal(err)
		}
		docs[e.ID] = d.data
	}

	// B is shown the card; the link drops after 1.5 MiB for 2 s.
	air.CutAfter(1500<<10, 2*time.Second)
	start := time.Now()
	var opened *node.Opened
	for attempt := 1; ; attempt++ {
		octx, cancel := context.WithTimeout(ctx, 30*time.Second)
		opened, err = b.Open(octx, card)
		cancel()
		if err == nil {
			break
		}
		if time.Since(start) > 90*time.Second {
			t.Fatalf("the vault does not open at B over Bluetooth after the cut (attempt %d): %v", attempt, err)
		}
		t.Logf("attempt %d: %v", attempt, err)
		time.Sleep(time.Second)
	}
	if air.Cuts() != 1 {
		t.Fatalf("the link was cut %d times during the transfer, want 1", air.Cuts())
	}
	t.Logf("vault opened at B over the stand-in Bluetooth link in %v, across one cut; %d bytes crossed", time.Since(start).Round(10*time.Millisecond), air.Crossed())
	if len(opened.Entries) != len(docs) {
		t.Fatalf("B lists %d documents, want %d", len(opened.Entries), len(docs))
	}
	for id, want := range docs {
		d, err := b.Get(ctx, card, id)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(d)
		d.Close()
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("document %s reads back wrong at B (%d bytes, %v)", id, len(got), err)
		}
	}
	st := b.TransferStats()
	t.Logf("B received %d blocks (%d bytes) by bitswap, %d twice", st.Blocks, st.Bytes, st.Duplicates)
	if st.Duplicates != 0 {
		t.Errorf("B received %d blocks twice across the cut", st.Duplicates)
	}
	if st.Bytes > 4<<20+64<<10+1<<20 {
		t.Errorf("B received %d bytes by bitswap for a vault of about 4 MiB", st.Bytes)
	}
	for _, c := range b.Host().Network().ConnsToPeer(a.ID()) {
		if !strings.HasPrefix(c.RemoteMultiaddr().String(), want) {
			t.Fatalf("B reaches A at %s after the cut, not over Bluetooth", c.RemoteMultiaddr())
		}
	}
}

// TestBluetoothOff: a node with Bluetooth off, or with no adapter, listens
// on no Bluetooth address and puts none in its codes.
func TestBluetoothOff(t *testing.T) {
	air := rfcomm.NewStandIn(t.TempDir())
	off := false
	home := filepath.Join(t.TempDir(), "n")
	cfg := node.Config{Listen: Listen, MDNS: &off, Bluetooth: &off}
	if err := node.Init(home, node.InitOptions{Config: &cfg, Identity: Identity(t.Name(), 0)}); err != nil {
		t.Fatal(err)
	}
	n, err := node.Start(context.Background(), node.Options{Home: home, Bluetooth: air.Adapter(btAddrs[0])})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	for _, a := range n.Host().Addrs() {
		if _, _, ok := proto.SplitBluetoothMultiaddr(a); ok {
			t.Errorf("a node with Bluetooth off listens on %s", a)
		}
	}
	for _, a := range n.PairingCode().Addrs {
		if _, _, ok := proto.SplitBluetoothMultiaddr(a); ok {
			t.Errorf("a node with Bluetooth off gives %s in its code", a)
		}
	}
}

// TestBluetoothRealAdapter connects two RFCOMM sockets of this machine's
// adapter to each other (its own address): it runs only where the kernel
// has Bluetooth sockets and an adapter is up.
func TestBluetoothRealAdapter(t *testing.T) {
	s := rfcomm.System()
	if s == nil {
		t.Skip("baluchon speaks RFCOMM on Linux only")
	}
	bd, ok, err := s.Adapter()
	if errors.Is(err, rfcomm.ErrNoBluetooth) {
		t.Skipf("%v: the Bluetooth transport is tested over a stand-in socket (TestBluetoothPairAndOpen)", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		t.Skip("this machine has no Bluetooth adapter up: the Bluetooth transport is tested over a stand-in socket (TestBluetoothPairAndOpen)")
	}
	l, err := s.Listen(bd, rfcomm.DefaultChannel)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	done := make(chan error, 1)
	go func() {
		c, err := l.Accept()
		if err == nil {
			_, err = io.Copy(c, c)
			c.Close()
		}
		done <- err
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := s.Dial(ctx, bd, rfcomm.DefaultChannel)
	if err != nil {
		t.Skipf("this adapter does not connect to itself (%v); test between two machines as docs/bluetooth.md says", err)
	}
	defer c.Close()
	msg := []byte("baluchon over RFCOMM")
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("echo: %q, %v", got, err)
	}
}

// TestBluetoothListenWithoutAdapter: a Bluetooth listen address on a
// machine that cannot listen on Bluetooth is a clear error at start.
func TestBluetoothListenWithoutAdapter(t *testing.T) {
	off := false
	home := filepath.Join(t.TempDir(), "n")
	cfg := node.Config{Listen: []string{"/bt/B8:27:EB:00:00:09/rfcomm/25"}, MDNS: &off, Bluetooth: &off}
	if err := node.Init(home, node.InitOptions{Config: &cfg, Identity: Identity(t.Name(), 0)}); err != nil {
		t.Fatal(err)
	}
	n, err := node.Start(context.Background(), node.Options{Home: home})
	if err == nil {
		n.Close()
		t.Fatal("a node with Bluetooth off started with a Bluetooth listen address")
	}
	if !strings.Contains(err.Error(), "Bluetooth") {
		t.Fatalf("the error does not say Bluetooth: %v", err)
	}
	t.Log(err)
}
