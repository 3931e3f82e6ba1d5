package web

import (
	"bytes"
	"html"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"baluchon/node"
	"baluchon/vault"
)

// Compile-time check: the real node is a web.Node.
var _ Node = (*node.Node)(nil)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type env struct {
	t     *testing.T
	srv   *Server
	ts    *httptest.Server
	node  *fakeNode
	clock *clock
	home  string
}

const (
	adminName = "marie"
	adminPass = "une phrase facile à retenir"
)

func newEnv(t *testing.T, mod ...func(*Config)) *env {
	t.Helper()
	c := &clock{t: time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC)}
	fn := newFakeNode(c.Now)
	home := t.TempDir()
	cfg := Config{Node: fn, Cards: fakeCards{}, Home: home, Now: c.Now, ClamAV: ClamAVOff, Logger: slog.New(slog.NewTextHandler(tWriter{t}, nil))}
	for _, m := range mod {
		m(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.strict = true
	ts := httptest.NewServer(s)
	t.Cleanup(func() { ts.Close(); s.Close() })
	return &env{t: t, srv: s, ts: ts, node: fn, clock: c, home: home}
}

// client is a browser: it keeps cookies and follows redirects.
func (e *env) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar}
}

type resp struct {
	status int
	body   string
	header http.Header
	url    string
}

func (e *env) do(c *http.Client, req *http.Request) resp {
	e.t.Helper()
	r, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return resp{status: r.StatusCode, body: string(b), header: r.Header, url: r.Request.URL.Path}
}

func (e *env) get(c *http.Client, path string) resp {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.ts.URL+path, nil)
	req.Header.Set("Accept-Language", "fr")
	return e.do(c, req)
}

func (e *env) post(c *http.Client, path string, form url.Values) resp {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.ts.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept-Language", "fr")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return e.do(c, req)
}

// upload posts files (name → content) with the form's fields.
func (e *env) upload(c *http.Client, fields map[string]string, files ...[2]string) resp {
	e.t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, k := range []string{"title", "category", "expires"} {
		if v, ok := fields[k]; ok {
			mw.WriteField(k, v)
		}
	}
	for _, f := range files {
		w, _ := mw.CreateFormFile("files", f[0])
		io.WriteString(w, f[1])
	}
	mw.Close()
	req, _ := http.NewRequest("POST", e.ts.URL+"/file/upload", &b)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return e.do(c, req)
}

func (e *env) want(r resp, status int, texts ...string) {
	e.t.Helper()
	if r.status != status {
		e.t.Errorf("status %d, want %d; page:\n%s", r.status, status, excerpt(r.body))
	}
	text := html.UnescapeString(r.body)
	for _, s := range texts {
		if !strings.Contains(text, s) {
			e.t.Errorf("page does not say %q:\n%s", s, excerpt(r.body))
		}
	}
}

func excerpt(body string) string {
	if i := strings.Index(body, "<main"); i >= 0 {
		body = body[i:]
	}
	if len(body) > 1500 {
		body = body[:1500]
	}
	return body
}

// admin makes the admin account and returns a logged-in client.
func (e *env) admin() *http.Client {
	e.t.Helper()
	return e.adminOf("Accueil de jour")
}

// adminOf is admin for the structure of that name.
func (e *env) adminOf(structure string) *http.Client {
	e.t.Helper()
	c := e.client()
	r := e.post(c, "/setup", url.Values{"structure": {structure}, "name": {adminName}, "password": {adminPass}, "password2": {adminPass}})
	e.want(r, 200, "Le compte administrateur est créé")
	if e.node != nil {
		e.node.mu.Lock()
		name := e.node.name
		e.node.mu.Unlock()
		if name != structure {
			e.t.Fatalf("the node was given the structure name %q at the first visit", name)
		}
	}
	return c
}

// worker adds a worker account and returns a logged-in client of it.
func (e *env) worker(admin *http.Client) *http.Client {
	e.t.Helper()
	pw := "mot de passe du travailleur"
	e.want(e.post(admin, "/accounts", url.Values{"name": {"karim"}, "password": {pw}, "password2": {pw}}), 200, "Le compte « karim » est créé")
	c := e.client()
	e.want(e.post(c, "/login", url.Values{"name": {"karim"}, "password": {pw}}), 200, "Ouvrir le dossier")
	return c
}

