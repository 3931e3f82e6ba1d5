package web

import (
	"crypto/rand"
	"encoding/base64"
	"slices"
	"sync"
	"time"

	"baluchon/vault"
)

// idleLock is how long an open file stays open without use.
const idleLock = 10 * time.Minute

// openFile is a person's file opened in a session: the card is held here,
// in the server's memory only. The session keeps a random handle to it.
type openFile struct {
	card     *vault.Card
	vault    string // the file number shown for the paper file
	lastUsed time.Time
	// secondLang is the language chosen at registration for the card.
	secondLang string
	// fresh: the card was just made or replaced (its text may be shown).
	fresh bool

	// The documents listed when the file was opened, kept up to date with
	// what this page changes: each Open writes a line in the person's
	// access log, and looking at the list again is not a new access.
	mu        sync.Mutex
	listed    bool
	entries   []vault.Entry
	deposited int // documents deposited without the card, taken in at opening
}

// list returns the documents of the file, if listed.
func (f *openFile) list() ([]vault.Entry, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.entries), f.listed
}

// setList keeps the documents of the file as the node listed them.
func (f *openFile) setList(es []vault.Entry, deposited int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.entries, f.deposited, f.listed = slices.Clone(es), deposited, true
}

// added and removed keep the list up to date.
func (f *openFile) added(e vault.Entry) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.entries = append(f.entries, e)
}

func (f *openFile) removed(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.entries = slices.DeleteFunc(f.entries, func(e vault.Entry) bool { return e.ID == id })
}

// popDeposited returns the documents deposited without the card, once.
func (f *openFile) popDeposited() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.deposited
	f.deposited = 0
	return n
}

// openFiles holds the open files by handle.
type openFiles struct {
	mu    sync.Mutex
	files map[string]*openFile
}

func newOpenFiles() *openFiles { return &openFiles{files: map[string]*openFile{}} }

// put keeps f and returns its new handle.
func (o *openFiles) put(f *openFile) string {
	var b [24]byte
	rand.Read(b[:])
	h := base64.RawURLEncoding.EncodeToString(b[:])
	o.mu.Lock()
	defer o.mu.Unlock()
	o.files[h] = f
	return h
}

// get returns the file of handle if it was used within idleLock, and marks
// it used at now; an idle file is forgotten.
func (o *openFiles) get(h string, now time.Time) (*openFile, bool) {
	if h == "" {
		return nil, false
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	f, ok := o.files[h]
	if !ok {
		return nil, false
	}
	if now.Sub(f.lastUsed) >= idleLock {
		delete(o.files, h)
		return nil, false
	}
	f.lastUsed = now
	return f, true
}

// forget drops the file of handle.
func (o *openFiles) forget(h string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.files, h)
}

// sweep forgets every idle file.
func (o *openFiles) sweep(now time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for h, f := range o.files {
		if now.Sub(f.lastUsed) >= idleLock {
			delete(o.files, h)
		}
	}
}

// clear forgets every file.
func (o *openFiles) clear() {
	o.mu.Lock()
	defer o.mu.Unlock()
	clear(o.files)
}
