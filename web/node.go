package web

import (
	"context"
	"io"

	"github.com/libp2p/go-libp2p/core/peer"

	"baluchon/node"
	"baluchon/proto"
	"baluchon/vault"
)

// Node is what the page needs of a baluchon node: the operations a social
// worker does with a person's card, and the node's health for the admin.
// *node.Node implements it; tests use a fake.
type Node interface {
	// Register makes a new person's file and its card.
	Register(ctx context.Context, opts node.CreateOptions) (*node.Created, error)
	// Open opens the file of card and lists its documents.
	Open(ctx context.Context, card *vault.Card) (*node.Opened, error)
	// Add stores a document read from r in the file of card.
	Add(ctx context.Context, card *vault.Card, r io.Reader, meta node.DocMeta) (vault.Entry, error)
	// AddBatch stores several documents in the file of card as one change:
	// each calls add once per document (see node.AddBatch).
	AddBatch(ctx context.Context, card *vault.Card, each func(add node.AddFunc) error) ([]vault.Entry, error)
	// Get returns the plaintext of a document.
	Get(ctx context.Context, card *vault.Card, id string) (*node.Document, error)
	// GetMany gives each document of ids (every one when ids is empty)
	// to each in turn, in one card session (see node.GetMany).
	GetMany(ctx context.Context, card *vault.Card, ids []string, each func(*node.Document) error) error
	// Remove puts a document in the trash (kept 30 days).
	Remove(ctx context.Context, card *vault.Card, id string) error
	// Trash lists the documents in the trash.
	Trash(ctx context.Context, card *vault.Card) ([]node.TrashItem, error)
	// Restore takes a document out of the trash.
	Restore(ctx context.Context, card *vault.Card, id string) (vault.Entry, error)
	// Replace gives the person a new card; the old one stops working.
	Replace(ctx context.Context, card *vault.Card) (*vault.Card, vault.VaultID, error)
	// AccessLog lists who did what with the file, oldest first.
	AccessLog(ctx context.Context, card *vault.Card) ([]node.LogLine, error)
	// Deposit stores a document in a person's file without the card (mail
	// received for them), by the file number; they take it in when they
	// next show their card.
	Deposit(ctx context.Context, v vault.VaultID, r io.Reader, meta node.DepositMetaIn) (string, error)
	// A lost card: RecoveryStart asks the file's guardians (by the file
	// number); RecoveryRequests is the inbox of requests naming this
	// structure as a guardian; RecoveryApprove approves one (from: the
	// requester); RecoveryFinish gives the new card once enough approved.
	RecoveryStart(ctx context.Context, v vault.VaultID) (*node.RecoveryRequest, error)
	RecoveryRequests(ctx context.Context) ([]node.RecoveryRequest, error)
	RecoveryApprove(ctx context.Context, id string, from peer.ID) error
	RecoveryFinish(ctx context.Context, id string) (*vault.Card, vault.VaultID, error)
	// PlanExportVault and WriteExport copy a person's file (and the files
	// its card replaced) to a CAR file, for a USB stick.
	PlanExportVault(ctx context.Context, card *vault.Card) (*node.ExportPlan, error)
	WriteExport(ctx context.Context, p *node.ExportPlan, w io.Writer, progress func(done int64)) error
	// Import takes in a CAR file made by an export; a refused file
	// stores nothing (*node.ImportError).
	Import(ctx context.Context, r io.Reader, progress func(read int64)) (*node.ImportResult, error)
	// The network, for the admin: this node's federation and its members;
	// a pairing code (connect and remember), an invitation into the
	// federation (one node, a few days), and joining with either.
	Federation() (peer.ID, []peer.ID)
	PairingCode() *proto.Code
	Pair(ctx context.Context, code *proto.Code) error
	Invite(ctx context.Context) (*proto.Code, error)
	JoinFederation(ctx context.Context, code *proto.Code) (peer.ID, error)
	// Status is the node's health, for the admin page.
	Status(ctx context.Context) (*node.Status, error)
	// StructureName names a member structure by its node's id.
	StructureName(p peer.ID) string
	// SetName changes the structure's name, which the other structures show.
	SetName(ctx context.Context, name string) error
	// MaxDocumentBytes is the largest document the node accepts.
	MaxDocumentBytes() int64

	// The people this structure follows (follow.go). Follow, with the
	// card, gives this structure a delegation and records the name and
	// birth date the workers know the person by; FollowedPeople searches
	// that list by name (case and accents ignored); FollowedPerson returns
	// one; Unfollow stops following (card not nil: the delegation is
	// revoked; nil: the person is only forgotten here).
	Follow(ctx context.Context, card *vault.Card, opts node.FollowOptions) (*node.Followed, error)
	FollowedPeople(ctx context.Context, query string) ([]node.Followed, error)
	FollowedPerson(ctx context.Context, id string) (*node.Followed, error)
	Unfollow(ctx context.Context, card *vault.Card, id string) error
	// DelegatedList and DelegatedGet open, without the card, the
	// documents a delegation lets this structure open.
	DelegatedList(ctx context.Context, v vault.VaultID) ([]vault.Entry, error)
	DelegatedGet(ctx context.Context, v vault.VaultID, id string) (*node.Document, error)
	// Delegations of a file, with the card: the list, one given to a
	// member structure, one revoked.
	Delegations(ctx context.Context, card *vault.Card) ([]node.DelegationInfo, error)
	Delegate(ctx context.Context, card *vault.Card, opts node.DelegateOptions) (string, error)
	RevokeDelegation(ctx context.Context, card *vault.Card, id string) error
	// SetPrivate marks a document private (no delegation covers it) or
	// shares it again, with the card.
	SetPrivate(ctx context.Context, card *vault.Card, id string, private bool) error
	// ID is this node's id (the structure itself, left out of the
	// structures a file can be shared with).
	ID() peer.ID
}

// Cards prints cards and reads them from photos (package cardprint
// implements it; the page works without: no PDF link, no photo form).
type Cards interface {
	// CardPDF writes the printable card: QR code, text key, the
	// structure's name, sentences in French and in secondLang.
	CardPDF(w io.Writer, card *vault.Card, structureName, secondLang string) error
	// ReadCardPhoto returns the card text of the QR code in a photo.
	ReadCardPhoto(r io.Reader) (string, error)
}