// open opens a new person's file in c and returns the card.
func (e *env) open(c *http.Client) *vault.Card {
	e.t.Helper()
	e.node.mu.Lock()
	card, _ := e.node.newCard()
	e.node.mu.Unlock()
	r := e.post(c, "/open", url.Values{"card": {card.String()}})
	e.want(r, 200, "Documents de la personne", "Fermer le dossier")
	return card
}

func TestFirstVisitMakesTheAdmin(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	r := e.get(c, "/")
	e.want(r, 200, "Nom de la structure")
	if r.url != "/setup" {
		t.Errorf("first visit lands on %s, want /setup", r.url)
	}
	r = e.post(c, "/setup", url.Values{"structure": {"Accueil de jour"}, "name": {adminName}, "password": {"court"}, "password2": {"court"}})
	e.want(r, 400, "Le mot de passe doit avoir au moins 10 caractères.")
	r = e.post(c, "/setup", url.Values{"structure": {"Accueil de jour"}, "name": {adminName}, "password": {adminPass}, "password2": {adminPass + "x"}})
	e.want(r, 400, "Les deux mots de passe ne sont pas identiques")
	r = e.post(c, "/setup", url.Values{"structure": {""}, "name": {adminName}, "password": {adminPass}, "password2": {adminPass}})
	e.want(r, 400, "Donnez le nom de la structure")
	e.admin()
	// the file: mode 0600, an argon2id hash, no password
	fi, err := os.Stat(filepath.Join(e.home, AccountsFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("accounts file mode %v, want 0600", fi.Mode().Perm())
	}
	b, _ := os.ReadFile(filepath.Join(e.home, AccountsFile))
	if !bytes.Contains(b, []byte("$argon2id$")) || bytes.Contains(b, []byte(adminPass)) {
		t.Errorf("accounts file does not hold an argon2id hash only:\n%s", b)
	}
	// a second setup is refused
	r = e.post(e.client(), "/setup", url.Values{"structure": {"Autre"}, "name": {"pirate"}, "password": {adminPass}, "password2": {adminPass}})
	e.want(r, 403, "La structure a déjà un compte administrateur")
	// the structure's name is on every page
	e.want(e.get(e.client(), "/login"), 200, "Accueil de jour")
	// it survives a restart
	s2, err := New(Config{Node: e.node, Home: e.home})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if s2.accounts.empty() || s2.accounts.structure() != "Accueil de jour" {
		t.Error("accounts not kept across a restart")
	}
}

func TestLogin(t *testing.T) {
	e := newEnv(t)
	e.admin()
	c := e.client()
	e.want(e.get(c, "/"), 200, "Connexion")
	r := e.post(c, "/login", url.Values{"name": {adminName}, "password": {"pas le bon mot de passe"}})
	e.want(r, 401, "Identifiant ou mot de passe incorrect.")
	r = e.post(c, "/login", url.Values{"name": {"personne"}, "password": {adminPass}})
	e.want(r, 401, "Identifiant ou mot de passe incorrect.")
	r = e.post(c, "/login", url.Values{"name": {adminName}, "password": {adminPass}})
	e.want(r, 200, "Ouvrir le dossier d'une personne", "Se déconnecter (marie)")
	for _, ck := range c.Jar.Cookies(mustURL(e.ts.URL)) {
		if ck.Name != "baluchon_session" {
			t.Errorf("unexpected cookie %s", ck.Name)
		}
	}
	e.want(e.post(c, "/logout", nil), 200, "Connexion")
	e.want(e.get(c, "/accounts"), 200, "Connexion")
}

func TestSessionCookie(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.TLS = true })
	c := e.client()
	req, _ := http.NewRequest("POST", e.ts.URL+"/setup", strings.NewReader(url.Values{"structure": {"A"}, "name": {adminName}, "password": {adminPass}, "password2": {adminPass}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	r := e.do(c, req)
	ck := r.header.Get("Set-Cookie")
	for _, want := range []string{"baluchon_session=", "HttpOnly", "SameSite=Strict", "Secure"} {
		if !strings.Contains(ck, want) {
			t.Errorf("session cookie %q lacks %s", ck, want)
		}
	}
}

func mustURL(s string) *url.URL { u, _ := url.Parse(s); return u }

func TestLoginRateLimit(t *testing.T) {
	e := newEnv(t)
	e.admin()
	c := e.client()
	for i := range loginAttempts {
		r := e.post(c, "/login", url.Values{"name": {adminName}, "password": {"faux"}})
		if r.status != 401 {
			t.Fatalf("attempt %d: status %d", i+1, r.status)
		}
	}
	// the right password is refused too, until the window has passed
	r := e.post(c, "/login", url.Values{"name": {adminName}, "password": {adminPass}})
	e.want(r, 429, "Trop d'essais de connexion : attendez 2 minutes avant de réessayer.")
	e.clock.Add(loginWindow)
	e.want(e.post(c, "/login", url.Values{"name": {adminName}, "password": {adminPass}}), 200, "Ouvrir le dossier")

	// per address: many names from one address
	e.clock.Add(loginWindow)
	for i := range loginAttempts {
		e.post(e.client(), "/login", url.Values{"name": {"nom" + string(rune('a'+i))}, "password": {"faux"}})
	}
	e.want(e.post(e.client(), "/login", url.Values{"name": {"autre"}, "password": {"faux"}}), 429, "Trop d'essais")
}

func TestCrossOriginRefused(t *testing.T) {
	e := newEnv(t)
	c := e.admin()
	for _, path := range []string{"/login", "/accounts", "/open", "/file/upload", "/file/close", "/logout", "/lang", "/file/follow", "/file/delegations", "/file/doc/d1/private", "/followed/p1/unfollow"} {
		req, _ := http.NewRequest("POST", e.ts.URL+path, strings.NewReader("name=x&password=y"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		r := e.do(c, req)
		e.want(r, 403, "Ce formulaire a été envoyé depuis un autre site : il a été refusé.")
		req, _ = http.NewRequest("POST", e.ts.URL+path, strings.NewReader("name=x"))
		req.Header.Set("Origin", "https://evil.example")
		e.want(e.do(c, req), 403, "envoyé depuis un autre site")
	}
	// still logged in: the session was not touched
	e.want(e.get(c, "/accounts"), 200, "Comptes de la structure")
}

func TestForeignHostRefused(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Hosts = []string{"baluchon.local"} })
	for host, ok := range map[string]bool{"evil.example": false, "evil.example:8080": false, "127.0.0.1:8080": true, "localhost:1": true, "[::1]:8443": true, "192.168.1.20:8443": true, "baluchon.local:8443": true} {
		req, _ := http.NewRequest("GET", e.ts.URL+"/login", nil)
		req.Host = host
		r := e.do(e.client(), req)
		if ok {
			if r.status != 200 {
				t.Errorf("host %q: status %d", host, r.status)
			}
			continue
		}
		e.want(r, http.StatusMisdirectedRequest, "Cette adresse n'est pas celle de la page baluchon")
	}
}

func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t)
	r := e.get(e.client(), "/setup")
	h := r.header
	for k, v := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"} {
		if h.Get(k) != v {
			t.Errorf("%s: %q, want %q", k, h.Get(k), v)
		}
	}
	csp := h.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %s", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP allows inline: %q", csp)
	}
}

