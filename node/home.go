package node

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/libp2p/go-libp2p/core/crypto"
)

// Files and folders inside a node's home.
const (
	identityFile = "identity.key" // libp2p private key (protobuf), mode 0600
	lockFile     = "lock"         // flock'ed while a node runs; holds its pid
	blocksDir    = "blocks"       // flatfs: one file per encrypted block, from before packs (read, never written)
	packsDir     = "packs"        // encrypted blocks in append-only packs (internal/packds)
	datastoreDir = "datastore"    // leveldb: pins, heads, card pointers
	homeDirPerm  = 0o700
	secretPerm   = 0o600
	// HOME/api and HOME/api.token, the local API's address and token,
	// are written by baluchon/api.
)

// ErrInitialised is returned by Init on a home that already holds a node.
var ErrInitialised = errors.New("this home already holds a baluchon node")

// ErrNotInitialised is returned when a home holds no node yet.
var ErrNotInitialised = errors.New("this home holds no baluchon node yet")

// InitOptions are the choices made when a home is created.
type InitOptions struct {
	// Config is written to HOME/config.json. Nil means all defaults.
	Config *Config
	// Identity is the node's libp2p key. Nil means a new random Ed25519
	// key (testnet passes keys derived from a seed).
	Identity crypto.PrivKey
	// KeyPassphrase, when not empty, protects the node's keys (see
	// keyfile.go): Start then needs it.
	KeyPassphrase string
}

// IsInitialised reports whether home holds a node.
func IsInitialised(home string) bool {
	_, err := os.Stat(configPath(home))
	return err == nil
}

// Init creates a node's home: its identity, its config and its datastore
// folders. The config is written last, so an interrupted Init can simply be
// run again. On a home that is already initialised it returns
// ErrInitialised and changes nothing.
func Init(home string, opts InitOptions) error {
	if IsInitialised(home) {
		return fmt.Errorf("%s: %w", home, ErrInitialised)
	}
	cfg := &Config{}
	if opts.Config != nil {
		cfg = opts.Config
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	if err := os.MkdirAll(home, homeDirPerm); err != nil {
		return fmt.Errorf("create home: %w", err)
	}
	idName := filepath.Join(home, identityFile)
	if exists, err := fileExists(idName); err == nil && !exists {
		key := opts.Identity
		if key == nil {
			if key, _, err = crypto.GenerateEd25519Key(rand.Reader); err != nil {
				return fmt.Errorf("generate node identity: %w", err)
			}
		}
		b, err := crypto.MarshalPrivateKey(key)
		if err != nil {
			return fmt.Errorf("encode node identity: %w", err)
		}
		if err := writeKeyFile(idName, b, opts.KeyPassphrase); err != nil {
			return fmt.Errorf("write node identity: %w", err)
		}
		if opts.KeyPassphrase != "" {
			kp := newKeyPass(func() (string, error) { return opts.KeyPassphrase, nil })
			if _, err := loadStructureKeyWith(home, kp, opts.KeyPassphrase); err != nil {
				return fmt.Errorf("structure key: %w", err)
			}
		}
	} else if err != nil {
		return err
	}
	for _, d := range []string{blocksDir, packsDir, datastoreDir} {
		if err := os.MkdirAll(filepath.Join(home, d), homeDirPerm); err != nil {
			return fmt.Errorf("create %s: %w", d, err)
		}
	}
	if err := writeHomeFormat(home, HomeFormat); err != nil {
		return err
	}
	if err := writeConfig(home, cfg); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	return nil
}

// loadIdentity reads the node's libp2p key, with the passphrase of kp if
// it is protected.
func loadIdentity(home string, kp *keyPass) (crypto.PrivKey, error) {
	name := filepath.Join(home, identityFile)
	b, err := readKeyFile(name, kp)
	if err != nil {
		return nil, err
	}
	key, err := crypto.UnmarshalPrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("%s is damaged: %w", name, err)
	}
	return key, nil
}

// LockedError says that another node runs on the same home.
type LockedError struct {
	Home string
	PID  int // 0 when unknown
}

func (e *LockedError) Error() string {
	if e.PID > 0 {
		return fmt.Sprintf("a baluchon node is already running on %s (process %d)", e.Home, e.PID)
	}
	return fmt.Sprintf("a baluchon node is already running on %s", e.Home)
}

// errLocked says that another process holds a lock (tryLock, per platform).
var errLocked = errors.New("locked by another process")

// lockHome takes the home's lock, which the kernel releases when the
// process ends, even by kill -9.
func lockHome(home string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(home, lockFile), os.O_RDWR|os.O_CREATE, secretPerm)
	if err != nil {
		return nil, fmt.Errorf("open lock: %w", err)
	}
	if err := tryLock(f); err != nil {
		pid := readPID(f)
		f.Close()
		if errors.Is(err, errLocked) {
			return nil, &LockedError{Home: home, PID: pid}
		}
		return nil, fmt.Errorf("lock home: %w", err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}

func readPID(f *os.File) int {
	b, err := io.ReadAll(io.LimitReader(f, 32))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}
