package web

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/alexedwards/argon2id"
)

// AccountsFile is where the page keeps the structure's accounts, in the
// node's home (mode 0600, written then renamed).
const AccountsFile = "web-accounts.json"

// minPassword is the shortest password accepted.
const minPassword = 10

// Account is a person who logs in to the page.
type Account struct {
	Name    string    `json:"name"`
	Hash    string    `json:"hash"` // argon2id
	Admin   bool      `json:"admin,omitempty"`
	Created time.Time `json:"created"`
}

type accountsData struct {
	Structure string    `json:"structure"`
	Accounts  []Account `json:"accounts"`
}

// accounts is the accounts file, loaded in memory.
type accounts struct {
	path string
	mu   sync.Mutex
	d    accountsData
}

var (
	errNoAccount     = errors.New("no such account")
	errAccountExists = errors.New("account exists")
	errWeakPassword  = errors.New("password too short")
	errBadName       = errors.New("bad account name")
	errLastAdmin     = errors.New("the last admin cannot be removed")
)

// dummyHash is compared when an account does not exist, so that a wrong
// name takes as long as a wrong password.
var dummyHash, _ = argon2id.CreateHash("baluchon-no-such-account", argon2id.DefaultParams)

func loadAccounts(home string) (*accounts, error) {
	a := &accounts{path: filepath.Join(home, AccountsFile)}
	b, err := os.ReadFile(a.path)
	if errors.Is(err, fs.ErrNotExist) {
		return a, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read accounts: %w", err)
	}
	if err := json.Unmarshal(b, &a.d); err != nil {
		return nil, fmt.Errorf("%s is damaged: %w", a.path, err)
	}
	return a, nil
}

// empty reports whether no account exists yet (the first visit).
func (a *accounts) empty() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.d.Accounts) == 0
}

func (a *accounts) structure() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.d.Structure
}

func (a *accounts) list() []Account {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.d.Accounts)
}

func (a *accounts) get(name string) (Account, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, ac := range a.d.Accounts {
		if strings.EqualFold(ac.Name, name) {
			return ac, true
		}
	}
	return Account{}, false
}

func checkName(name string) error {
	if name == "" || utf8.RuneCountInString(name) > 64 || strings.ContainsAny(name, "\x00\r\n\t") {
		return errBadName
	}
	return nil
}

// setup creates the admin account and records the structure's name; it
// fails once any account exists.
func (a *accounts) setup(structure, name, password string, now time.Time) error {
	h, err := hashFor(name, password)
	if err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.d.Accounts) > 0 {
		return errAccountExists
	}
	d := accountsData{Structure: structure, Accounts: []Account{{Name: name, Hash: h, Admin: true, Created: now}}}
	if err := a.save(d); err != nil {
		return err
	}
	a.d = d
	return nil
}

func hashFor(name, password string) (string, error) {
	if err := checkName(name); err != nil {
		return "", err
	}
	if utf8.RuneCountInString(password) < minPassword {
		return "", errWeakPassword
	}
	h, err := argon2id.CreateHash(password, argon2id.DefaultParams)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return h, nil
}

// add adds a social worker's account.
func (a *accounts) add(name, password string, now time.Time) error {
	h, err := hashFor(name, password)
	if err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, ac := range a.d.Accounts {
		if strings.EqualFold(ac.Name, name) {
			return errAccountExists
		}
	}
	d := a.d
	d.Accounts = append(slices.Clone(a.d.Accounts), Account{Name: name, Hash: h, Created: now})
	if err := a.save(d); err != nil {
		return err
	}
	a.d = d
	return nil
}

// remove removes an account; the last admin stays.
func (a *accounts) remove(name string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	i := slices.IndexFunc(a.d.Accounts, func(ac Account) bool { return strings.EqualFold(ac.Name, name) })
	if i < 0 {
		return errNoAccount
	}
	if a.d.Accounts[i].Admin {
		admins := 0
		for _, ac := range a.d.Accounts {
			if ac.Admin {
				admins++
			}
		}
		if admins == 1 {
			return errLastAdmin
		}
	}
	d := a.d
	d.Accounts = slices.Delete(slices.Clone(a.d.Accounts), i, i+1)
	if err := a.save(d); err != nil {
		return err
	}
	a.d = d
	return nil
}

// check returns the account if password is its password.
func (a *accounts) check(name, password string) (Account, bool) {
	ac, ok := a.get(name)
	h := ac.Hash
	if !ok {
		h = dummyHash
	}
	match, err := argon2id.ComparePasswordAndHash(password, h)
	if err != nil || !match || !ok {
		return Account{}, false
	}
	return ac, true
}

// save writes d to the file: a temporary file, synced, then renamed.
func (a *accounts) save(d accountsData) error {
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(a.path), ".web-accounts-*")
	if err != nil {
		return fmt.Errorf("write accounts: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("write accounts: %w", err)
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("write accounts: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write accounts: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write accounts: %w", err)
	}
	if err := os.Rename(tmp.Name(), a.path); err != nil {
		return fmt.Errorf("write accounts: %w", err)
	}
	return nil
}

// NeedsSetup reports whether the page in home has no account yet: its
// first visit will create the admin account.
func NeedsSetup(home string) bool {
	a, err := loadAccounts(home)
	return err == nil && a.empty()
}

// NewSetupCode makes a code for the first visit (see Config.SetupCode).
func NewSetupCode() string {
	const digits = "0123456789"
	b := make([]byte, 9)
	rand.Read(b)
	for i := range b {
		b[i] = digits[int(b[i])%len(digits)]
	}
	return string(b[:3]) + "-" + string(b[3:6]) + "-" + string(b[6:])
}