// inlineScript finds a script element with content, or an event handler.
var inlineScript = regexp.MustCompile(`<script(?:\s[^>]*)?>[^<]|\son[a-z]+=`)

func TestOpenByCardText(t *testing.T) {
	e := newEnv(t)
	c := e.admin()
	e.node.mu.Lock()
	card, _ := e.node.newCard()
	e.node.mu.Unlock()
	text := card.String()
	// a typo in group 3 names group 3
	typo := []rune(text)
	i := 2*7 + 1
	if typo[i] == 'a' {
		typo[i] = 'b'
	} else {
		typo[i] = 'a'
	}
	r := e.post(c, "/open", url.Values{"card": {string(typo)}})
	e.want(r, 400, "Erreur de frappe dans le groupe 3")
	r = e.post(c, "/open", url.Values{"card": {text[:20]}})
	e.want(r, 400, "le texte tapé en a 18")
	r = e.post(c, "/open", url.Values{"card": {text[:7] + "0" + text[8:]}})
	e.want(r, 400, "Le groupe 2 contient un caractère qui n'existe pas")
	other, _ := vault.NewCard(nil)
	e.want(e.post(c, "/open", url.Values{"card": {other.String()}}), 404, "Aucune structure joignable ne connaît cette carte")

	r = e.post(c, "/open", url.Values{"card": {text}})
	e.want(r, 200, "Documents de la personne", "Aucun document pour l'instant.", "Espace utilisé : 0 octet sur 600 Mo")
	if strings.Contains(r.body, text) || strings.Contains(r.url, text) {
		t.Error("the card text is on the documents page or in its URL")
	}
	for _, ck := range c.Jar.Cookies(mustURL(e.ts.URL)) {
		if strings.Contains(ck.Value, text[:6]) {
			t.Error("the card text is in a cookie")
		}
	}
	// close the file: the card is forgotten
	r = e.post(c, "/file/close", nil)
	e.want(r, 200, "Le dossier est fermé.")
	e.want(e.get(c, "/file"), 401, "Le dossier est fermé (après 10 minutes sans activité")
	if len(e.srv.files.files) != 0 {
		t.Error("the server still holds a card after the file was closed")
	}

	// by photo
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	w, _ := mw.CreateFormFile("photo", "carte.jpg")
	io.WriteString(w, "CARD:"+text)
	mw.Close()
	req, _ := http.NewRequest("POST", e.ts.URL+"/open/photo", &b)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	e.want(e.do(c, req), 200, "Documents de la personne")
	b.Reset()
	mw = multipart.NewWriter(&b)
	w, _ = mw.CreateFormFile("photo", "flou.jpg")
	io.WriteString(w, "rien")
	mw.Close()
	req, _ = http.NewRequest("POST", e.ts.URL+"/open/photo", &b)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	e.want(e.do(c, req), 400, "Le code de la carte n'a pas pu être lu sur cette photo")
}

