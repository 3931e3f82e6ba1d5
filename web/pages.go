package web

import (
	"crypto/subtle"
	"errors"
	"net"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"baluchon/node"
	"baluchon/vault"
)

// user returns the logged-in account of r.
func (s *Server) user(r *http.Request) (Account, bool) {
	name := s.sessions.GetString(r.Context(), "user")
	if name == "" {
		return Account{}, false
	}
	return s.accounts.get(name) // a removed account is logged out
}

// auth lets logged-in workers through; others go to the login page.
func (s *Server) auth(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if _, ok := s.user(r); !ok {
			if s.accounts.empty() {
				http.Redirect(w, r, "/setup", http.StatusSeeOther)
				return
			}
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		h(w, r)
	}
}

// admin lets the structure's admins through.
func (s *Server) admin(h http.HandlerFunc) http.HandlerFunc {
	return s.auth(func(w http.ResponseWriter, r *http.Request) {
		if ac, _ := s.user(r); !ac.Admin {
			s.fail(w, r, http.StatusForbidden, "error_admin_only")
			return
		}
		h(w, r)
	})
}

func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	if s.accounts.empty() {
		http.Redirect(w, r, "/setup", http.StatusSeeOther)
		return
	}
	if _, ok := s.user(r); !ok {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	v := s.newView(r)
	v.Data = s.cfg.Cards != nil
	s.render(w, r, http.StatusOK, "home", v)
}

// ---- first visit and login ----

