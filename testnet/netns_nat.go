//go:build linux

package testnet

import (
	"fmt"
	"os/exec"
	"strings"
)

// NATs puts hosts of an NS behind home routers, as structures behind
// their internet boxes. The bridge becomes "the internet", with addresses
// that libp2p takes for public ones (11.R.S.0/24: manet.IsPublicAddr
// rejects the private and documentation ranges, which would keep AutoNAT,
// the observed addresses and hole punching from working). These addresses
// exist only inside the test's namespaces: no route leads out of them.
//
//	bridge ── eth0 of a public host i:        11.R.S.(i+1)
//	       └─ wan0 of router namespace <PREFIX>-r<i>: 11.R.S.(100+i)
//	             nftables: masquerade out of wan0; forward only what
//	             the LAN started (ct state established,related); drop,
//	             without an answer, what the internet starts
//	          lan0 ── eth0 of host i:          192.168.(i+1).2, default via .1
type NATs struct {
	ns        *NS
	natted    map[int]string // host → its router's namespace
	symmetric bool
}

// NATSkipMessage says what NATs needs when it skips the test.
const NATSkipMessage = "needs nft (apt-get install nftables); .ci/run installs it"

// NATs puts the hosts natted behind a router each, and gives the other
// hosts public addresses; call it before any host starts. The routers go
// with the NS's cleanup.
func (ns *NS) NATs(natted ...int) *NATs {
	ns.tb.Helper()
	if _, err := exec.LookPath("nft"); err != nil {
		ns.tb.Skipf("testnet: no 'nft' command; %s", NATSkipMessage)
	}
	n := &NATs{ns: ns, natted: map[int]string{}}
	for _, i := range natted {
		ns.host(i)
		n.natted[i] = fmt.Sprintf("%s-r%d", ns.prefix, i)
	}
	for i, h := range ns.hosts {
		rt, ok := n.natted[i]
		if !ok {
			mustIP(ns, "-n", h.netns, "addr", "flush", "dev", "eth0")
			mustIP(ns, "-n", h.netns, "addr", "add", n.PublicIP(i)+"/24", "dev", "eth0")
			continue
		}
		if err := n.router(i, h, rt); err != nil {
			ns.tb.Fatalf("testnet: put host %d behind a NAT: %v", i, err)
		}
	}
	return n
}

func mustIP(ns *NS, args ...string) {
	ns.tb.Helper()
	if err := ip(args...); err != nil {
		ns.tb.Fatalf("testnet: %v", err)
	}
}

// router makes host i's router namespace rt, between the host and the
// bridge.
func (n *NATs) router(i int, h *nsHost, rt string) error {
	ns := n.ns
	if err := ip("netns", "add", rt); err != nil {
		return err
	}
	ns.created = append(ns.created, created{netns: true, name: rt})
	wan := fmt.Sprintf("%sw%d", ns.prefix, i)
	lan := fmt.Sprintf("192.168.%d.", i+1)
	// The host's veth leaves the bridge for the router, as its LAN side;
	// the router's WAN side is a new veth on the bridge.
	cmds := [][]string{
		{"link", "set", h.veth, "nomaster"},
		{"link", "set", h.veth, "netns", rt},
		{"-n", rt, "link", "set", h.veth, "name", "lan0"},
		{"link", "add", wan, "type", "veth", "peer", "name", "wan0", "netns", rt},
	}
	for k, args := range cmds {
		if err := ip(args...); err != nil {
			return err
		}
		if k == len(cmds)-1 {
			ns.created = append(ns.created, created{name: wan})
		}
	}
	cmds = [][]string{
		{"link", "set", wan, "master", ns.bridge},
		{"link", "set", wan, "up"},
		{"-n", rt, "addr", "add", n.RouterIP(i) + "/24", "dev", "wan0"},
		{"-n", rt, "addr", "add", lan + "1/24", "dev", "lan0"},
		{"-n", rt, "link", "set", "wan0", "up"},
		{"-n", rt, "link", "set", "lan0", "up"},
		{"-n", rt, "link", "set", "lo", "up"},
		{"-n", h.netns, "addr", "flush", "dev", "eth0"},
		{"-n", h.netns, "addr", "add", lan + "2/24", "dev", "eth0"},
		{"-n", h.netns, "route", "add", "default", "via", lan + "1"},
	}
	for _, args := range cmds {
		if err := ip(args...); err != nil {
			return err
		}
	}
	if out, err := exec.Command("ip", "netns", "exec", rt, "sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward").CombinedOutput(); err != nil {
		return fmt.Errorf("turn on forwarding in %s: %v: %s", rt, err, out)
	}
	err := nft(rt, `
table ip nat {
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "wan0" masquerade
	}
}
table ip filter {
	chain input {
		type filter hook input priority filter; policy accept;
		iifname "wan0" ct state new drop
	}
	chain forward {
		type filter hook forward priority filter; policy drop;
		iifname "lan0" oifname "wan0" accept
		ct state established,related accept
	}
}
`)
	if err != nil {
		return err
	}
	// Unanswered UDP flows (a failed hole punch) are forgotten after 5 s
	// rather than 30, so that a later punch gets a new mapping.
	if out, err := exec.Command("ip", "netns", "exec", rt, "sh", "-c", "echo 5 > /proc/sys/net/netfilter/nf_conntrack_udp_timeout").CombinedOutput(); err != nil {
		return fmt.Errorf("shorten the UDP timeout in %s: %v: %s", rt, err, out)
	}
	return nil
}

