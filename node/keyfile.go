package node

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"filippo.io/age"

	"baluchon/internal/atomicfile"
)

// The node's two secret keys live in its home: the libp2p identity
// (identity.key: it proves the node is this member of the federation) and
// the structure key (structure.key: it opens the recovery shares,
// delegations and approvals sealed to this structure). By default they are
// in clear, protected by file modes only. A structure can protect them with
// a passphrase: each file is then a standard age file encrypted with scrypt
// (`age -d` opens it with the passphrase), and the node asks for the
// passphrase when it starts (Options.KeyPassphrase).

// ErrKeyLocked says that the node's keys are protected by a passphrase and
// none was given.
var ErrKeyLocked = errors.New("the node's keys are protected by a passphrase, and none was given")

// ErrWrongPassphrase says that a passphrase does not open the node's keys.
var ErrWrongPassphrase = errors.New("the passphrase does not open the node's keys")

// keyWorkFactor is the scrypt work factor of protected key files: 2^16,
// 64 MiB of memory and a fraction of a second on a Raspberry Pi, once at
// start.
const keyWorkFactor = 16

// maxKeyFile bounds a key file.
const maxKeyFile = 64 << 10

// ageMagic starts every age file.
var ageMagic = []byte("age-encryption.org/v1\n")

// keyPass asks for the passphrase at most once, when a protected key file
// is read.
type keyPass struct {
	get  func() (string, error)
	once sync.Once
	pass string
	err  error
}

func newKeyPass(get func() (string, error)) *keyPass { return &keyPass{get: get} }

func (k *keyPass) passphrase() (string, error) {
	if k == nil || k.get == nil {
		return "", ErrKeyLocked
	}
	k.once.Do(func() {
		k.pass, k.err = k.get()
		if k.err == nil && k.pass == "" {
			k.err = ErrKeyLocked
		}
	})
	return k.pass, k.err
}

// readKeyFile reads a key file, decrypting it if it is protected.
func readKeyFile(name string, kp *keyPass) ([]byte, error) {
	b, err := readSmall(name)
	if err != nil || !bytes.HasPrefix(b, ageMagic) {
		return b, err
	}
	pass, err := kp.passphrase()
	if err != nil {
		return nil, err
	}
	return decryptKey(name, b, pass)
}

func readSmall(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxKeyFile {
		return nil, fmt.Errorf("%s is too large to be a key", name)
	}
	return b, nil
}

func decryptKey(name string, b []byte, pass string) ([]byte, error) {
	id, err := age.NewScryptIdentity(pass)
	if err != nil {
		return nil, ErrKeyLocked
	}
	id.SetMaxWorkFactor(22)
	r, err := age.Decrypt(bytes.NewReader(b), id)
	if _, ok := errors.AsType[*age.NoIdentityMatchError](err); ok || errors.Is(err, age.ErrIncorrectIdentity) {
		return nil, ErrWrongPassphrase
	}
	if err != nil {
		return nil, fmt.Errorf("%s is damaged: %w", name, err)
	}
	out, err := io.ReadAll(io.LimitReader(r, maxKeyFile))
	if err != nil {
		return nil, fmt.Errorf("%s is damaged: %w", name, err)
	}
	return out, nil
}

// writeKeyFile writes a key file atomically: encrypted with pass, or in
// clear when pass is "".
func writeKeyFile(name string, data []byte, pass string) error {
	if pass != "" {
		r, err := age.NewScryptRecipient(pass)
		if err != nil {
			return err
		}
		r.SetWorkFactor(keyWorkFactor)
		var buf bytes.Buffer
		w, err := age.Encrypt(&buf, r)
		if err != nil {
			return err
		}
		if _, err := w.Write(data); err != nil {
			return err
		}
		if err := w.Close(); err != nil {
			return err
		}
		data = buf.Bytes()
	}
	return atomicfile.Write(name, data, secretPerm)
}

func keyFiles(home string) []string {
	return []string{filepath.Join(home, identityFile), filepath.Join(home, structureKeyFile)}
}

// KeysProtected reports whether the node's keys in home are protected by
// a passphrase.
func KeysProtected(home string) (bool, error) {
	b, err := readSmall(filepath.Join(home, identityFile))
	if err != nil {
		return false, err
	}
	return bytes.HasPrefix(b, ageMagic), nil
}

// ProtectKeys encrypts the node's keys in home with passphrase. The node
// must not be running. It changes nothing when it fails.
func ProtectKeys(home, passphrase string) error {
	return rewriteKeys(home, "", passphrase)
}

// UnprotectKeys writes the node's keys in home back in clear. The node
// must not be running. A wrong passphrase gives ErrWrongPassphrase and
// changes nothing.
func UnprotectKeys(home, passphrase string) error {
	return rewriteKeys(home, passphrase, "")
}

// rewriteKeys reads every key file with the passphrase from (none: they
// must be in clear) and writes them with the passphrase to.
func rewriteKeys(home, from, to string) error {
	if !IsInitialised(home) {
		return fmt.Errorf("%s: %w", home, ErrNotInitialised)
	}
	if _, err := checkHomeFormat(home); err != nil {
		return err
	}
	lock, err := lockHome(home)
	if err != nil {
		return err
	}
	defer lock.Close()
	if from == "" && to == "" {
		return errors.New("no passphrase given")
	}
	// Make the structure key now if the node never ran, so that it is
	// born protected.
	kp := newKeyPass(func() (string, error) { return from, nil })
	if _, err := loadStructureKeyWith(home, kp, from); err != nil {
		return err
	}
	plain := map[string][]byte{}
	for _, name := range keyFiles(home) {
		b, err := readSmall(name)
		if err != nil {
			return err
		}
		switch protected := bytes.HasPrefix(b, ageMagic); {
		case from == "" && protected:
			return errors.New("the node's keys are already protected by a passphrase")
		case from != "" && !protected:
			return errors.New("the node's keys are not protected by a passphrase")
		case protected:
			if b, err = decryptKey(name, b, from); err != nil {
				return err
			}
		}
		plain[name] = b
	}
	for _, name := range keyFiles(home) {
		if err := writeKeyFile(name, plain[name], to); err != nil {
			return fmt.Errorf("write %s: %w", filepath.Base(name), err)
		}
	}
	return nil
}

// fileExists reports whether name exists.
func fileExists(name string) (bool, error) {
	_, err := os.Stat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}
