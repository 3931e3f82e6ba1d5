package node

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	ma "github.com/multiformats/go-multiaddr"
)

// Config is a node's settings, kept in HOME/config.json. Zero fields take
// the defaults documented on each field.
type Config struct {
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
}

// Defaults.
const (
	DefaultMaxDocumentBytes = 100_000_000
	DefaultAPI              = "127.0.0.1:0"
	DefaultMemoryLimit      = 128 << 20
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
	if c.MaxDocumentBytes < 0 {
		return errors.New("max_document_bytes must not be negative")
	}
	if c.MemoryLimit < 0 {
		return errors.New("memory_limit must not be negative")
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
	return writeFileAtomic(configPath(home), append(b, '\n'), 0o600)
}

// writeFileAtomic writes data to a temporary file in the same directory,
// syncs it, and renames it over name.
func writeFileAtomic(name string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(name)
	f, err := os.CreateTemp(dir, "."+filepath.Base(name)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, name); err != nil {
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