func TestIdleLock(t *testing.T) {
	e := newEnv(t)
	c := e.admin()
	e.open(c)
	e.clock.Add(idleLock - time.Second)
	e.want(e.get(c, "/file"), 200, "Documents de la personne") // used: the 10 minutes start again
	e.clock.Add(idleLock - time.Second)
	e.want(e.get(c, "/file"), 200, "Documents de la personne")
	e.clock.Add(idleLock)
	e.want(e.get(c, "/file"), 401, "Le dossier est fermé (après 10 minutes sans activité, ou fermé à la main).")
	e.want(e.get(c, "/file/log"), 401, "Le dossier est fermé")
	// the sweep forgets files nobody comes back to
	e.open(c)
	e.clock.Add(idleLock)
	e.srv.files.sweep(e.clock.Now())
	if len(e.srv.files.files) != 0 {
		t.Error("an idle file is still held after the sweep")
	}
}

func TestLogoutForgetsTheFile(t *testing.T) {
	e := newEnv(t)
	c := e.admin()
	e.open(c)
	e.post(c, "/logout", nil)
	if len(e.srv.files.files) != 0 {
		t.Error("the server still holds a card after logout")
	}
}

const (
	pdf  = "%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
	jpeg = "\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
)

func TestUpload(t *testing.T) {
	e := newEnv(t)
	c := e.admin()
	e.open(c)
	r := e.upload(c, map[string]string{"category": "identity", "expires": "2026-03-15"}, [2]string{"passeport.pdf", pdf}, [2]string{"photo.jpg", jpeg})
	e.want(r, 200, "2 documents ajoutés.", "Identité", "passeport", "photo", "expire dans 12 jours")
	r = e.upload(c, map[string]string{"title": "Attestation CAF", "category": "benefits"}, [2]string{"caf.pdf", pdf})
	e.want(r, 200, "1 document ajouté.", "CAF / prestations", "Attestation CAF", "3 documents")

	// refused, with what the person reads; nothing stored
	e.want(e.upload(c, nil, [2]string{"vide.pdf", ""}), 400, "« vide.pdf » est vide : il n'a pas été ajouté.")
	e.want(e.upload(c, nil, [2]string{"virus.exe", "MZ\x90\x00\x03\x00\x00\x00\x04\x00"}), 415, "« virus.exe » n'est pas un type de document accepté")
	e.want(e.upload(c, nil, [2]string{"page.html", "<html><script>alert(1)</script>"}), 415, "« page.html » n'est pas un type de document accepté")
	e.want(e.upload(c, nil, [2]string{"gros.pdf", pdf + strings.Repeat("x", int(e.node.max))}), 413, "« gros.pdf » est trop gros : 1 Mo au plus par document.")
	e.want(e.upload(c, nil), 400, "Choisissez au moins un fichier à ajouter.")
	// an empty file field (the camera one, unused) is no file
	e.want(e.upload(c, nil, [2]string{"", ""}), 400, "Choisissez au moins un fichier à ajouter.")
	e.want(e.upload(c, map[string]string{"title": "Avis"}, [2]string{"avis.pdf", pdf}, [2]string{"", ""}), 200, "1 document ajouté.", "Avis")
	e.want(e.upload(c, map[string]string{"expires": "demain"}, [2]string{"a.pdf", pdf}), 400, "La date d'expiration n'est pas valide")
	// one good, one bad: the good one is kept, the bad one named
	r = e.upload(c, nil, [2]string{"ok.pdf", pdf}, [2]string{"vide.jpg", ""})
	e.want(r, 400, "1 document ajouté.", "« vide.jpg » est vide")
	e.want(e.get(c, "/file"), 200, "5 documents")
}

