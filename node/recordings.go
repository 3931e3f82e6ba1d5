package node

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	ds "github.com/ipfs/go-datastore"
	"github.com/libp2p/go-libp2p/core/peer"

	"baluchon/proto"
)

// Recordings: the spoken texts of the person's view that a structure's
// interpreter recorded in the page (proto.RecordRecording). A recording
// made here is signed with the node's key, kept, and sent to the members
// in the member set, as structure records are; a node keeps the newest
// recording of each language and message whose author is a current member
// (or itself), so that one recording serves the whole federation.
//
//	/baluchon/recording/<lang>/<key>   the newest recording (proto.Record)

// MaxRecordingBytes bounds the audio of one recording.
const MaxRecordingBytes = proto.MaxRecordingAudio

// maxKeptRecordings bounds the recordings a node keeps (languages ×
// messages): a member cannot fill the disk with made-up keys.
const maxKeptRecordings = 1024

// ErrBadRecording says that a recording was refused: an unknown audio
// type, an empty or too long recording.
var ErrBadRecording = errors.New("this recording cannot be kept: it must be audio (webm, ogg or mp4) of at most 40 kB (about 20 seconds)")

// Recording is a spoken text recorded at a structure.
type Recording struct {
	Lang, Key, MIME string
	Audio           []byte
	Author          peer.ID // the node of the structure that recorded it
	Time            time.Time
}

var recordingPrefix = ds.NewKey("/baluchon/recording")

func recordingKey(lang, key string) ds.Key { return recordingPrefix.ChildString(lang).ChildString(key) }

// Record keeps a recording made at this structure and sends it to the
// members of the federation.
func (n *Node) Record(ctx context.Context, lang, key, mime string, audio []byte) error {
	r, err := proto.SignRecording(n.key, &proto.Recording{Lang: lang, Key: key, MIME: mime, Audio: audio}, time.Now())
	if err != nil {
		return fmt.Errorf("%w (%v)", ErrBadRecording, err)
	}
	if _, err := n.keepRecording(ctx, r); err != nil {
		return fmt.Errorf("keep recording: %w", err)
	}
	n.goBackground(func(ctx context.Context) {
		// Members read it on the federation's topic (one message, the
		// size of one recording); connected members not on the topic yet
		// get it in a member exchange.
		n.publishRecording(ctx, r)
		n.pushMembers(ctx)
	})
	return nil
}

// Recording returns the newest recording of key in lang whose author is
// this node or a current member.
func (n *Node) Recording(lang, key string) (*Recording, bool) {
	b, err := n.store.ldb.Get(context.Background(), recordingKey(lang, key))
	if err != nil {
		return nil, false
	}
	r, err := proto.ParseRecord(b)
	if err != nil || !n.acceptsRecording(r.Author) {
		return nil, false
	}
	rec, err := proto.ParseRecording(r)
	if err != nil || rec.Lang != lang || rec.Key != key {
		return nil, false
	}
	return &Recording{Lang: rec.Lang, Key: rec.Key, MIME: rec.MIME, Audio: rec.Audio, Author: r.Author, Time: r.Time}, true
}

// acceptsRecording reports whether recordings written by p are kept:
// this node's, and the current members'.
func (n *Node) acceptsRecording(p peer.ID) bool {
	if p == n.ID() {
		return true
	}
	fed, _ := n.Federation()
	return fed != "" && n.IsMember(p)
}

// keepRecording keeps r if it is a recording by an accepted author and
// newer than the one kept for its language and message.
func (n *Node) keepRecording(ctx context.Context, r *proto.Record) (bool, error) {
	rec, err := proto.ParseRecording(r)
	if err != nil || !n.acceptsRecording(r.Author) {
		return false, nil
	}
	n.recMu.Lock()
	defer n.recMu.Unlock()
	k := recordingKey(rec.Lang, rec.Key)
	switch old, err := n.store.ldb.Get(ctx, k); {
	case err == nil:
		if o, err := proto.ParseRecord(old); err == nil && !r.Time.After(o.Time) {
			return false, nil
		}
	case errors.Is(err, ds.ErrNotFound):
		res, err := n.store.ldb.Query(ctx, dsqKeysOnly(recordingPrefix))
		if err != nil {
			return false, err
		}
		all, err := res.Rest()
		if err != nil {
			return false, err
		}
		if len(all) >= maxKeptRecordings {
			return false, nil
		}
	default:
		return false, err
	}
	if err := n.store.ldb.Put(ctx, k, r.Marshal()); err != nil {
		return false, err
	}
	return true, n.store.ldb.Sync(ctx, k)
}

// takeRecordings keeps the recordings of a member set.
func (n *Node) takeRecordings(ctx context.Context, from peer.ID, rs []*proto.Record) {
	for _, r := range rs {
		if _, err := n.keepRecording(ctx, r); err != nil {
			n.log.Debug("recording from peer", "peer", from, "err", err)
		}
	}
}

// recordings returns the newest MaxSetRecordings recordings kept here,
// for the member set.
func (n *Node) recordings(ctx context.Context) []*proto.Record {
	res, err := n.store.ldb.Query(ctx, prefixQuery(recordingPrefix))
	if err != nil {
		return nil
	}
	entries, err := res.Rest()
	if err != nil {
		return nil
	}
	var out []*proto.Record
	for _, e := range entries {
		if r, err := proto.ParseRecord(e.Value); err == nil && r.Kind == proto.RecordRecording && n.acceptsRecording(r.Author) {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b *proto.Record) int { return b.Time.Compare(a.Time) })
	if len(out) > proto.MaxSetRecordings {
		out = out[:proto.MaxSetRecordings]
	}
	return out
}
