// Command mcastprobe sends or receives IPv4 multicast datagrams on one
// interface, the way an mDNS responder does: the socket joins the group on
// that interface and sends through it (IP_MULTICAST_IF), so no route is
// needed. testnet runs it inside network namespaces to check whether
// multicast crosses the bridge between them.
//
// Usage:
//
//	mcastprobe -iface eth0 [-group 224.0.0.251:55353] [-token T] [-for 3s] send|recv
//
// send repeats the token every 100 ms for the given time and exits 0.
// recv exits 0 and prints "received from ADDR" as soon as the token arrives,
// or exits 1 when it did not arrive in time.
//
// When -group is a unicast address, send sends to it and recv listens on
// its port on every address: a control that the link itself works.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"time"
)

func main() {
	iface := flag.String("iface", "", "interface to send or receive on (required)")
	group := flag.String("group", "224.0.0.251:55353", "multicast group and port")
	token := flag.String("token", "mcastprobe", "payload to send or wait for")
	dur := flag.Duration("for", 3*time.Second, "how long to send, or to wait")
	flag.Parse()
	if *iface == "" || flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: mcastprobe -iface NAME [-group IP:PORT] [-token T] [-for D] send|recv")
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *iface, *group, []byte(*token), *dur); err != nil {
		fmt.Fprintf(os.Stderr, "mcastprobe: %v\n", err)
		os.Exit(1)
	}
}

func run(mode, ifname, group string, token []byte, dur time.Duration) error {
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return fmt.Errorf("find interface: %w", err)
	}
	gaddr, err := net.ResolveUDPAddr("udp4", group)
	if err != nil {
		return fmt.Errorf("parse group: %w", err)
	}
	var c *net.UDPConn
	switch {
	case gaddr.IP.IsMulticast():
		// ListenMulticastUDP joins the group on ifi and sets
		// IP_MULTICAST_IF to it, with loopback off.
		c, err = net.ListenMulticastUDP("udp4", ifi, gaddr)
	case mode == "recv":
		c, err = net.ListenUDP("udp4", &net.UDPAddr{Port: gaddr.Port})
	default:
		c, err = net.ListenUDP("udp4", nil)
	}
	if err != nil {
		return fmt.Errorf("open socket: %w", err)
	}
	defer c.Close()
	deadline := time.Now().Add(dur)
	switch mode {
	case "send":
		for time.Now().Before(deadline) {
			if _, err := c.WriteToUDP(token, gaddr); err != nil {
				return fmt.Errorf("send: %w", err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		return nil
	case "recv":
		if err := c.SetReadDeadline(deadline); err != nil {
			return err
		}
		buf := make([]byte, 1500)
		for {
			n, from, err := c.ReadFromUDP(buf)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return fmt.Errorf("nothing received on %s in %v", group, dur)
			}
			if err != nil {
				return fmt.Errorf("receive: %w", err)
			}
			if bytes.Equal(buf[:n], token) {
				fmt.Printf("received from %s\n", from)
				return nil
			}
		}
	}
	return fmt.Errorf("unknown mode %q: use send or recv", mode)
}