func TestUploadQuota(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.PersonQuota = 2000 })
	c := e.admin()
	e.open(c)
	e.want(e.upload(c, nil, [2]string{"a.pdf", pdf + strings.Repeat("x", 1500)}), 200, "1 document ajouté.")
	e.want(e.upload(c, nil, [2]string{"b.pdf", pdf + strings.Repeat("x", 1000)}), 413, "Le dossier de cette personne est plein (2 ko au plus)")
	e.want(e.get(c, "/file"), 200, "1 document", `value="77"`)
}

func TestDownloadAndPreview(t *testing.T) {
	e := newEnv(t)
	c := e.admin()
	e.open(c)
	e.upload(c, map[string]string{"title": "Passeport"}, [2]string{"passeport.pdf", pdf})
	r := e.get(c, "/file/doc/d1")
	if r.status != 200 || r.body != pdf {
		t.Fatalf("download: %d %q", r.status, r.body)
	}
	if h := r.header.Get("Content-Disposition"); h != `attachment; filename=passeport.pdf` {
		t.Errorf("Content-Disposition %q", h)
	}
	if r.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Error("download without nosniff")
	}
	r = e.get(c, "/file/doc/d1/inline")
	if !strings.HasPrefix(r.header.Get("Content-Disposition"), "inline") || r.header.Get("Content-Type") != "application/pdf" {
		t.Errorf("inline: %v", r.header)
	}
	e.want(e.get(c, "/file/doc/d1/view"), 200, `<iframe class="preview" src="/file/doc/d1/inline"`)
	e.want(e.get(c, "/file/doc/nope"), 404, "Ce document n'est pas (ou plus) dans le dossier")
	e.want(e.get(c, "/file/doc/nope/view"), 404, "Ce document n'est pas (ou plus) dans le dossier")
}

func TestTrash(t *testing.T) {
	e := newEnv(t)
	c := e.admin()
	e.open(c)
	e.upload(c, map[string]string{"title": "Quittance"}, [2]string{"q.pdf", pdf})
	r := e.post(c, "/file/doc/d1/delete", nil)
	e.want(r, 200, "Le document est dans la corbeille pendant 30 jours", "Aucun document")
	e.want(e.get(c, "/file/trash"), 200, "Quittance", "supprimé le 3 mars 2026, effacé le 2 avril 2026")
	e.want(e.post(c, "/file/trash/d1/restore", nil), 200, "Le document est de retour dans le dossier.", "Quittance")
	e.want(e.post(c, "/file/trash/d1/restore", nil), 404, "Ce document n'est plus dans la corbeille")
	e.want(e.post(c, "/file/doc/zz/delete", nil), 404, "Ce document n'est pas (ou plus)")
}

