package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/libp2p/go-libp2p/core/peer"

	"baluchon/node"
	"baluchon/vault"
)

// A person who lost their card gets a new one from the structures that
// guard their file (chosen when it was made): the structure they go to
// asks, each guardian's worker checks who the person is and approves, and
// the asking structure then gives the new card. The old one stops working.

// RecoveriesFile lists the recoveries started at this structure's page,
// so that a worker can finish one another day (ids and file numbers
// only, no secret).
const RecoveriesFile = "web-recoveries.json"

type startedRecovery struct {
	ID        string    `json:"id"`
	Number    string    `json:"number"`
	Time      time.Time `json:"time"`
	Guardians []string  `json:"guardians"`
}

type startedRecoveries struct {
	path string
	mu   sync.Mutex
}

func (sr *startedRecoveries) load() ([]startedRecovery, error) {
	b, err := os.ReadFile(sr.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read recoveries: %w", err)
	}
	var rs []startedRecovery
	if err := json.Unmarshal(b, &rs); err != nil {
		return nil, fmt.Errorf("%s is damaged: %w", sr.path, err)
	}
	return rs, nil
}

func (sr *startedRecoveries) list() ([]startedRecovery, error) {
	sr.mu.Lock()
	defer sr.mu.Unlock()
	return sr.load()
}

func (sr *startedRecoveries) update(f func([]startedRecovery) []startedRecovery) error {
	sr.mu.Lock()
	defer sr.mu.Unlock()
	rs, err := sr.load()
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(f(rs), "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(sr.path, append(b, '\n'), 0o600)
}

type recoveryData struct {
	Started []startedRecovery
	Inbox   []inboxRequest
	Number  string
}

type inboxRequest struct {
	node.RecoveryRequest
	Who string // the requesting structure, in words
}

func (s *Server) recoveryView(r *http.Request, v *view, number string) error {
	d := recoveryData{Number: number}
	var err error
	if d.Started, err = s.started.list(); err != nil {
		return err
	}
	reqs, err := s.node.RecoveryRequests(r.Context())
	if err != nil {
		return err
	}
	for _, rq := range reqs {
		d.Inbox = append(d.Inbox, inboxRequest{RecoveryRequest: rq, Who: v.L.bidi(structureName(v.L, rq.Name))})
	}
	slices.SortFunc(d.Inbox, func(a, b inboxRequest) int { return b.Time.Compare(a.Time) })
	v.Data = d
	return nil
}

func (s *Server) recoveryPage(w http.ResponseWriter, r *http.Request) {
	v := s.newView(r)
	if err := s.recoveryView(r, v, ""); err != nil {
		s.log.Error("web recovery", "err", err)
		s.fail(w, r, http.StatusInternalServerError, "error_generic")
		return
	}
	s.render(w, r, http.StatusOK, "recovery", v)
}

// recoveryRefuse shows the recovery page with a message.
func (s *Server) recoveryRefuse(w http.ResponseWriter, r *http.Request, status int, number, id string, args ...any) {
	v := s.newView(r)
	v.Error = v.L.t(id, args...)
	if err := s.recoveryView(r, v, number); err != nil {
		s.log.Error("web recovery", "err", err)
	}
	s.render(w, r, status, "recovery", v)
}

// cleanNumber is a file number as typed or copied: spaces and invisible
// marks do not count.
func cleanNumber(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || unicode.Is(unicode.Cf, r) {
			return -1
		}
		return r
	}, s)
}

func (s *Server) recoveryStart(w http.ResponseWriter, r *http.Request) {
	number := cleanNumber(r.PostFormValue("number"))
	id, err := vault.ParseVaultID(number)
	if err != nil {
		s.recoveryRefuse(w, r, http.StatusBadRequest, number, "deposit_bad_number")
		return
	}
	rq, err := s.node.RecoveryStart(r.Context(), id)
	switch {
	case errors.Is(err, node.ErrVaultUnreachable), errors.Is(err, node.ErrUnknownCard):
		s.recoveryRefuse(w, r, http.StatusNotFound, number, "deposit_unknown")
		return
	case err != nil:
		s.log.Error("web recovery start", "err", err)
		s.recoveryRefuse(w, r, http.StatusBadRequest, number, "recovery_cannot_start")
		return
	}
	l := s.cats.localizer(s.lang(r), false)
	var names []string
	for _, g := range rq.Guardians {
		if p, err := peer.Decode(g); err == nil {
			names = append(names, structureName(l, s.node.StructureName(p)))
		} else {
			names = append(names, structureName(l, s.node.StructureName(peer.ID(g))))
		}
	}
	if err := s.started.update(func(rs []startedRecovery) []startedRecovery {
		return append(rs, startedRecovery{ID: rq.ID, Number: number, Time: s.now(), Guardians: names})
	}); err != nil {
		s.log.Error("web recovery", "err", err)
	}
	s.sessions.Put(r.Context(), "flash", l.t("recovery_started"))
	http.Redirect(w, r, "/recovery", http.StatusSeeOther)
}

func (s *Server) recoveryFinish(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	card, v, err := s.node.RecoveryFinish(r.Context(), id)
	switch {
	case errors.Is(err, vault.ErrNotEnoughShares):
		s.recoveryRefuse(w, r, http.StatusConflict, "", "recovery_not_yet")
		return
	case err != nil:
		s.log.Error("web recovery finish", "err", err)
		s.recoveryRefuse(w, r, http.StatusInternalServerError, "", "recovery_cannot_finish")
		return
	}
	s.started.update(func(rs []startedRecovery) []startedRecovery {
		return slices.DeleteFunc(rs, func(x startedRecovery) bool { return x.ID == id })
	})
	// the new card opens the file, as right after a registration
	s.keepFile(r, &openFile{card: card, vault: v.String(), fresh: true})
	ctx := r.Context()
	s.sessions.Remove(ctx, "guardians")
	s.sessions.Remove(ctx, "threshold")
	s.sessions.Put(ctx, "replaced", true)
	http.Redirect(w, r, "/file/card", http.StatusSeeOther)
}

func (s *Server) recoveryApprove(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if r.PostFormValue("checked") != "yes" {
		s.recoveryRefuse(w, r, http.StatusBadRequest, "", "recovery_check_first")
		return
	}
	reqs, err := s.node.RecoveryRequests(r.Context())
	if err != nil {
		s.log.Error("web recovery", "err", err)
		s.recoveryRefuse(w, r, http.StatusInternalServerError, "", "error_generic")
		return
	}
	i := slices.IndexFunc(reqs, func(x node.RecoveryRequest) bool { return x.ID == id })
	if i < 0 {
		s.recoveryRefuse(w, r, http.StatusNotFound, "", "recovery_no_request")
		return
	}
	from, err := peer.Decode(reqs[i].Requester)
	if err != nil {
		from = peer.ID(reqs[i].Requester)
	}
	if err := s.node.RecoveryApprove(r.Context(), id, from); err != nil {
		s.log.Error("web recovery approve", "err", err)
		s.recoveryRefuse(w, r, http.StatusBadRequest, "", "recovery_cannot_approve")
		return
	}
	l := s.cats.localizer(s.lang(r), false)
	s.sessions.Put(r.Context(), "flash", l.t("recovery_approved"))
	http.Redirect(w, r, "/recovery", http.StatusSeeOther)
}
