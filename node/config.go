package node

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	ma "github.com/multiformats/go-multiaddr"

	"baluchon/internal/atomicfile"
	"baluchon/internal/rfcomm"
)

// Config is a node's settings, kept in HOME/config.json. Zero fields take
// the defaults documented on each field.
type Config struct {
	// Name is the structure's name, as people read it in the access log
	// ("CCAS d'Angers"). Default: "structure" and the end of the peer id.
	Name string `json:"name,omitempty"`
	// Listen holds the libp2p listen addresses. Default: TCP and QUIC on
	// port 4001, all interfaces (IPv4 and IPv6).
	Listen []string `json:"listen"`
	// Peers holds the full multiaddrs (with /p2p/) of static peers: the
	// node connects to them at start and reconnects when they drop.
	Peers []string `json:"peers,omitempty"`
	// MaxDocumentBytes is the largest document the node accepts.
	// Default: 100 MB.
	MaxDocumentBytes int64 `json:"max_document_bytes,omitempty"`
	// API is the address of the local API. It must be a loopback address.
	// Default: 127.0.0.1:0 (a free port, written to HOME/api).
	API string `json:"api,omitempty"`
	// MemoryLimit bounds the memory libp2p may use for connections and
	// streams, in bytes. Default: 128 MiB.
	MemoryLimit int64 `json:"memory_limit,omitempty"`
	// MDNS, when false, stops the node from announcing itself and looking
	// for other nodes on the local network. Default: true.
	MDNS *bool `json:"mdns,omitempty"`
	// Bluetooth, when false, keeps the node off Bluetooth. Default: true,
	// the node listens on RFCOMM (channel 25) when the machine has a
	// Bluetooth adapter, Linux only (node/bluetooth.go).
	Bluetooth *bool `json:"bluetooth,omitempty"`
	// bluetooth, when not nil, replaces the machine's Bluetooth sockets
	// (Options.Bluetooth).
	bluetooth rfcomm.Sockets
	// Replicas is how many structures of the federation keep each vault.
	// Default: 2.
	Replicas int `json:"replicas,omitempty"`
	// MaxStorageBytes bounds the blocks this node keeps; over it, it takes
	// no new replica (vaults whose card is shown here are always kept).
	// Default: 0, no limit.
	MaxStorageBytes int64 `json:"max_storage_bytes,omitempty"`
	// SyncInterval is how often members compare what they keep.
	// Default: "30s".
	SyncInterval Duration `json:"sync_interval,omitempty"`
	// ReplicaGrace is how long a structure that kept a vault may go unseen
	// before another member takes a copy. Default: "10m".
	ReplicaGrace Duration `json:"replica_grace,omitempty"`
	// TrashPeriod is how long a deleted document can be restored, and how
	// long the node keeps the states that newer ones replaced (see
	// trash.go). Default: "720h" (30 days).
	TrashPeriod Duration `json:"trash_period,omitempty"`
	// RetireGrace is how long a vault that moved to another (after a key
	// change or a card replacement) is kept once the new vault has been
	// opened with its card at this node. A vault said to have moved to
	// two different vaults is never dropped. Default: "168h" (7 days).
	RetireGrace Duration `json:"retire_grace,omitempty"`
	// Reachability, when set, replaces what AutoNAT finds: "public" for a
	// node with a public address and an open port (it then relays for the
	// members behind NATs), "private" for a node that must always take a
	// relay. Default: "", AutoNAT decides (see reach.go).
	Reachability string `json:"reachability,omitempty"`
}

// Duration is a time.Duration written as "30s", "10m" in JSON.
type Duration time.Duration

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration is written like \"30s\" or \"10m\"")
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return fmt.Errorf("%q is not a duration like \"30s\" or \"10m\"", s)
	}
	*d = Duration(v)
	return nil
}

// Defaults.
const (
	DefaultMaxDocumentBytes = 100_000_000
	DefaultAPI              = "127.0.0.1:0"
	DefaultMemoryLimit      = 128 << 20
	DefaultReplicas         = 2
	DefaultSyncInterval     = Duration(30 * time.Second)
	DefaultReplicaGrace     = Duration(10 * time.Minute)
	DefaultRetireGrace      = Duration(7 * 24 * time.Hour)
)

// DefaultListen is the default set of libp2p listen addresses.
var DefaultListen = []string{
	"/ip4/0.0.0.0/tcp/4001",
	"/ip4/0.0.0.0/udp/4001/quic-v1",
	"/ip6/::/tcp/4001",
	"/ip6/::/udp/4001/quic-v1",
}

func (c *Config) withDefaults() Config {
	out := *c
	if len(out.Listen) == 0 {
		out.Listen = DefaultListen
	}
	if out.MaxDocumentBytes == 0 {
		out.MaxDocumentBytes = DefaultMaxDocumentBytes
	}
	if out.API == "" {
		out.API = DefaultAPI
	}
	if out.MemoryLimit == 0 {
		out.MemoryLimit = DefaultMemoryLimit
	}
	if out.MDNS == nil {
		on := true
		out.MDNS = &on
	}
	if out.Replicas == 0 {
		out.Replicas = DefaultReplicas
	}
	if out.SyncInterval == 0 {
		out.SyncInterval = DefaultSyncInterval
	}
	if out.ReplicaGrace == 0 {
		out.ReplicaGrace = DefaultReplicaGrace
	}
	if out.TrashPeriod == 0 {
		out.TrashPeriod = DefaultTrashPeriod
	}
	if out.RetireGrace == 0 {
		out.RetireGrace = DefaultRetireGrace
	}
	return out
}

// Validate checks every field, so that a bad config is refused before
// anything is written or started.
func (c *Config) Validate() error {
	for _, s := range c.Listen {
		if _, err := ma.NewMultiaddr(s); err != nil {
			return fmt.Errorf("listen address %q is not a multiaddr (example: /ip4/0.0.0.0/tcp/4001): %w", s, err)
		}
	}
	for _, s := range c.Peers {
		if _, err := ParsePeerAddr(s); err != nil {
			return err
		}
	}
	if len(c.Name) > 200 {
		return errors.New("name must have at most 200 characters")
	}
	if c.MaxDocumentBytes < 0 {
		return errors.New("max_document_bytes must not be negative")
	}
	if c.MemoryLimit < 0 {
		return errors.New("memory_limit must not be negative")
	}
	if c.Replicas < 0 || c.Replicas > 16 {
		return errors.New("replicas must be between 1 and 16")
	}
	if c.MaxStorageBytes < 0 {
		return errors.New("max_storage_bytes must not be negative (0 means no limit)")
	}
	if c.Reachability != "" && c.Reachability != "public" && c.Reachability != "private" {
		return errors.New(`reachability must be "public", "private" or left out (AutoNAT decides)`)
	}
	return nil
}

func configPath(home string) string { return filepath.Join(home, "config.json") }

// readConfig reads HOME/config.json.
func readConfig(home string) (*Config, error) {
	b, err := os.ReadFile(configPath(home))
	if err != nil {
		return nil, err
	}
	var c Config
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("%s is damaged (%v): fix the JSON or restore it from a backup", configPath(home), err)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", configPath(home), err)
	}
	return &c, nil
}

// writeConfig writes HOME/config.json atomically.
func writeConfig(home string, c *Config) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(configPath(home), append(b, '\n'), 0o600)
}
