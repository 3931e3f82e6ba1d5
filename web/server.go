package web

import (
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/alexedwards/scs/v2"
)

//go:embed templates/*.html assets
var content embed.FS

// PersonQuota is the default space a person's file may use (as Reconnect).
const PersonQuota = 600 * 1000 * 1000

// Config is what a Server is made of.
type Config struct {
	// Node is the node whose operations the page offers.
	Node Node
	// Cards prints card PDFs and reads card photos; nil: neither is offered.
	Cards Cards
	// Home is the node's home, where the accounts file is kept.
	Home string
	// TLS: the page is served over HTTPS (cookies are then Secure).
	TLS bool
	// Fingerprint is the SHA-256 fingerprint of the page's certificate,
	// shown on the page when TLS is on.
	Fingerprint string
	// Hosts are host names, besides IP addresses and "localhost", that
	// the page answers to (the Host header is checked against DNS
	// rebinding).
	Hosts []string
	// SetupCode, if set, must be typed on the first visit to create the
	// admin account: serve prints it when the page is served beyond this
	// machine, so that whoever reaches it first on the network cannot
	// take the structure's page.
	SetupCode string
	// PersonQuota bounds what one person's file may hold; 0: PersonQuota.
	PersonQuota int64
	// ClamAV is the address of the clamd that scans uploads ("/run/
	// clamav/clamd.ctl", "unix:/path" or "127.0.0.1:3310"): an upload is
	// then refused while it does not answer. Empty: DefaultClamAV are
	// tried, and uploads are not scanned when none answers. ClamAVOff: no
	// scan.
	ClamAV string
	// ScansFolder is the folder the copier scans to; empty: HOME/scans.
	// The admin may choose another in the page (kept in HOME/web-scans.json).
	ScansFolder string
	// Version is the program's version, for the diagnostic report.
	Version string
	// Reachable lists the node's addresses, for the diagnostic report;
	// nil: not reported.
	Reachable func() []string
	// Recordings keeps the spoken texts recorded by a structure's
	// interpreter (person.go); nil: only the embedded audio is played.
	Recordings Recordings
	// KioskTimeout is how long a kiosk shows a person's papers before it
	// forgets the card; 0: KioskTimeout.
	KioskTimeout time.Duration
	// Logger logs what goes wrong (never a card text); nil: discarded.
	Logger *slog.Logger
	// Now is the clock; nil: time.Now.
	Now func() time.Time
}

// Server is the web page. It is an http.Handler.
type Server struct {
	cfg      Config
	node     Node
	log      *slog.Logger
	now      func() time.Time
	accounts *accounts
	started  *startedRecoveries
	limiter  *limiter
	files    *openFiles
	av       *antivirus
	scans    *scanFolder
	sessions *scs.SessionManager
	cats     *catalogs
	person   *personSite // the person's view (person.go)
	pages    map[string]*template.Template
	handler  http.Handler
	strict   bool // tests: a missing message fails the page

	stop     chan struct{}
	stopOnce sync.Once
}

// New makes the page's server; Close stops it.
func New(cfg Config) (*Server, error) {
	if cfg.Node == nil {
		return nil, errors.New("web: no node")
	}
	if cfg.PersonQuota <= 0 {
		cfg.PersonQuota = PersonQuota
	}
	s := &Server{cfg: cfg, node: cfg.Node, log: cfg.Logger, now: cfg.Now, limiter: newLimiter(), files: newOpenFiles(), stop: make(chan struct{})}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	var err error
	if s.accounts, err = loadAccounts(cfg.Home); err != nil {
		return nil, err
	}
	s.av = newAntivirus(cfg.ClamAV, cfg.Home)
	s.scans = newScanFolder(cfg.Home, cfg.ScansFolder)
	s.started = &startedRecoveries{path: filepath.Join(cfg.Home, RecoveriesFile)}
	if s.cats, err = loadCatalogs(localeFS, "locales"); err != nil {
		return nil, err
	}
	if cfg.KioskTimeout <= 0 {
		cfg.KioskTimeout = KioskTimeout
	}
	if s.person, err = newPersonSite(cfg.KioskTimeout); err != nil {
		return nil, err
	}
	if s.pages, err = parsePages(); err != nil {
		return nil, err
	}
	s.sessions = scs.New() // in memory: sessions end when the node stops
	s.sessions.Lifetime = 12 * time.Hour
	s.sessions.IdleTimeout = 2 * time.Hour
	s.sessions.Cookie.Name = "baluchon_session"
	s.sessions.Cookie.HttpOnly = true
	s.sessions.Cookie.SameSite = http.SameSiteStrictMode
	s.sessions.Cookie.Secure = cfg.TLS
	s.sessions.Cookie.Persist = false
	s.sessions.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) {
		s.log.Error("web session", "err", err)
		http.Error(w, "session error", http.StatusInternalServerError)
	}
	s.handler = s.routes()
	go s.sweep()
	return s, nil
}

// Close forgets every open file and stops the server's timers.
func (s *Server) Close() error {
	s.stopOnce.Do(func() { close(s.stop) })
	s.files.clear()
	s.person.kiosk.clear()
	return nil
}

func (s *Server) sweep() {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.files.sweep(s.now())
		}
	}
}

// ServeHTTP serves the page.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// contentSecurityPolicy is the policy of every answer: no inline script,
// nothing from another site, never framed.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; " +
	"media-src 'self' blob:; font-src 'self'; worker-src 'self'; connect-src 'self'; frame-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// previewPolicy is the policy of a document shown in the page's frame.
const previewPolicy = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'self'"

// secure sets the headers every answer carries, in one place.
func secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(self), microphone=(self), geolocation=()")
		if !strings.HasPrefix(r.URL.Path, "/assets/") {
			h.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}