func (s *Server) setupPage(w http.ResponseWriter, r *http.Request) {
	if !s.accounts.empty() {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	v := s.newView(r)
	v.Data = setupForm{Code: s.cfg.SetupCode != ""}
	s.render(w, r, http.StatusOK, "setup", v)
}

type setupForm struct {
	Structure, Name string
	Code            bool   // a setup code is asked
	Invitation      string // an invitation into a federation, to join once set up (setupjoin.go)
}

func (s *Server) setupPost(w http.ResponseWriter, r *http.Request) {
	if !s.accounts.empty() {
		s.fail(w, r, http.StatusForbidden, "error_setup_done")
		return
	}
	f := setupForm{Structure: strings.TrimSpace(r.PostFormValue("structure")), Name: strings.TrimSpace(r.PostFormValue("name")), Code: s.cfg.SetupCode != ""}
	f.Invitation = strings.TrimSpace(r.PostFormValue("invitation"))
	invitation, invErr := parseSetupInvitation(f.Invitation)
	pw, pw2 := r.PostFormValue("password"), r.PostFormValue("password2")
	v := s.newView(r)
	v.Data = f
	switch {
	case s.cfg.SetupCode != "" && subtle.ConstantTimeCompare([]byte(strings.TrimSpace(r.PostFormValue("code"))), []byte(s.cfg.SetupCode)) != 1:
		v.Error = v.L.t("error_setup_code")
	case f.Structure == "" || utf8.RuneCountInString(f.Structure) > 100:
		v.Error = v.L.t("error_structure_name")
	case pw != pw2:
		v.Error = v.L.t("error_password_mismatch")
	case invErr != nil:
		v.Error = v.L.t("network_bad_code")
	default:
		err := s.accounts.setup(f.Structure, f.Name, pw, s.now())
		if err == nil {
			// the other structures read this name in the person's log
			if err := s.node.SetName(r.Context(), f.Structure); err != nil {
				s.log.Warn("web: structure name not given to the node", "err", err)
			}
			s.startSession(r, f.Name)
			s.sessions.Put(r.Context(), "flash", v.L.t("flash_setup_done"))
			if invitation != nil {
				s.setupJoin(w, r, v.L, invitation)
				return
			}
			http.Redirect(w, r, "/accounts", http.StatusSeeOther)
			return
		}
		v.Error = s.accountError(v.L, err)
	}
	s.render(w, r, http.StatusBadRequest, "setup", v)
}

func (s *Server) accountError(l *loc, err error) string {
	switch {
	case errors.Is(err, errWeakPassword):
		return l.t("error_password_short", "Count", minPassword)
	case errors.Is(err, errBadName):
		return l.t("error_account_name")
	case errors.Is(err, errAccountExists):
		return l.t("error_account_exists")
	case errors.Is(err, errLastAdmin):
		return l.t("error_last_admin")
	case errors.Is(err, errNoAccount):
		return l.t("error_no_account")
	}
	s.log.Error("web accounts", "err", err)
	return l.t("error_generic")
}

func (s *Server) startSession(r *http.Request, name string) {
	ctx := r.Context()
	s.sessions.RenewToken(ctx)
	s.sessions.Put(ctx, "user", name)
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	if s.accounts.empty() {
		http.Redirect(w, r, "/setup", http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, "login", s.newView(r))
}

func clientIP(r *http.Request) string {
	h, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return h
}

func (s *Server) loginPost(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimSpace(r.PostFormValue("name"))
	pw := r.PostFormValue("password")
	keys := []string{accountKey(name), addrKey(clientIP(r))}
	now := s.now()
	v := s.newView(r)
	v.Data = name
	if s.limiter.blocked(now, keys...) {
		v.Error = v.L.t("error_too_many_attempts", "Count", int(loginWindow/time.Minute))
		s.render(w, r, http.StatusTooManyRequests, "login", v)
		return
	}
	if _, ok := s.accounts.check(name, pw); !ok {
		s.limiter.fail(now, keys...)
		v.Error = v.L.t("error_wrong_password")
		s.render(w, r, http.StatusUnauthorized, "login", v)
		return
	}
	s.limiter.reset(accountKey(name))
	s.startSession(r, name)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	s.files.forget(s.sessions.GetString(ctx, "file"))
	lang := s.sessions.GetString(ctx, "lang")
	s.sessions.Destroy(ctx)
	if lang != "" {
		s.sessions.Put(ctx, "lang", lang)
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

func (s *Server) setLang(w http.ResponseWriter, r *http.Request) {
	s.sessions.Put(r.Context(), "lang", s.cats.pick(r.PostFormValue("lang")))
	back := r.PostFormValue("back")
	if !strings.HasPrefix(back, "/") || strings.HasPrefix(back, "//") || strings.Contains(back, "\\") {
		back = "/"
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}

// ---- accounts (admin) ----

func (s *Server) accountsPage(w http.ResponseWriter, r *http.Request) {
	v := s.newView(r)
	v.Data = s.accounts.list()
	s.render(w, r, http.StatusOK, "accounts", v)
}

func (s *Server) accountsAdd(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimSpace(r.PostFormValue("name"))
	pw, pw2 := r.PostFormValue("password"), r.PostFormValue("password2")
	v := s.newView(r)
	var err error
	if pw != pw2 {
		v.Error = v.L.t("error_password_mismatch")
	} else if err = s.accounts.add(name, pw, s.now()); err != nil {
		v.Error = s.accountError(v.L, err)
	} else {
		s.sessions.Put(r.Context(), "flash", v.L.t("flash_account_added", "Name", v.L.bidi(name)))
		http.Redirect(w, r, "/accounts", http.StatusSeeOther)
		return
	}
	v.Data = s.accounts.list()
	s.render(w, r, http.StatusBadRequest, "accounts", v)
}

func (s *Server) accountsRemove(w http.ResponseWriter, r *http.Request) {
	name := r.PostFormValue("name")
	v := s.newView(r)
	if err := s.accounts.remove(name); err != nil {
		v.Error = s.accountError(v.L, err)
		v.Data = s.accounts.list()
		s.render(w, r, http.StatusBadRequest, "accounts", v)
		return
	}
	s.sessions.Put(r.Context(), "flash", v.L.t("flash_account_removed", "Name", v.L.bidi(name)))
	http.Redirect(w, r, "/accounts", http.StatusSeeOther)
}

// ---- opening a file ----

// cardError is the message for a card that does not open a file.
func (s *Server) cardError(l *loc, err error) (int, string) {
	var te *vault.CardTextError
	var replaced *node.CardReplacedError
	switch {
	case errors.As(err, &te):
		switch te.Kind {
		case vault.CardLength:
			return http.StatusBadRequest, l.t("card_length", "Count", te.Len)
		case vault.CardBadChar:
			return http.StatusBadRequest, l.t("card_bad_char", "Group", te.Group)
		case vault.CardGroupTypo:
			return http.StatusBadRequest, l.t("card_typo", "Group", te.Group)
		case vault.CardVersion:
			return http.StatusBadRequest, l.t("card_version")
		default:
			return http.StatusBadRequest, l.t("card_checksum")
		}
	case errors.As(err, &replaced):
		return http.StatusGone, l.t("card_replaced", "Date", l.Date(replaced.When))
	case errors.Is(err, node.ErrUnknownCard):
		return http.StatusNotFound, l.t("card_unknown")
	case errors.Is(err, node.ErrVaultUnreachable):
		return http.StatusServiceUnavailable, l.t("card_unreachable")
	}
	s.log.Error("web open", "err", err)
	return http.StatusInternalServerError, l.t("error_generic")
}

func (s *Server) openPost(w http.ResponseWriter, r *http.Request) {
	s.openText(w, r, r.PostFormValue("card"))
}

func (s *Server) openText(w http.ResponseWriter, r *http.Request, text string) {
	v := s.newView(r)
	v.Data = s.cfg.Cards != nil
	card, err := vault.ParseCard(text)
	if err == nil {
		var o *node.Opened
		if o, err = s.node.Open(r.Context(), card); err == nil {
			f := &openFile{card: card, vault: o.Vault.String()}
			f.setList(o.Entries, len(o.Deposited))
			s.keepFile(r, f)
			http.Redirect(w, r, "/file", http.StatusSeeOther)
			return
		}
	}
	status, msg := s.cardError(v.L, err)
	v.Error = msg
	s.render(w, r, status, "home", v)
}

// keepFile makes f the session's open file, forgetting the one before.
func (s *Server) keepFile(r *http.Request, f *openFile) {
	ctx := r.Context()
	s.files.forget(s.sessions.GetString(ctx, "file"))
	f.lastUsed = s.now()
	s.sessions.Put(ctx, "file", s.files.put(f))
}

// maxPhoto bounds a photo of a card.
const maxPhoto = 20 << 20

func (s *Server) openPhoto(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Cards == nil {
		http.NotFound(w, r)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxPhoto)
	v := s.newView(r)
	v.Data = true
	f, _, err := r.FormFile("photo")
	if err != nil {
		v.Error = v.L.t("error_photo_missing")
		s.render(w, r, http.StatusBadRequest, "home", v)
		return
	}
	defer f.Close()
	text, err := s.cfg.Cards.ReadCardPhoto(f)
	if err != nil {
		v.Error = v.L.t("error_photo_unreadable")
		s.render(w, r, http.StatusBadRequest, "home", v)
		return
	}
	s.openText(w, r, text)
}

// withFile lets through requests of a session with an open file; others
// are told the file was closed.
func (s *Server) withFile(h func(http.ResponseWriter, *http.Request, *openFile)) http.HandlerFunc {
	return s.auth(func(w http.ResponseWriter, r *http.Request) {
		f, ok := s.files.get(s.sessions.GetString(r.Context(), "file"), s.now())
		if !ok {
			s.sessions.Remove(r.Context(), "file")
			v := s.newView(r)
			v.Data = s.cfg.Cards != nil
			v.Error = v.L.t("file_locked")
			s.render(w, r, http.StatusUnauthorized, "home", v)
			return
		}
		h(w, r, f)
	})
}

func (s *Server) fileClose(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	s.files.forget(s.sessions.GetString(ctx, "file"))
	s.sessions.Remove(ctx, "file")
	l := s.cats.localizer(s.lang(r), false)
	s.sessions.Put(ctx, "flash", l.t("flash_file_closed"))
	http.Redirect(w, r, "/", http.StatusSeeOther)
}