// nft loads rules into namespace netns.
func nft(netns, rules string) error {
	cmd := exec.Command("ip", "netns", "exec", netns, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(rules)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("nft in %s: %v: %s", netns, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// PublicIP is the address of a host that is not behind a NAT.
func (n *NATs) PublicIP(i int) string {
	return fmt.Sprintf("11.%d.%d.%d", n.ns.net[0], n.ns.net[1], i+1)
}

// RouterIP is the public address of host i's router: what the others see
// of host i.
func (n *NATs) RouterIP(i int) string {
	return fmt.Sprintf("11.%d.%d.%d", n.ns.net[0], n.ns.net[1], 100+i)
}

// SymmetricBetweenNATs makes every router a symmetric NAT towards the
// other routers: what its LAN sends to another router's public address
// leaves from a new random port (nftables "masquerade fully-random"), while
// what it sends to the public hosts keeps its port. A NATed host's address
// as a public host sees it (the one it gives for hole punching) is then of
// no use to the other NATed host, and hole punching between them fails, as
// between two symmetric NATs. PortPreservingBetweenNATs undoes it.
func (n *NATs) SymmetricBetweenNATs() {
	n.ns.tb.Helper()
	for i, rt := range n.natted {
		var others []string
		for j := range n.natted {
			if j != i {
				others = append(others, n.RouterIP(j))
			}
		}
		if len(others) == 0 {
			continue
		}
		// A NAT chain earlier than the router's own masquerade: the first
		// NAT statement that matches a new connection decides.
		rules := fmt.Sprintf(`
table ip symmetric {
	chain postrouting {
		type nat hook postrouting priority srcnat - 10; policy accept;
		oifname "wan0" ip daddr { %s } masquerade fully-random
	}
}
`, strings.Join(others, ", "))
		if err := nft(rt, rules); err != nil {
			n.ns.tb.Fatalf("testnet: symmetric NAT between the routers: %v", err)
		}
	}
	n.symmetric = true
}

// PortPreservingBetweenNATs removes SymmetricBetweenNATs's rules: the
// routers keep the source port towards each other too (when free), as
// most home boxes do, and hole punching can succeed. Connections already
// tracked keep their ports: the routers forget unanswered UDP flows after
// 5 s (nf_conntrack_udp_timeout).
func (n *NATs) PortPreservingBetweenNATs() {
	n.ns.tb.Helper()
	if !n.symmetric {
		return
	}
	for _, rt := range n.natted {
		if err := nft(rt, "delete table ip symmetric\n"); err != nil {
			n.ns.tb.Fatalf("testnet: port-preserving NAT between the routers: %v", err)
		}
	}
	n.symmetric = false
}
