package node

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"filippo.io/age"
	"github.com/libp2p/go-libp2p/core/peer"

	"baluchon/proto"
)

// A structure's node has, besides its libp2p key, an age identity: the
// structure key. Recovery shares, delegations and recovery approvals are
// sealed to its recipient (age's hybrid post-quantum ML-KEM-768 + X25519),
// which members learn from its signed structure record, with the
// structure's name.
//
//	HOME/structure.key                 the identity, mode 0600
//	/baluchon/structure/<peer id>      the structure records of members

const structureKeyFile = "structure.key"

// loadStructureKeyWith reads the structure key (with the passphrase of kp
// if it is protected), making it on first use, protected by newPass unless
// that is "".
func loadStructureKeyWith(home string, kp *keyPass, newPass string) (*age.HybridIdentity, error) {
	name := filepath.Join(home, structureKeyFile)
	b, err := readKeyFile(name, kp)
	if errors.Is(err, fs.ErrNotExist) {
		id, err := age.GenerateHybridIdentity()
		if err != nil {
			return nil, err
		}
		if err := writeKeyFile(name, []byte(id.String()+"\n"), newPass); err != nil {
			return nil, fmt.Errorf("write structure key: %w", err)
		}
		return id, nil
	}
	if err != nil {
		return nil, err
	}
	id, err := age.ParseHybridIdentity(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("%s is damaged", name)
	}
	return id, nil
}

// Name returns the structure's name ("structure 12D3…" when the config
// gives none).
func (n *Node) Name() string {
	n.cfgMu.Lock()
	name := n.cfg.Name
	n.cfgMu.Unlock()
	if name != "" {
		return name
	}
	id := n.ID().String()
	return "structure " + id[len(id)-6:]
}

// ErrBadName says that a structure name is empty or too long.
var ErrBadName = errors.New("a structure's name has 1 to 100 characters")

// SetName changes the structure's name: it is saved in config.json and
// this node signs a new structure record with it, which the members take
// at their next exchange (the access log and deposits show it).
func (n *Node) SetName(ctx context.Context, name string) error {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 100 {
		return ErrBadName
	}
	n.cfgMu.Lock()
	cfg, err := readConfig(n.home)
	if err == nil {
		cfg.Name = name
		err = writeConfig(n.home, cfg)
	}
	if err == nil {
		n.cfg.Name = name
	}
	n.cfgMu.Unlock()
	if err != nil {
		return fmt.Errorf("save the structure's name: %w", err)
	}
	own, err := proto.SignStructure(n.key, name, n.structKey.Recipient().String(), time.Now())
	if err != nil {
		return err
	}
	return n.addStructures(ctx, []*proto.StructureRecord{own})
}

// startStructure loads the structure key and the known structure records,
// and signs this node's own record.
func (n *Node) startStructure(ctx context.Context) error {
	id := n.structKey
	own, err := proto.SignStructure(n.key, n.Name(), id.Recipient().String(), time.Now())
	if err != nil {
		return err
	}
	n.structures = map[peer.ID]*proto.StructureRecord{}
	res, err := n.store.ldb.Query(ctx, prefixQuery(structurePrefix))
	if err != nil {
		return err
	}
	entries, err := res.Rest()
	if err != nil {
		return err
	}
	var recs []*proto.StructureRecord
	for _, e := range entries {
		if s, err := proto.ParseStructureRecord(e.Value); err == nil {
			recs = append(recs, s)
		}
	}
	recs = append(recs, own)
	return n.addStructures(ctx, recs)
}

// addStructures keeps the newest record of each structure.
func (n *Node) addStructures(ctx context.Context, recs []*proto.StructureRecord) error {
	n.fedMu.Lock()
	defer n.fedMu.Unlock()
	for _, s := range recs {
		if old := n.structures[s.Peer]; old != nil && !s.Time.After(old.Time) {
			continue
		}
		if _, err := age.ParseHybridRecipient(s.Recipient); err != nil {
			continue
		}
		n.structures[s.Peer] = s
		if err := n.store.ldb.Put(ctx, structureKey(s.Peer), s.Marshal()); err != nil {
			return err
		}
	}
	return nil
}

// structure returns the record of a structure, or nil.
func (n *Node) structure(p peer.ID) *proto.StructureRecord {
	n.fedMu.Lock()
	defer n.fedMu.Unlock()
	return n.structures[p]
}

// StructureName returns the name of the structure of node p, as people
// see it: the name in p's structure record, which p's node key signs (so
// no one else can put a name on p's actions), for this node, a current or
// removed member, or any structure outside a federation; otherwise "an
// unknown structure (12D3…)". Names inside sealed payloads (log entries,
// deposit descriptions) are never shown: they are whatever their writer
// put there.
func (n *Node) StructureName(p peer.ID) string {
	if p == n.ID() {
		return n.Name()
	}
	fed, _ := n.Federation()
	if s := n.structure(p); s != nil && s.Name != "" && (fed == "" || n.IsMember(p) || n.wasRemoved(p)) {
		if n.wasRemoved(p) {
			return s.Name + " (removed from the federation)"
		}
		return s.Name
	}
	return "an unknown structure (" + shortPeer(p) + ")"
}

// shortPeer shortens a peer id for people: its start and its end.
func shortPeer(p peer.ID) string {
	id := p.String()
	if len(id) <= 16 {
		return id
	}
	return id[:8] + "…" + id[len(id)-6:]
}

// structureRecipient returns the recipient of node p's structure key.
func (n *Node) structureRecipient(p peer.ID) (age.Recipient, error) {
	s := n.structure(p)
	if s == nil {
		return nil, fmt.Errorf("the key of structure %s is not known here yet: it must be a member of the federation, connected at least once", p)
	}
	return age.ParseHybridRecipient(s.Recipient)
}

func (n *Node) memberSet() *proto.MemberSet {
	ms := &proto.MemberSet{Certs: n.certs(), Removals: n.removals(), Recordings: n.recordings(context.Background())}
	n.fedMu.Lock()
	defer n.fedMu.Unlock()
	for _, s := range n.structures {
		ms.Structures = append(ms.Structures, s)
	}
	return ms
}

// KnowsStructure reports whether this node has the structure record of p.
func (n *Node) KnowsStructure(p peer.ID) bool { return n.structure(p) != nil }
