package web

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"baluchon/node"
	"baluchon/vault"
)

// The people the structure follows: with the card present, the person
// lets the structure follow them (a delegation to this structure, for a
// year by default); the worker writes the name and birth date they know
// the person by. Later, a worker searches that list by name and opens the
// person's documents without the card, except those the person keeps
// private. A file's page also lists which structures may open which
// documents until when, gives that to another member structure, and
// stops it.

// followFor is how long following lasts unless the worker says otherwise.
const followFor = 365 * 24 * time.Hour

type followedListData struct {
	Query    string
	Results  []followedView
	Searched bool
	Expiring int // people followed with a document ending this month (reminders.go)
}

// followedView is a followed person with their birth date as a date.
type followedView struct {
	node.Followed
	Born time.Time
}

func viewFollowed(p node.Followed) followedView {
	t, _ := time.Parse(time.DateOnly, p.Birth)
	return followedView{Followed: p, Born: t}
}

func (s *Server) followedPage(w http.ResponseWriter, r *http.Request) {
	v := s.newView(r)
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	d := followedListData{Query: q, Searched: r.URL.Query().Has("q")}
	people, err := s.node.FollowedPeople(r.Context(), q)
	if err != nil {
		s.log.Error("web followed", "err", err)
		s.fail(w, r, http.StatusInternalServerError, "error_generic")
		return
	}
	for _, p := range people {
		d.Results = append(d.Results, viewFollowed(p))
	}
	d.Expiring = s.expiringFollowed(r.Context())
	v.Data = d
	s.render(w, r, http.StatusOK, "followed", v)
}

type followedPersonData struct {
	Person     followedView
	Categories []categoryView
	NoAccess   bool
	FileOpen   bool // this person's file is open (with the card)
}

// followedPerson returns the person of the URL, or answers 404.
func (s *Server) followedPerson(w http.ResponseWriter, r *http.Request) (*node.Followed, bool) {
	p, err := s.node.FollowedPerson(r.Context(), r.PathValue("id"))
	if errors.Is(err, node.ErrNotFollowed) {
		s.fail(w, r, http.StatusNotFound, "followed_unknown")
		return nil, false
	}
	if err != nil {
		s.log.Error("web followed person", "err", err)
		s.fail(w, r, http.StatusInternalServerError, "error_generic")
		return nil, false
	}
	return p, true
}

func (s *Server) followedPersonPage(w http.ResponseWriter, r *http.Request) {
	p, ok := s.followedPerson(w, r)
	if !ok {
		return
	}
	v := s.newView(r)
	d := followedPersonData{Person: viewFollowed(*p)}
	if f := s.openFileOf(r); f != nil && f.vault == p.Vault.String() {
		d.FileOpen = true
	}
	entries, err := s.node.DelegatedList(r.Context(), p.Vault)
	switch {
	case errors.Is(err, node.ErrNoDelegation):
		d.NoAccess = true
	case err != nil:
		st, msg := s.cardError(v.L, err)
		s.fail(w, r, st, "error_plain", "Message", msg)
		return
	}
	now := s.now()
	by := map[string][]docView{}
	for _, e := range entries {
		dv := docView{Entry: e}
		dv.Expiry, dv.Expired = expiry(v.L, e.Expires, now)
		by[category(e.Category)] = append(by[category(e.Category)], dv)
	}
	for _, c := range Categories {
		if docs := by[c]; len(docs) > 0 {
			slices.SortStableFunc(docs, func(a, b docView) int { return b.Added.Compare(a.Added) })
			d.Categories = append(d.Categories, categoryView{Key: c, Docs: docs})
		}
	}
	v.Data = d
	s.render(w, r, http.StatusOK, "followed_person", v)
}

// followedDoc downloads a document of a followed person, without the card.
func (s *Server) followedDoc(w http.ResponseWriter, r *http.Request) {
	p, ok := s.followedPerson(w, r)
	if !ok {
		return
	}
	d, err := s.node.DelegatedGet(r.Context(), p.Vault, r.PathValue("doc"))
	if errors.Is(err, node.ErrNoDelegation) {
		s.fail(w, r, http.StatusForbidden, "followed_no_document")
		return
	}
	if err != nil {
		l := s.cats.localizer(s.lang(r), false)
		st, msg := s.cardError(l, err)
		s.fail(w, r, st, "error_plain", "Message", msg)
		return
	}
	s.writeDoc(w, d, false)
}

