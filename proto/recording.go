package proto

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"

	"baluchon/vault"
)

// A recording is a spoken text of the person's view (a category, the
// card's explanation) that a structure's interpreter recorded, so that the
// people who read neither French nor any language espeak-ng speaks hear
// it at every node. It is a vault record (see Record) of kind
// RecordRecording whose vault id is all zeros (it belongs to no vault),
// signed by the node of the structure that made it:
//
//	payload: lang (bytes, ≤ 16: BCP 47 letters, digits and '-') ‖
//	         key (bytes, ≤ 64: a-z, 0-9, '_') ‖
//	         MIME type (bytes: audio/webm, audio/ogg or audio/mp4) ‖
//	         audio (bytes, ≤ MaxRecordingAudio)
//
// Recordings travel in the member set (/baluchon/members/1.0.0), as the
// structure records do: at most MaxSetRecordings in a set, the newest
// first; a node keeps the newest recording of each language and key
// written by a current member. Known-answer file: testdata/recording.hex.

// RecordRecording is the kind of a recording.
const RecordRecording = 6

// Limits of recordings.
const (
	// MaxRecordingAudio bounds the audio of one recording: about 20 s of
	// Opus at 16 kbit/s.
	MaxRecordingAudio = 40 << 10
	// MaxSetRecordings bounds the recordings of one member set.
	MaxSetRecordings = 96
	maxRecordingLang = 16
	maxRecordingKey  = 64
)

// RecordingMIMEs are the audio types a recording may have: what browsers'
// MediaRecorder writes, and espeak-ng files.
var RecordingMIMEs = []string{"audio/webm", "audio/ogg", "audio/mp4"}

// Recording is the payload of a recording record.
type Recording struct {
	Lang, Key, MIME string
	Audio           []byte
}

func (r *Recording) check() error {
	switch {
	case r.Lang == "" || len(r.Lang) > maxRecordingLang || !allIn(r.Lang, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-"):
		return errors.New("recording: malformed language")
	case r.Key == "" || len(r.Key) > maxRecordingKey || !allIn(r.Key, "abcdefghijklmnopqrstuvwxyz0123456789_"):
		return errors.New("recording: malformed key")
	case !slices.Contains(RecordingMIMEs, r.MIME):
		return errors.New("recording: unknown audio type")
	case len(r.Audio) == 0 || len(r.Audio) > MaxRecordingAudio:
		return fmt.Errorf("recording: audio must be 1 to %d bytes", MaxRecordingAudio)
	}
	return nil
}

// allIn reports whether s is made only of bytes of set.
func allIn(s, set string) bool { return strings.Trim(s, set) == "" }

// SignRecording makes the recording record of rec, signed by key.
func SignRecording(key crypto.PrivKey, rec *Recording, t time.Time) (*Record, error) {
	if err := rec.check(); err != nil {
		return nil, err
	}
	return SignRecord(key, RecordRecording, vault.VaultID{}, t, JoinFields([]byte(rec.Lang), []byte(rec.Key), []byte(rec.MIME), rec.Audio))
}

// ParseRecording returns the recording of a record of kind
// RecordRecording (already verified by ParseRecord).
func ParseRecording(r *Record) (*Recording, error) {
	if r.Kind != RecordRecording {
		return nil, errors.New("not a recording")
	}
	if r.Vault != (vault.VaultID{}) {
		return nil, errors.New("recording: names a vault")
	}
	f, err := Fields(r.Payload, 4)
	if err != nil {
		return nil, fmt.Errorf("recording: %w", err)
	}
	rec := &Recording{Lang: string(f[0]), Key: string(f[1]), MIME: string(f[2]), Audio: f[3]}
	if err := rec.check(); err != nil {
		return nil, err
	}
	return rec, nil
}