func TestAccessLog(t *testing.T) {
	e := newEnv(t)
	c := e.admin()
	e.open(c)
	e.upload(c, map[string]string{"title": "Passeport"}, [2]string{"p.pdf", pdf})
	e.get(c, "/file/doc/d1")
	r := e.get(c, "/file/log")
	e.want(r, 200, "Le 3 mars 2026 à", ", Accueil de jour a ajouté « Passeport ».", "Accueil de jour a ouvert « Passeport ».")
}

func TestRegisterAndReplace(t *testing.T) {
	e := newEnv(t)
	c := e.admin()
	e.want(e.get(c, "/register"), 200, "La personne a-t-elle déjà une carte baluchon ?", "Deuxième langue de la carte")
	r := e.post(c, "/register", url.Values{"second": {"ar"}})
	e.want(r, 200, "Dossier créé", "Numéro de dossier :", "CCAS de Lyon", "Il faut l'accord de 2 d'entre elles.", "Télécharger la carte à imprimer")
	var text string
	for k := range e.node.files {
		text = k
	}
	if !strings.Contains(r.body, text) {
		t.Error("the new card's text is not shown once")
	}
	// the card page shows the text only right after; a reopened file does not
	pdfr := e.get(c, "/file/card.pdf")
	if pdfr.status != 200 || !strings.HasPrefix(pdfr.body, "%PDF") || !strings.Contains(pdfr.body, "Accueil de jour (ar)") {
		t.Errorf("card pdf: %d %q", pdfr.status, pdfr.body)
	}
	e.post(c, "/file/close", nil)
	e.post(c, "/open", url.Values{"card": {text}})
	if r := e.get(c, "/file/card"); strings.Contains(r.body, text) {
		t.Error("the card text is shown on a file opened by the card")
	}
	// replace: the old card is refused
	e.want(e.get(c, "/file/replace"), 200, "l'ancienne ne marchera plus nulle part")
	r = e.post(c, "/file/replace", nil)
	e.want(r, 200, "Nouvelle carte")
	e.post(c, "/file/close", nil)
	e.want(e.post(c, "/open", url.Values{"card": {text}}), 410, "Cette carte a été remplacée le 3 mars 2026 : demandez à la personne sa nouvelle carte.")
}

func TestAccounts(t *testing.T) {
	e := newEnv(t)
	a := e.admin()
	w := e.worker(a)
	e.want(e.get(w, "/accounts"), 403, "Cette page est réservée à l'administrateur")
	e.want(e.get(w, "/health"), 403, "réservée à l'administrateur")
	pw := "encore un mot de passe"
	e.want(e.post(a, "/accounts", url.Values{"name": {"KARIM"}, "password": {pw}, "password2": {pw}}), 400, "Un compte porte déjà cet identifiant")
	e.want(e.post(a, "/accounts", url.Values{"name": {"léa"}, "password": {"court"}, "password2": {"court"}}), 400, "au moins 10 caractères")
	e.want(e.post(a, "/accounts/remove", url.Values{"name": {adminName}}), 400, "Le dernier compte administrateur ne peut pas être supprimé.")
	e.want(e.post(a, "/accounts/remove", url.Values{"name": {"karim"}}), 200, "Le compte « karim » est supprimé.")
	// the removed worker is logged out
	e.want(e.get(w, "/"), 200, "Connexion")
	e.want(e.get(a, "/health"), 200, "État du serveur", "12D3KooWfake", "Disque libre")
}