// hostAllowed reports whether a Host header names this page: an IP
// address, localhost, or one of the configured names. A name an attacker
// controls (DNS rebinding) is refused.
func (s *Server) hostAllowed(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	if host == "" {
		return false
	}
	if net.ParseIP(host) != nil || strings.EqualFold(host, "localhost") {
		return true
	}
	return slices.ContainsFunc(s.cfg.Hosts, func(h string) bool { return strings.EqualFold(h, host) })
}

func (s *Server) checkHost(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.hostAllowed(r.Host) {
			// no session, no template: a plain refusal in the default language
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusMisdirectedRequest)
			l := s.cats.localizer(defaultLang, false)
			fmt.Fprintln(w, l.t("error_host"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	assets, _ := fs.Sub(content, "assets")
	mux.Handle("GET /assets/", http.StripPrefix("/assets/", http.FileServerFS(assets)))

	mux.HandleFunc("GET /{$}", s.home)
	mux.HandleFunc("GET /setup", s.setupPage)
	mux.HandleFunc("POST /setup", s.setupPost)
	mux.HandleFunc("GET /login", s.loginPage)
	mux.HandleFunc("POST /login", s.loginPost)
	mux.HandleFunc("POST /logout", s.logout)
	mux.HandleFunc("POST /lang", s.setLang)

	mux.HandleFunc("GET /accounts", s.admin(s.accountsPage))
	mux.HandleFunc("POST /accounts", s.admin(s.accountsAdd))
	mux.HandleFunc("POST /accounts/remove", s.admin(s.accountsRemove))
	mux.HandleFunc("GET /health", s.admin(s.healthPage))
	mux.HandleFunc("GET /network", s.admin(s.networkPage))
	mux.HandleFunc("POST /network/invite", s.admin(s.networkInvite))
	mux.HandleFunc("POST /network/join", s.admin(s.networkJoin))

	mux.HandleFunc("POST /open", s.auth(s.openPost))
	mux.HandleFunc("POST /open/photo", s.auth(s.openPhoto))
	mux.HandleFunc("GET /register", s.auth(s.registerPage))
	mux.HandleFunc("POST /register", s.auth(s.registerPost))

	mux.HandleFunc("GET /file", s.withFile(s.filePage))
	mux.HandleFunc("POST /file/close", s.auth(s.fileClose))
	mux.HandleFunc("GET /file/card", s.withFile(s.cardPage))
	mux.HandleFunc("GET /file/card.pdf", s.withFile(s.cardPDF))
	mux.HandleFunc("POST /file/upload", s.withFile(s.upload))
	mux.HandleFunc("GET /file/doc/{id}", s.withFile(s.download))
	mux.HandleFunc("GET /file/doc/{id}/inline", s.withFile(s.inline))
	mux.HandleFunc("GET /file/doc/{id}/view", s.withFile(s.viewPage))
	mux.HandleFunc("POST /file/doc/{id}/delete", s.withFile(s.deleteDoc))
	mux.HandleFunc("GET /file/trash", s.withFile(s.trashPage))
	mux.HandleFunc("POST /file/trash/{id}/restore", s.withFile(s.restoreDoc))
	mux.HandleFunc("GET /file/log", s.withFile(s.logPage))
	mux.HandleFunc("GET /recovery", s.auth(s.recoveryPage))
	mux.HandleFunc("POST /recovery", s.auth(s.recoveryStart))
	mux.HandleFunc("POST /recovery/{id}/finish", s.auth(s.recoveryFinish))
	mux.HandleFunc("POST /recovery/{id}/approve", s.auth(s.recoveryApprove))
	mux.HandleFunc("GET /deposit", s.auth(s.depositPage))
	mux.HandleFunc("POST /deposit", s.auth(s.depositPost))
	mux.HandleFunc("GET /file/export", s.withFile(s.exportFile))
	mux.HandleFunc("GET /file/documents.zip", s.withFile(s.downloadAll))
	mux.HandleFunc("GET /import", s.auth(s.importPage))
	mux.HandleFunc("POST /import", s.auth(s.importPost))
	mux.HandleFunc("GET /scans", s.auth(s.scansPage))
	mux.HandleFunc("GET /scans/preview", s.auth(s.scanPreview))
	mux.HandleFunc("POST /scans/folder", s.admin(s.scansFolder))
	mux.HandleFunc("POST /file/scans/add", s.withFile(s.scansAdd))
	mux.HandleFunc("GET /file/replace", s.withFile(s.replacePage))
	mux.HandleFunc("POST /file/replace", s.withFile(s.replacePost))
	mux.HandleFunc("GET /followed", s.auth(s.followedPage))
	mux.HandleFunc("GET /followed/{id}", s.auth(s.followedPersonPage))
	mux.HandleFunc("GET /followed/{id}/doc/{doc}", s.auth(s.followedDoc))
	mux.HandleFunc("POST /followed/{id}/unfollow", s.auth(s.unfollow))
	mux.HandleFunc("POST /file/follow", s.withFile(s.followPost))
	mux.HandleFunc("POST /file/doc/{id}/private", s.withFile(s.privatePost))
	mux.HandleFunc("GET /file/delegations", s.withFile(s.delegationsPage))
	mux.HandleFunc("POST /file/delegations", s.withFile(s.delegatePost))
	mux.HandleFunc("POST /file/delegations/{id}/revoke", s.withFile(s.revokePost))

	s.personRoutes(mux)

	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, http.StatusForbidden, "error_cross_origin")
	}))
	return secure(s.checkHost(s.sessions.LoadAndSave(cop.Handler(mux))))
}
