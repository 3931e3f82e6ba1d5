package web

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"

	"baluchon/node"
	"baluchon/web/internal/spoken"
)

// Recordings keeps the spoken texts of the person's view that a
// structure's interpreter recorded in the page; each spreads to every
// node of the federation (package node implements it; nil: the page
// offers no recording, only the embedded espeak-ng audio).
type Recordings interface {
	// Recording returns the newest recording of a message in a language.
	Recording(lang, key string) (*node.Recording, bool)
	// Record keeps a recording made here and sends it to the federation.
	Record(ctx context.Context, lang, key, mime string, audio []byte) error
}

// newHandle returns a random handle for something kept in memory.
func newHandle() string {
	var b [24]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

type recordingsData struct {
	Langs []recordingLang
	Keys  []string
	Can   bool // this node keeps recordings
	Max   int64
}

type recordingLang struct {
	Code, Name, Dir string
	Reviewer        string // "" machine-drafted
	Reviewed        bool
	Lines           []recordingLine
}

type recordingLine struct {
	Key, Text, Audio string
	Recorded         *node.Recording
	By               string
}

// recordingsPage lists the person-facing languages (who reviewed each
// catalog) and, per message, its audio, with a button to record it.
func (s *Server) recordingsPage(w http.ResponseWriter, r *http.Request) {
	v := s.newView(r)
	d := recordingsData{Keys: spoken.Keys, Can: s.cfg.Recordings != nil, Max: node.MaxRecordingBytes}
	for _, c := range s.person.cats.langs {
		rev := s.person.reviews[c]
		l := recordingLang{Code: c, Name: s.person.cats.names[c], Dir: s.person.cats.dirs[c], Reviewer: rev, Reviewed: rev != ""}
		pl := s.person.cats.localizer(c, false)
		for _, k := range spoken.Keys {
			line := recordingLine{Key: k, Text: pl.t(k), Audio: s.audioURL(c, k)}
			if s.cfg.Recordings != nil {
				if rec, ok := s.cfg.Recordings.Recording(c, k); ok {
					line.Recorded = rec
					line.By = s.node.StructureName(rec.Author)
				}
			}
			l.Lines = append(l.Lines, line)
		}
		d.Langs = append(d.Langs, l)
	}
	v.Data = d
	s.render(w, r, http.StatusOK, "recordings", v)
}

// recordPost keeps a recording sent by the page's recorder (record.js).
func (s *Server) recordPost(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Recordings == nil {
		http.NotFound(w, r)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, node.MaxRecordingBytes+64<<10)
	lang, key := r.FormValue("lang"), r.FormValue("key")
	v := s.newView(r)
	fail := func(id string, args ...any) {
		s.fail(w, r, http.StatusBadRequest, id, args...)
	}
	if !slices.Contains(s.person.cats.langs, lang) || !spoken.IsKey(key) {
		fail("recording_unknown")
		return
	}
	f, hdr, err := r.FormFile("audio")
	if err != nil {
		fail("recording_missing")
		return
	}
	defer f.Close()
	audio, err := io.ReadAll(io.LimitReader(f, node.MaxRecordingBytes+1))
	if err != nil {
		fail("recording_missing")
		return
	}
	if len(audio) > node.MaxRecordingBytes {
		fail("recording_too_long", "Size", v.L.Size(node.MaxRecordingBytes))
		return
	}
	mime := hdr.Header.Get("Content-Type")
	if i := strings.IndexByte(mime, ';'); i >= 0 {
		mime = mime[:i]
	}
	if err := s.cfg.Recordings.Record(r.Context(), lang, key, mime, audio); err != nil {
		if errors.Is(err, node.ErrBadRecording) {
			fail("recording_bad")
			return
		}
		s.log.Error("web record", "err", err)
		s.fail(w, r, http.StatusInternalServerError, "error_generic")
		return
	}
	s.sessions.Put(r.Context(), "flash", v.L.t("recording_saved"))
	http.Redirect(w, r, "/recordings#"+lang, http.StatusSeeOther)
}