func TestLanguage(t *testing.T) {
	e := newEnv(t)
	c := e.admin()
	r := e.post(c, "/lang", url.Values{"lang": {"ar"}, "back": {"/accounts"}})
	e.want(r, 200, `<html lang="ar" dir="rtl">`, "حسابات المؤسسة")
	r = e.post(c, "/lang", url.Values{"lang": {"en"}, "back": {"//evil.example/"}})
	e.want(r, 200, `<html lang="en" dir="ltr">`, "Open a person's file")
	// before login, the browser's language
	req, _ := http.NewRequest("GET", e.ts.URL+"/login", nil)
	req.Header.Set("Accept-Language", "en-GB,en;q=0.8")
	e.want(e.do(e.client(), req), 200, "Log in")
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func TestSetupCode(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.SetupCode = "123-456-789" })
	c := e.client()
	e.want(e.get(c, "/setup"), 200, "Code de première ouverture")
	form := url.Values{"structure": {"Accueil de jour"}, "name": {adminName}, "password": {adminPass}, "password2": {adminPass}, "code": {"111-111-111"}}
	e.want(e.post(c, "/setup", form), 400, "Le code de première ouverture n'est pas le bon")
	if !e.srv.accounts.empty() {
		t.Fatal("an account was made with a wrong setup code")
	}
	form.Set("code", " 123-456-789 ")
	e.want(e.post(c, "/setup", form), 200, "Le compte administrateur est créé")
}

func TestUSBCopy(t *testing.T) {
	e := newEnv(t)
	c := e.admin()
	e.open(c)
	r := e.get(c, "/file/export")
	if r.status != 200 || !strings.HasPrefix(r.body, carMagic) {
		t.Fatalf("export: %d %q", r.status, r.body)
	}
	if cd := r.header.Get("Content-Disposition"); !strings.HasPrefix(cd, `attachment; filename="dossier-`) {
		t.Errorf("export Content-Disposition %q", cd)
	}
	e.post(c, "/file/close", nil)
	e.want(e.get(c, "/file/export"), 401, "Le dossier est fermé")

	imp := func(name, body string) resp {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		if name != "" {
			w, _ := mw.CreateFormFile("car", name)
			io.WriteString(w, body)
		}
		mw.Close()
		req, _ := http.NewRequest("POST", e.ts.URL+"/import", &b)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		return e.do(c, req)
	}
	e.want(e.get(c, "/import"), 200, "Copie d'une clé USB", "Fichier de la copie (.car)")
	e.want(imp("dossier.car", r.body), 200, "Copie reprise : 1 dossier.")
	e.want(imp("abime.car", "pas une copie"), 422, "Ce fichier n'est pas une copie baluchon complète")
	e.want(imp("", ""), 400, "Choisissez le fichier de la copie (.car).")
}

// Looking at the list again, a document's preview or the upload form is
// not a new access: the person's log says what was done, not each page.
func TestListingIsNotLoggedAgain(t *testing.T) {
	e := newEnv(t)
	c := e.admin()
	e.open(c)
	e.upload(c, map[string]string{"title": "Passeport"}, [2]string{"p.pdf", pdf})
	opens := 0
	e.node.open = func() { opens++ }
	for range 3 {
		e.want(e.get(c, "/file"), 200, "Passeport")
		e.want(e.get(c, "/file/doc/d1/view"), 200)
	}
	e.want(e.post(c, "/file/doc/d1/delete", nil), 200, "Aucun document")
	e.want(e.post(c, "/file/trash/d1/restore", nil), 200, "Passeport")
	if opens != 0 {
		t.Errorf("the node was asked to open the file %d times for pages of a file already open", opens)
	}
}

func TestDeposit(t *testing.T) {
	e := newEnv(t)
	c := e.admin()
	e.node.mu.Lock()
	_, ff := e.node.newCard()
	e.node.mu.Unlock()
	number := ff.id.String()
	dep := func(number, title, name, body string) resp {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		mw.WriteField("number", number)
		mw.WriteField("title", title)
		mw.WriteField("category", "benefits")
		w, _ := mw.CreateFormFile("file", name)
		io.WriteString(w, body)
		mw.Close()
		req, _ := http.NewRequest("POST", e.ts.URL+"/deposit", &b)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		return e.do(c, req)
	}
	e.want(e.get(c, "/deposit"), 200, "Courrier reçu pour une personne", "Numéro de dossier")
	e.want(dep(number, "Courrier CAF", "caf.pdf", pdf), 200, "« Courrier CAF » est déposé")
	e.want(dep(" \u2068"+number[:10]+" "+number[10:]+"\u2069 ", "", "lettre.pdf", pdf), 200, "« lettre » est déposé")
	e.want(dep(number, "", "trois.pdf", pdf), 429, "Votre structure a déjà trop de documents en attente")
	e.want(dep("pas-un-numero", "", "a.pdf", pdf), 400, "Ce numéro de dossier n'est pas valide")
	k, _ := vault.NewKeys()
	e.want(dep(k.VaultID().String(), "", "a.pdf", pdf), 404, "Aucune structure joignable ne garde ce dossier")
	e.want(dep(number, "", "vide.pdf", ""), 400, "« vide.pdf » est vide")
	e.want(dep(number, "", "x.exe", "MZ\x90\x00"), 415, "« x.exe » n'est pas un type de document accepté")
	e.want(dep(number, "", "gros.pdf", pdf+strings.Repeat("x", int(e.node.max))), 413, "« gros.pdf » est trop gros")
	if len(ff.pending) != 2 {
		t.Errorf("%d deposits kept, want 2", len(ff.pending))
	}
}

