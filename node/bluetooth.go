package node

import (
	"errors"
	"fmt"

	"github.com/libp2p/go-libp2p"
	ma "github.com/multiformats/go-multiaddr"

	"baluchon/internal/rfcomm"
	"baluchon/proto"
)

// Bluetooth: a node whose machine has a Bluetooth adapter (Linux) also
// listens on RFCOMM channel rfcomm.DefaultChannel, with the libp2p
// transport of baluchon/internal/rfcomm, and puts its Bluetooth address
// in its pairing and invitation codes: two nodes with no network at all
// connect by scanning a code. Config.Bluetooth false turns it off; a
// /bt/<adapter>/rfcomm/<channel> listen address picks another channel.
// Over Bluetooth PAN or a phone's tethering (an IP link), nothing of this
// is needed: the node listens on every interface and mDNS finds peers on
// that link too.

// bluetoothOption adds the RFCOMM transport, and its listen address, to
// the host when the machine has an adapter (or a stand-in was given);
// otherwise it does nothing.
func bluetoothOption(cfg *Config) libp2p.Option {
	return func(c *libp2p.Config) error {
		asked := listensOnBluetooth(cfg.Listen)
		if cfg.Bluetooth != nil && !*cfg.Bluetooth {
			if asked {
				return errors.New("a listen address is a Bluetooth one, but \"bluetooth\" is false in config.json")
			}
			return nil
		}
		s := cfg.bluetooth
		if s == nil {
			s = rfcomm.System()
		}
		if s == nil {
			if asked {
				return errors.New("a listen address is a Bluetooth one, but baluchon speaks Bluetooth on Linux only (join by a Bluetooth network instead: docs/bluetooth.md)")
			}
			return nil
		}
		bd, ok, err := s.Adapter()
		if !ok {
			if asked {
				if err == nil {
					err = errors.New("no adapter is powered on (bluetoothctl power on)")
				}
				return fmt.Errorf("a listen address is a Bluetooth one, but this machine cannot listen on Bluetooth: %w", err)
			}
			return nil
		}
		opts := []libp2p.Option{libp2p.Transport(rfcomm.New(s))}
		if !asked {
			a, err := proto.BluetoothMultiaddr(bd, rfcomm.DefaultChannel)
			if err != nil {
				return err
			}
			opts = append(opts, libp2p.ListenAddrs(a))
		}
		return c.Apply(opts...)
	}
}

// listensOnBluetooth reports whether the listen addresses name a
// Bluetooth one.
func listensOnBluetooth(listen []string) bool {
	for _, s := range listen {
		if a, err := ma.NewMultiaddr(s); err == nil {
			if _, _, ok := proto.SplitBluetoothMultiaddr(a); ok {
				return true
			}
		}
	}
	return false
}

// withBluetooth adds the node's Bluetooth addresses (among all, its
// listen addresses) to the IP addresses of a code, within MaxCodeAddrs.
func withBluetooth(ip, all []ma.Multiaddr) []ma.Multiaddr {
	var bt []ma.Multiaddr
	for _, a := range all {
		if _, _, ok := proto.SplitBluetoothMultiaddr(a); ok {
			bt = append(bt, a)
		}
	}
	if len(bt) == 0 {
		return ip
	}
	bt = bt[:min(len(bt), proto.MaxCodeAddrs)]
	return append(ip[:min(len(ip), proto.MaxCodeAddrs-len(bt)):min(len(ip), proto.MaxCodeAddrs-len(bt))], bt...)
}
