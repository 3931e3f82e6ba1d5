package proto

import (
	"bytes"
	"strings"
	"testing"

	"baluchon/vault"
)

// TestRecordingVector decodes the frozen encoding of a recording record,
// checks its fields, and re-encodes it byte for byte; then a member set
// carrying it, and the member set of testdata/memberset.hex (without
// recordings) still re-encodes as it was.
func TestRecordingVector(t *testing.T) {
	fk, fed := vectorKey(t, "founder")
	audio := bytes.Repeat([]byte("OggS"), 16)
	rec, err := SignRecording(fk, &Recording{Lang: "ti", Key: "card_lost", MIME: "audio/ogg", Audio: audio}, vectorTime)
	if err != nil {
		t.Fatal(err)
	}
	b := readVector(t, "recording.hex", rec.Marshal())
	r, err := ParseRecord(b)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseRecording(r)
	if err != nil {
		t.Fatal(err)
	}
	if r.Kind != RecordRecording || r.Author != fed || !r.Time.Equal(vectorTime) || got.Lang != "ti" || got.Key != "card_lost" || got.MIME != "audio/ogg" || !bytes.Equal(got.Audio, audio) {
		t.Fatalf("decoded %+v %+v", r, got)
	}
	if !bytes.Equal(r.Marshal(), b) {
		t.Fatal("re-encoding differs")
	}

	set := &MemberSet{Recordings: []*Record{r}}
	enc := appendMemberSet(nil, set)
	d := newDecoder(enc)
	ms := d.memberSet()
	if err := d.End(); err != nil {
		t.Fatal(err)
	}
	if len(ms.Recordings) != 1 || !bytes.Equal(ms.Recordings[0].Marshal(), b) {
		t.Fatalf("member set: %d recordings", len(ms.Recordings))
	}
	// a vault record is not a recording, in a member set
	other, _ := SignRecord(fk, RecordLog, vault.VaultID{1}, vectorTime, []byte("x"))
	d = newDecoder(appendMemberSet(nil, &MemberSet{Recordings: []*Record{other}}))
	if d.memberSet(); d.Err() == nil {
		t.Error("a member set carrying a vault record was accepted")
	}
}

func TestRecordingRefused(t *testing.T) {
	fk, _ := vectorKey(t, "founder")
	for _, tc := range []struct {
		name string
		rec  Recording
	}{
		{"no language", Recording{Key: "card_lost", MIME: "audio/ogg", Audio: []byte("a")}},
		{"language with a slash", Recording{Lang: "../x", Key: "card_lost", MIME: "audio/ogg", Audio: []byte("a")}},
		{"key with a capital", Recording{Lang: "ti", Key: "Card", MIME: "audio/ogg", Audio: []byte("a")}},
		{"video", Recording{Lang: "ti", Key: "card_lost", MIME: "video/webm", Audio: []byte("a")}},
		{"empty", Recording{Lang: "ti", Key: "card_lost", MIME: "audio/ogg"}},
		{"too long", Recording{Lang: "ti", Key: "card_lost", MIME: "audio/ogg", Audio: []byte(strings.Repeat("a", MaxRecordingAudio+1))}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := SignRecording(fk, &tc.rec, vectorTime); err == nil {
				t.Error("signed")
			}
			// and the same payload signed as a raw record does not parse
			r, err := SignRecord(fk, RecordRecording, vault.VaultID{}, vectorTime, JoinFields([]byte(tc.rec.Lang), []byte(tc.rec.Key), []byte(tc.rec.MIME), tc.rec.Audio))
			if err != nil {
				return // too large to sign at all
			}
			if _, err := ParseRecording(r); err == nil {
				t.Error("parsed")
			}
		})
	}
}