func TestRecovery(t *testing.T) {
	e := newEnv(t)
	c := e.admin()
	e.node.mu.Lock()
	card, ff := e.node.newCard()
	e.node.mu.Unlock()
	number := ff.id.String()
	e.want(e.get(c, "/recovery"), 200, "Une personne a perdu sa carte", "Aucune demande pour l'instant.")
	e.want(e.post(c, "/recovery", url.Values{"number": {"abc"}}), 400, "Ce numéro de dossier n'est pas valide")
	k, _ := vault.NewKeys()
	e.want(e.post(c, "/recovery", url.Values{"number": {k.VaultID().String()}}), 404, "Aucune structure joignable ne garde ce dossier")
	r := e.post(c, "/recovery", url.Values{"number": {number}})
	e.want(r, 200, "La demande est envoyée", "Demandes faites ici", "CCAS de Lyon", "Accueil de jour demande une nouvelle carte pour une personne")
	var id string
	for k := range e.node.recoveries {
		id = k
	}
	e.want(e.post(c, "/recovery/"+id+"/finish", nil), 409, "Pas encore assez de structures ont accepté")
	e.want(e.post(c, "/recovery/"+id+"/approve", nil), 400, "Cochez la case")
	e.want(e.post(c, "/recovery/nope/approve", url.Values{"checked": {"yes"}}), 404, "Cette demande n'existe plus")
	e.want(e.post(c, "/recovery/"+id+"/approve", url.Values{"checked": {"yes"}}), 200, "Vous avez accepté : la structure qui demande", "Vous avez accepté.")
	r = e.post(c, "/recovery/"+id+"/finish", nil)
	e.want(r, 200, "Nouvelle carte", "Texte de la carte", "Numéro de dossier : "+number)
	e.post(c, "/file/close", nil)
	e.want(e.post(c, "/open", url.Values{"card": {card.String()}}), 410, "Cette carte a été remplacée")
	e.want(e.get(c, "/recovery"), 200, "Aucune demande pour l'instant.")
	if strings.Contains(e.get(c, "/recovery").body, "Demandes faites ici") {
		t.Error("a finished recovery is still listed")
	}
}

func TestNetwork(t *testing.T) {
	e := newEnv(t)
	a := e.admin()
	w := e.worker(a)
	e.want(e.get(w, "/network"), 403, "réservée à l'administrateur")
	e.want(e.get(a, "/network"), 200, "Relier un autre serveur", "aucune fédération", `src="data:image/png;base64,`)
	r := e.post(a, "/network/invite", nil)
	e.want(r, 200, "il sert une seule fois")
	m := regexp.MustCompile(`(?s)<div class="code">.*?<p class="cardtext" dir="ltr">([^<]+)</p>`).FindStringSubmatch(r.body)
	if m == nil {
		t.Fatal("no invitation code on the page")
	}
	e.want(e.post(a, "/network/join", url.Values{"code": {"pas un code"}}), 400, "Ce code n'est pas valide")
	e.want(e.post(a, "/network/join", url.Values{"code": {m[1]}}), 200, "Ce serveur fait maintenant partie de la fédération.")
	pairing := regexp.MustCompile(`(?s)id="pair-h".*?<p class="cardtext" dir="ltr">([^<]+)</p>`).FindStringSubmatch(r.body)
	e.want(e.post(a, "/network/join", url.Values{"code": {pairing[1]}}), 200, "Les deux serveurs sont reliés.")
}
