package rfcomm

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// StandIn stands in for the Bluetooth adapters of several nodes on one
// machine, for tests: each adapter's listening channel is a Unix stream
// socket in a folder, and a connection is a Unix socket connection, whose
// dialler first writes its adapter's address (what accept returns with a
// real RFCOMM socket). Everything above the sockets (the transport, the
// upgrader, the node) runs the same code as over Bluetooth.
//
// Cut ends every connection at once and refuses new ones until Heal, as
// when two machines move out of range; CutAfter does it once a given
// number of bytes has crossed, to cut a transfer in its middle.
type StandIn struct {
	dir string

	mu    sync.Mutex
	conns map[*standInConn]struct{}
	down  bool
	// cutAt > 0: cut when crossed reaches it, for cutFor.
	cutAt   int64
	cutFor  time.Duration
	crossed atomic.Int64
	cuts    int
}

// NewStandIn returns a stand-in whose sockets live in dir (a short path:
// a Unix socket's path has at most 107 bytes).
func NewStandIn(dir string) *StandIn {
	return &StandIn{dir: dir, conns: map[*standInConn]struct{}{}}
}

// Adapter returns the sockets of the stand-in adapter with address addr.
func (s *StandIn) Adapter(addr [6]byte) Sockets {
	return &standInSockets{s: s, bd: addr}
}

// Cut ends every connection and refuses new ones until Heal.
func (s *StandIn) Cut() {
	s.mu.Lock()
	s.down = true
	s.cuts++
	conns := s.conns
	s.conns = map[*standInConn]struct{}{}
	s.mu.Unlock()
	for c := range conns {
		c.Conn.Close()
	}
}

// Heal accepts connections again.
func (s *StandIn) Heal() {
	s.mu.Lock()
	s.down = false
	s.mu.Unlock()
}

// CutAfter cuts, once n more bytes have crossed, for d; then it heals.
func (s *StandIn) CutAfter(n int64, d time.Duration) {
	s.mu.Lock()
	s.cutAt, s.cutFor = s.crossed.Load()+n, d
	s.mu.Unlock()
}

// Crossed returns the bytes that crossed the stand-in so far (both ways).
func (s *StandIn) Crossed() int64 { return s.crossed.Load() }

// Cuts returns how many times the stand-in was cut.
func (s *StandIn) Cuts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cuts
}

func (s *StandIn) count(n int) {
	total := s.crossed.Add(int64(n))
	s.mu.Lock()
	due := s.cutAt > 0 && total >= s.cutAt
	d := s.cutFor
	if due {
		s.cutAt = 0
	}
	s.mu.Unlock()
	if due {
		go func() {
			s.Cut()
			time.Sleep(d)
			s.Heal()
		}()
	}
}

func (s *StandIn) track(c *standInConn) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return errStandInDown
	}
	s.conns[c] = struct{}{}
	return nil
}

var errStandInDown = errors.New("host is down (stand-in link cut)")

func (s *StandIn) path(bd [6]byte, channel uint8) string {
	return filepath.Join(s.dir, fmt.Sprintf("%s-%d", hex.EncodeToString(bd[:]), channel))
}

type standInSockets struct {
	s  *StandIn
	bd [6]byte
}

func (a *standInSockets) Adapter() ([6]byte, bool, error) { return a.bd, true, nil }

func (a *standInSockets) Listen(bd [6]byte, channel uint8) (net.Listener, error) {
	if bd != a.bd {
		return nil, fmt.Errorf("stand-in adapter %x cannot listen as %x", a.bd, bd)
	}
	l, err := net.Listen("unix", a.s.path(bd, channel))
	if err != nil {
		return nil, err
	}
	return &standInListener{Listener: l, s: a.s, addr: &Addr{BD: bd, Channel: channel}}, nil
}

func (a *standInSockets) Dial(ctx context.Context, bd [6]byte, channel uint8) (net.Conn, error) {
	a.s.mu.Lock()
	down := a.s.down
	a.s.mu.Unlock()
	if down {
		return nil, errStandInDown
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", a.s.path(bd, channel))
	if err != nil {
		return nil, err
	}
	if _, err := c.Write(a.bd[:]); err != nil {
		c.Close()
		return nil, err
	}
	sc := &standInConn{Conn: c, s: a.s, local: &Addr{BD: a.bd, Channel: channel}, remote: &Addr{BD: bd, Channel: channel}}
	if err := a.s.track(sc); err != nil {
		c.Close()
		return nil, err
	}
	return sc, nil
}

type standInListener struct {
	net.Listener
	s    *StandIn
	addr *Addr
}

func (l *standInListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		var bd [6]byte
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err = io.ReadFull(c, bd[:])
		_ = c.SetReadDeadline(time.Time{})
		if err != nil {
			c.Close()
			continue
		}
		sc := &standInConn{Conn: c, s: l.s, local: l.addr, remote: &Addr{BD: bd, Channel: l.addr.Channel}}
		if err := l.s.track(sc); err != nil {
			c.Close()
			continue
		}
		return sc, nil
	}
}

func (l *standInListener) Addr() net.Addr { return l.addr }

type standInConn struct {
	net.Conn
	s             *StandIn
	local, remote *Addr
}

func (c *standInConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.s.count(n)
	}
	return n, err
}

func (c *standInConn) Close() error {
	c.s.mu.Lock()
	delete(c.s.conns, c)
	c.s.mu.Unlock()
	return c.Conn.Close()
}

func (c *standInConn) LocalAddr() net.Addr  { return c.local }
func (c *standInConn) RemoteAddr() net.Addr { return c.remote }
