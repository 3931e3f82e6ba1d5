package node

import (
	"context"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/p2p/discovery/mdns"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
)

// mDNS follows the machine's network links. A Bluetooth PAN (bnep0), a
// phone's tethering (usb0, bt-pan) or a Wi-Fi joined in the field often
// comes up after the node started, and go-libp2p's mDNS service binds to
// the interfaces, and announces the addresses, of the moment it starts.
// So the node looks at its links every linkPoll, and restarts mDNS when
// they change (or starts it when the first one comes up).

// linkPoll is how often the node looks at the machine's network links.
const linkPoll = 2 * time.Second

// mdnsWatch is the node's mDNS service, restarted when links change.
type mdnsWatch struct {
	n      *Node
	mu     sync.Mutex
	svc    interface{ Close() error } // nil while there is no link
	closed bool
	links  string // what currentLinks returned when svc started
}

// watchLinks starts mDNS on the current links, if any, and follows them.
func (n *Node) watchLinks() (*mdnsWatch, error) {
	w := &mdnsWatch{n: n, links: currentLinks()}
	if w.links != "" {
		if err := w.start(); err != nil {
			return nil, err
		}
	}
	n.goLoop(w.loop)
	return w, nil
}

func (w *mdnsWatch) start() error {
	svc := mdns.NewMdnsService(freshAddrsHost{w.n.host}, mdnsService, mdnsNotifee{w.n})
	if err := svc.Start(); err != nil {
		return err
	}
	w.svc = svc
	return nil
}

func (w *mdnsWatch) loop(ctx context.Context) {
	t := time.NewTicker(linkPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		links := currentLinks()
		w.mu.Lock()
		if w.closed {
			w.mu.Unlock()
			return
		}
		if links != w.links {
			w.links = links
			if w.svc != nil {
				_ = w.svc.Close()
				w.svc = nil
			}
			if links != "" {
				if err := w.start(); err != nil {
					w.n.log.Warn("local network discovery (mDNS) did not restart", "err", err)
				}
			}
			w.n.log.Info("network links changed: local network discovery (mDNS) restarted", "links", links)
		}
		w.mu.Unlock()
	}
}

// Close stops mDNS for good.
func (w *mdnsWatch) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	if w.svc == nil {
		return nil
	}
	err := w.svc.Close()
	w.svc = nil
	return err
}

// currentLinks describes the interfaces mDNS can use (up, multicast, not
// loopback, with an IP address): their names and addresses, sorted; ""
// when there is none.
func currentLinks() string {
	ifaces, err := net.Interfaces()
	if err != nil {
		return ""
	}
	var out []string
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagMulticast == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil || len(addrs) == 0 {
			continue
		}
		s := make([]string, 0, len(addrs))
		for _, a := range addrs {
			s = append(s, a.String())
		}
		slices.Sort(s)
		out = append(out, ifc.Name+"="+strings.Join(s, ","))
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}

// freshAddrsHost is the host as the mDNS service sees it: its interface
// addresses are those of now, where the swarm keeps them a minute.
type freshAddrsHost struct{ host.Host }

func (h freshAddrsHost) Network() network.Network { return freshAddrsNetwork{h.Host.Network()} }

type freshAddrsNetwork struct{ network.Network }

func (n freshAddrsNetwork) InterfaceListenAddresses() ([]ma.Multiaddr, error) {
	return manet.ResolveUnspecifiedAddresses(n.ListenAddresses(), nil)
}