// openFileOf returns the file open in the session, if any (without
// marking it used).
func (s *Server) openFileOf(r *http.Request) *openFile {
	f, ok := s.files.get(s.sessions.GetString(r.Context(), "file"), s.now())
	if !ok {
		return nil
	}
	return f
}

func (s *Server) unfollow(w http.ResponseWriter, r *http.Request) {
	p, ok := s.followedPerson(w, r)
	if !ok {
		return
	}
	l := s.cats.localizer(s.lang(r), false)
	var card *vault.Card
	if f := s.openFileOf(r); f != nil && f.vault == p.Vault.String() {
		card = f.card
	}
	if err := s.node.Unfollow(r.Context(), card, p.ID); err != nil && !errors.Is(err, node.ErrNotFollowed) {
		st, msg := s.cardError(l, err)
		s.fail(w, r, st, "error_plain", "Message", msg)
		return
	}
	msg := "flash_unfollowed"
	if card == nil {
		msg = "flash_unfollowed_no_card"
	}
	s.sessions.Put(r.Context(), "flash", l.t(msg, "Name", l.bidi(p.Name)))
	http.Redirect(w, r, "/followed", http.StatusSeeOther)
}

type followForm struct {
	Name, Birth, Until string
}

// followPost: with the card, the person lets the structure follow them.
func (s *Server) followPost(w http.ResponseWriter, r *http.Request, f *openFile) {
	l := s.cats.localizer(s.lang(r), false)
	form := followForm{Name: strings.TrimSpace(r.PostFormValue("name")), Birth: strings.TrimSpace(r.PostFormValue("birth")), Until: r.PostFormValue("until")}
	refuse := func(id string) {
		s.showFile(w, r, f, http.StatusBadRequest, []string{l.t(id)})
	}
	if r.PostFormValue("consent") != "yes" {
		refuse("follow_consent_first")
		return
	}
	if form.Name == "" {
		refuse("follow_name_missing")
		return
	}
	until := s.now().Add(followFor)
	if form.Until != "" {
		t, err := time.Parse(time.DateOnly, form.Until)
		if err != nil || !t.After(s.now()) {
			refuse("follow_bad_until")
			return
		}
		until = t.Add(24*time.Hour - time.Second)
	}
	p, err := s.node.Follow(r.Context(), f.card, node.FollowOptions{Name: form.Name, Birth: form.Birth, Until: until})
	var fe *node.FollowError
	switch {
	case errors.As(err, &fe) && fe.Field == "name":
		refuse("follow_bad_name")
		return
	case errors.As(err, &fe):
		refuse("follow_bad_birth")
		return
	case err != nil:
		st, msg := s.cardError(l, err)
		s.fail(w, r, st, "error_plain", "Message", msg)
		return
	}
	s.sessions.Put(r.Context(), "flash", l.t("flash_followed", "Name", l.bidi(p.Name), "Date", l.Date(p.Until)))
	http.Redirect(w, r, "/file", http.StatusSeeOther)
}

// privatePost marks a document private, or shares it again.
func (s *Server) privatePost(w http.ResponseWriter, r *http.Request, f *openFile) {
	l := s.cats.localizer(s.lang(r), false)
	id := r.PathValue("id")
	private := r.PostFormValue("private") == "yes"
	if err := s.node.SetPrivate(r.Context(), f.card, id, private); err != nil {
		var nd *node.NoDocumentError
		if errors.As(err, &nd) {
			s.fail(w, r, http.StatusNotFound, "error_no_document")
			return
		}
		st, msg := s.cardError(l, err)
		s.fail(w, r, st, "error_plain", "Message", msg)
		return
	}
	f.setPrivate(id, private)
	msg := "flash_private"
	if !private {
		msg = "flash_shared"
	}
	s.sessions.Put(r.Context(), "flash", l.t(msg))
	http.Redirect(w, r, "/file", http.StatusSeeOther)
}

// setPrivate keeps the listed documents up to date.
func (f *openFile) setPrivate(id string, private bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.entries {
		if f.entries[i].ID == id {
			f.entries[i].Private = private
		}
	}
}

type delegationView struct {
	ID         string
	Structure  string
	Categories []string // category keys; none: every document
	Until      time.Time
	Ended      bool // revoked or past
	Here       bool // this structure follows the person
}

type structureOption struct {
	ID, Name string
	peer     peer.ID
}

