package vault

import (
	"errors"
	"slices"
	"time"

	"filippo.io/age"
)

// MaxLogEntrySize bounds a sealed access-log entry.
const MaxLogEntrySize = 8 << 10

// logDocsBytes bounds what the document ids of one entry weigh in its
// JSON: with the other fields at their bounds and the age header, a
// sealed entry stays under MaxLogEntrySize (TestLogEntriesFit).
const logDocsBytes = 3 << 10

// maxLogEntryDocs bounds the documents one entry names (DocID and Docs):
// an entry is a line per document to whoever reads the log, so a short
// entry must not make thousands of them.
const maxLogEntryDocs = 256

// Actions of the access log.
const (
	ActionCreate     = "create"
	ActionOpen       = "open"
	ActionList       = "list"
	ActionAdd        = "add"
	ActionGet        = "get"
	ActionDeposit    = "deposit"
	ActionDelegate   = "delegate"
	ActionUndelegate = "revoke-delegation"
	ActionReplace    = "replace-card"
	ActionRecover    = "recover"
	ActionRotate     = "rotate"
	ActionExport     = "export"
	ActionDelete     = "delete"
	ActionRestore    = "restore"
)

// LogEntry is one line of a vault's access log: who did what, when, or
// several lines that differ only by their document (a batch's adds, a
// download of many documents): DocID is the first document, Docs the
// others. It is sealed to the vault's content recipient by the node that
// did it, so that only the person (or a worker with the card) reads it.
type LogEntry struct {
	Time      time.Time `json:"time"`
	Actor     string    `json:"actor"`      // peer id of the node
	ActorName string    `json:"actor_name"` // the structure's name
	Action    string    `json:"action"`
	DocID     string    `json:"doc,omitempty"`
	Note      string    `json:"note,omitempty"`
	Docs      []string  `json:"docs,omitempty"` // more documents, after DocID
}

// DocIDs returns the documents the entry names: DocID, then Docs.
func (e *LogEntry) DocIDs() []string {
	if e.DocID == "" {
		return nil
	}
	return append([]string{e.DocID}, e.Docs...)
}

// LogEntries returns the entries that say e of each document of ids, as
// few as fit in sealed entries of at most MaxLogEntrySize: e with DocID
// and Docs set, one entry per group of ids in their order. It returns
// none when ids is empty.
func LogEntries(e LogEntry, ids []string) []*LogEntry {
	var out []*LogEntry
	for len(ids) > 0 {
		k, size := 1, len(ids[0])+3
		for k < len(ids) && k < maxLogEntryDocs && size+len(ids[k])+3 <= logDocsBytes {
			size += len(ids[k]) + 3
			k++
		}
		g := e
		g.DocID, g.Docs = ids[0], slices.Clone(ids[1:k])
		if len(g.Docs) == 0 {
			g.Docs = nil
		}
		out = append(out, &g)
		ids = ids[k:]
	}
	return out
}

// Seal encrypts the entry to the vault's content recipient.
func (e *LogEntry) Seal(r age.Recipient) ([]byte, error) {
	return sealJSON(e, r)
}

// OpenLogEntry decrypts an entry with the vault's content identity.
func OpenLogEntry(data []byte, id age.Identity) (*LogEntry, error) {
	var e LogEntry
	if err := openJSON("log entry", data, MaxLogEntrySize, &e, id); err != nil {
		return nil, err
	}
	if !fitsJSON(e.Time) || checkText(e.Actor, 100) != nil || checkText(e.ActorName, maxTitle) != nil ||
		checkText(e.Action, 40) != nil || (e.DocID != "" && checkDocID(e.DocID) != nil) || checkText(e.Note, maxTitle) != nil ||
		(e.DocID == "" && len(e.Docs) > 0) || 1+len(e.Docs) > maxLogEntryDocs {
		return nil, errors.New("open log entry: malformed")
	}
	for _, id := range e.Docs {
		if checkDocID(id) != nil {
			return nil, errors.New("open log entry: malformed")
		}
	}
	return &e, nil
}

// DepositMeta is what a structure says of a document it deposits without
// the card. It is sealed to the vault's content recipient: the depositor
// cannot read it back, nor anything else of the vault.
type DepositMeta struct {
	Title     string    `json:"title,omitempty"`
	Category  string    `json:"category,omitempty"`
	FileName  string    `json:"file_name,omitempty"`
	MIME      string    `json:"mime,omitempty"`
	Size      int64     `json:"size"`
	By        string    `json:"by"`    // the depositing structure's name
	ByPeer    string    `json:"by_id"` // its node's peer id
	Deposited time.Time `json:"deposited"`
}

// MaxDepositMetaSize bounds sealed deposit metadata.
const MaxDepositMetaSize = 8 << 10

// Seal encrypts the metadata to the vault's content recipient.
func (d *DepositMeta) Seal(r age.Recipient) ([]byte, error) {
	return sealJSON(d, r)
}

// OpenDepositMeta decrypts deposit metadata with the vault's identity.
func OpenDepositMeta(data []byte, id age.Identity) (*DepositMeta, error) {
	var d DepositMeta
	if err := openJSON("deposit", data, MaxDepositMetaSize, &d, id); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		s   string
		max int
	}{{d.Title, maxTitle}, {d.Category, maxCategory}, {d.FileName, 255}, {d.MIME, 255}, {d.By, maxTitle}, {d.ByPeer, 100}} {
		if checkText(f.s, f.max) != nil {
			return nil, errors.New("open deposit: malformed")
		}
	}
	if d.Size < 0 || !fitsJSON(d.Deposited) {
		return nil, errors.New("open deposit: malformed")
	}
	return &d, nil
}
