package web

import (
	"context"
	"net/url"
	"strings"
	"testing"
)

// TestSetupJoinsFederation: the first visit may give an invitation (typed,
// or scanned by scan.js); once the admin account exists, the node joins
// the federation. A code that is not an invitation creates nothing.
func TestSetupJoinsFederation(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	page := e.get(c, "/setup")
	e.want(page, 200, "Rejoindre une fédération (facultatif)", "Scanner le QR code de l'invitation")
	for _, attr := range []string{`data-scan="code"`, `data-scan-into`, `id="scan-video"`, `id="scan-start"`, `src="/assets/scan.js"`} {
		if !strings.Contains(page.body, attr) {
			t.Errorf("the setup page has no %s", attr)
		}
	}
	form := url.Values{"structure": {"Accueil de jour"}, "name": {adminName}, "password": {adminPass}, "password2": {adminPass}}

	pairing := e.node.PairingCode().String()
	form.Set("invitation", pairing)
	e.want(e.post(c, "/setup", form), 400, "Ce code n'est pas valide")
	form.Set("invitation", "abc")
	e.want(e.post(c, "/setup", form), 400, "Ce code n'est pas valide")
	if !e.srv.accounts.empty() {
		t.Fatal("a refused setup created the admin account")
	}

	inv, _ := e.node.Invite(context.Background())
	e.node.mu.Lock()
	e.node.fed = ""
	e.node.mu.Unlock()
	form.Set("invitation", inv.String())
	r := e.post(c, "/setup", form)
	e.want(r, 200, "Le compte administrateur est créé", "Ce serveur fait maintenant partie de la fédération")
	if r.url != "/network" {
		t.Errorf("after setup: %s, want /network", r.url)
	}
	e.node.mu.Lock()
	fed := e.node.fed
	e.node.mu.Unlock()
	if fed != inv.Peer {
		t.Errorf("the node did not join: federation %q", fed)
	}
}
