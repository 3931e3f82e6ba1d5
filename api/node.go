package api

import (
	"context"
	"io"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"baluchon/node"
	"baluchon/proto"
	"baluchon/vault"
)

// Node is what the local API asks of a node: the domain operations of
// *node.Node it serves, grouped by feature. Tests give the server a fake
// (fake_test.go); a fake that embeds Node need only write the methods a
// test calls.
type Node interface {
	NetworkOps
	CardOps
	DocumentOps
	RecoveryOps
	DelegationOps
	DepositOps
	FederationOps
	TransferOps
	TrashOps
}

// NetworkOps are the node itself on the network: identity, peers,
// pairing, health (peers.go).
type NetworkOps interface {
	ID() peer.ID
	Addrs() []ma.Multiaddr
	MaxDocumentBytes() int64
	Connect(ctx context.Context, addr string, remember bool) (peer.ID, error)
	Peers() []ma.Multiaddr
	PairingCode() *proto.Code
	Pair(ctx context.Context, code *proto.Code) error
	Status(ctx context.Context) (*node.Status, error)
	GC(ctx context.Context) (*node.GCResult, error)
}

// CardOps are the operations on a person's card (cards.go).
type CardOps interface {
	Register(ctx context.Context, opts node.CreateOptions) (*node.Created, error)
	StructureName(p peer.ID) string
	Replace(ctx context.Context, card *vault.Card) (*vault.Card, vault.VaultID, error)
	Rotate(ctx context.Context, card *vault.Card) (vault.VaultID, error)
	ContentIdentity(ctx context.Context, card *vault.Card) (string, error)
	AccessLog(ctx context.Context, card *vault.Card) ([]node.LogLine, error)
}

// DocumentOps are the documents of a vault opened by its card
// (documents.go).
type DocumentOps interface {
	Add(ctx context.Context, card *vault.Card, r io.Reader, meta node.DocMeta) (vault.Entry, error)
	AddBatch(ctx context.Context, card *vault.Card, each func(add node.AddFunc) error) ([]vault.Entry, error)
	Open(ctx context.Context, card *vault.Card) (*node.Opened, error)
	List(ctx context.Context, card *vault.Card) (vault.VaultID, []vault.Entry, error)
	Get(ctx context.Context, card *vault.Card, id string) (*node.Document, error)
	GetRaw(ctx context.Context, card *vault.Card, id string) (*node.Document, error)
	GetMany(ctx context.Context, card *vault.Card, ids []string, each func(*node.Document) error) error
}

// RecoveryOps are a lost card's recovery by the guardians (recovery.go).
type RecoveryOps interface {
	RecoveryStart(ctx context.Context, v vault.VaultID) (*node.RecoveryRequest, error)
	RecoveryRequests(ctx context.Context) ([]node.RecoveryRequest, error)
	RecoveryApprove(ctx context.Context, id string, from peer.ID) error
	RecoveryFinish(ctx context.Context, id string) (*vault.Card, vault.VaultID, error)
}

// DelegationOps let a structure read a vault without its card
// (delegations.go).
type DelegationOps interface {
	Delegate(ctx context.Context, card *vault.Card, opts node.DelegateOptions) (string, error)
	Delegations(ctx context.Context, card *vault.Card) ([]node.DelegationInfo, error)
	RevokeDelegation(ctx context.Context, card *vault.Card, id string) error
	DelegatedList(ctx context.Context, v vault.VaultID) ([]vault.Entry, error)
	DelegatedGet(ctx context.Context, v vault.VaultID, id string) (*node.Document, error)
}

// DepositOps put documents in a vault without its card (deposits.go).
type DepositOps interface {
	Deposit(ctx context.Context, v vault.VaultID, r io.Reader, meta node.DepositMetaIn) (string, error)
	PendingDeposits(ctx context.Context, v vault.VaultID) ([]node.PendingDeposit, error)
}

// FederationOps are the node's federation of structures (federation.go).
type FederationOps interface {
	Invite(ctx context.Context) (*proto.Code, error)
	JoinFederation(ctx context.Context, code *proto.Code) (peer.ID, error)
	Federation() (peer.ID, []peer.ID)
	Removed() []peer.ID
	RemoveMember(ctx context.Context, p peer.ID) error
}

// TransferOps are the exports and imports of CAR files, as on a USB
// stick (usb.go).
type TransferOps interface {
	PlanExportVault(ctx context.Context, card *vault.Card) (*node.ExportPlan, error)
	PlanExportAll(ctx context.Context) (*node.ExportPlan, error)
	WriteExport(ctx context.Context, p *node.ExportPlan, w io.Writer, progress func(done int64)) error
	Import(ctx context.Context, r io.Reader, progress func(read int64)) (*node.ImportResult, error)
}

// TrashOps are the trash of deleted documents (trash.go).
type TrashOps interface {
	Remove(ctx context.Context, card *vault.Card, id string) error
	Trash(ctx context.Context, card *vault.Card) ([]node.TrashItem, error)
	Restore(ctx context.Context, card *vault.Card, id string) (vault.Entry, error)
}

var _ Node = (*node.Node)(nil)