type delegationsData struct {
	Delegations []delegationView
	Members     []structureOption
	Until       string
}

func (s *Server) delegationsPage(w http.ResponseWriter, r *http.Request, f *openFile) {
	s.showDelegations(w, r, f, http.StatusOK, "")
}

func (s *Server) showDelegations(w http.ResponseWriter, r *http.Request, f *openFile, status int, errID string) {
	v := s.newView(r)
	if errID != "" {
		v.Error = v.L.t(errID)
	}
	list, err := s.node.Delegations(r.Context(), f.card)
	if err != nil {
		st, msg := s.cardError(v.L, err)
		s.fail(w, r, st, "error_plain", "Message", msg)
		return
	}
	now := s.now()
	self := s.node.ID()
	d := delegationsData{Until: now.Add(followFor).Format(time.DateOnly)}
	for _, x := range list {
		name := x.StructureName
		p, err := peer.Decode(x.Structure)
		if err == nil {
			name = s.node.StructureName(p)
		}
		cats := []string{}
		for _, c := range x.Categories {
			cats = append(cats, category(c))
		}
		d.Delegations = append(d.Delegations, delegationView{
			ID: x.ID, Structure: structureName(v.L, name), Categories: cats,
			Until: x.Expires, Ended: !x.Revoked.IsZero() || now.After(x.Expires), Here: p == self,
		})
	}
	slices.SortStableFunc(d.Delegations, func(a, b delegationView) int {
		if a.Ended != b.Ended {
			if a.Ended {
				return 1
			}
			return -1
		}
		return b.Until.Compare(a.Until)
	})
	d.Members = s.members()
	v.Data = d
	s.render(w, r, status, "delegations", v)
}

// members are the other structures of the federation, by their verified
// names.
func (s *Server) members() []structureOption {
	_, ms := s.node.Federation()
	var out []structureOption
	for _, p := range ms {
		if p == s.node.ID() {
			continue
		}
		out = append(out, structureOption{ID: p.String(), Name: s.node.StructureName(p), peer: p})
	}
	slices.SortFunc(out, func(a, b structureOption) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func (s *Server) delegatePost(w http.ResponseWriter, r *http.Request, f *openFile) {
	l := s.cats.localizer(s.lang(r), false)
	to := r.PostFormValue("to")
	ms := s.members()
	i := slices.IndexFunc(ms, func(m structureOption) bool { return m.ID == to })
	if i < 0 {
		s.showDelegations(w, r, f, http.StatusBadRequest, "delegate_choose_structure")
		return
	}
	p := ms[i].peer
	until, err := time.Parse(time.DateOnly, r.PostFormValue("until"))
	if err != nil || !until.After(s.now()) {
		s.showDelegations(w, r, f, http.StatusBadRequest, "follow_bad_until")
		return
	}
	if r.PostFormValue("consent") != "yes" {
		s.showDelegations(w, r, f, http.StatusBadRequest, "follow_consent_first")
		return
	}
	var cats []string
	for _, c := range r.PostForm["categories"] {
		if slices.Contains(Categories, c) && !slices.Contains(cats, c) {
			cats = append(cats, c)
		}
	}
	if _, err := s.node.Delegate(r.Context(), f.card, node.DelegateOptions{To: p, Categories: cats, Until: until.Add(24*time.Hour - time.Second)}); err != nil {
		s.log.Warn("web delegate", "err", err)
		s.showDelegations(w, r, f, http.StatusBadGateway, "delegate_failed")
		return
	}
	s.sessions.Put(r.Context(), "flash", l.t("flash_delegated", "Name", l.bidi(s.node.StructureName(p))))
	http.Redirect(w, r, "/file/delegations", http.StatusSeeOther)
}

func (s *Server) revokePost(w http.ResponseWriter, r *http.Request, f *openFile) {
	l := s.cats.localizer(s.lang(r), false)
	if err := s.node.RevokeDelegation(r.Context(), f.card, r.PathValue("id")); err != nil {
		if strings.Contains(err.Error(), "has no delegation") {
			s.fail(w, r, http.StatusNotFound, "delegation_unknown")
			return
		}
		st, msg := s.cardError(l, err)
		s.fail(w, r, st, "error_plain", "Message", msg)
		return
	}
	s.sessions.Put(r.Context(), "flash", l.t("flash_revoked"))
	http.Redirect(w, r, "/file/delegations", http.StatusSeeOther)
}
