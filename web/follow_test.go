package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
)

// TestFollow: with the card, the person lets the structure follow them;
// a worker finds them by name without the card and downloads the
// documents they did not keep private; the structure stops following.
func TestFollow(t *testing.T) {
	e := newEnv(t)
	a := e.admin()
	w := e.worker(a)
	card := e.open(w)
	e.node.mu.Lock()
	e.node.fed = "12D3KooWfederation"
	e.node.mu.Unlock()
	e.want(e.upload(w, map[string]string{"title": "Carte d'identité", "category": "identity"}, [2]string{"ci.pdf", pdf}), 200)
	e.want(e.upload(w, map[string]string{"title": "Lettre personnelle", "category": "other"}, [2]string{"lettre.pdf", pdf}), 200)
	e.want(e.get(w, "/file"), 200, "Suivre cette personne", "Garder privé", "Qui peut voir ce dossier")

	// bad forms change nothing
	e.want(e.post(w, "/file/follow", url.Values{"name": {"Céline Dupré"}}), 400, "Cochez la case une fois que la personne a dit qu'elle est d'accord.")
	e.want(e.post(w, "/file/follow", url.Values{"name": {"  "}, "consent": {"yes"}}), 400, "Écrivez le nom de la personne")
	e.want(e.post(w, "/file/follow", url.Values{"name": {"Céline Dupré"}, "birth": {"3000-01-01"}, "consent": {"yes"}}), 400, "Cette date de naissance n'est pas valide")
	e.want(e.post(w, "/file/follow", url.Values{"name": {"Céline Dupré"}, "until": {"2020-01-01"}, "consent": {"yes"}}), 400, "Choisissez une date de fin après aujourd'hui.")
	e.want(e.post(w, "/file/follow", url.Values{"name": {strings.Repeat("é", 201)}, "consent": {"yes"}}), 400, "Ce nom est trop long")
	if len(e.node.followed) != 0 {
		t.Fatalf("a refused form followed %+v", e.node.followed)
	}

	e.want(e.post(w, "/file/follow", url.Values{"name": {"Céline Dupré"}, "birth": {"1987-03-14"}, "consent": {"yes"}}), 200,
		"Notre structure suit maintenant Céline Dupré, jusqu'au")
	e.want(e.post(w, "/file/doc/d2/private", url.Values{"private": {"yes"}}), 200, "Ce document est privé", "Privé : aucune autre structure", "Ne plus garder privé")
	e.want(e.post(w, "/file/doc/zz/private", url.Values{"private": {"yes"}}), 404, "Ce document n'est pas (ou plus) dans le dossier")
	e.want(e.post(w, "/file/close", nil), 200)

	// without the card
	e.want(e.get(w, "/followed"), 200, "1 personne suivie", "Céline Dupré", "Ajouter une personne", "La personne a-t-elle déjà une carte")
	e.want(e.get(w, "/followed?q=c%C3%A9line"), 200, "1 personne trouvée", "Céline Dupré")
	r := e.get(w, "/followed?q=martin")
	e.want(r, 200, "Personne de ce nom")
	if strings.Contains(r.body, "Céline Dupré") {
		t.Fatal("a search for another name shows the person")
	}
	id := e.node.followed[0].ID
	r = e.get(w, "/followed/"+id)
	e.want(r, 200, "Céline Dupré", "Carte d'identité", "née ou né le 14 mars 1987")
	if strings.Contains(r.body, "Lettre personnelle") {
		t.Fatal("a private document is listed without the card")
	}
	r = e.get(w, "/followed/"+id+"/doc/d1")
	if r.status != 200 || r.body != pdf || !strings.HasPrefix(r.header.Get("Content-Disposition"), "attachment") || r.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("download: %d %q %v", r.status, r.body, r.header)
	}
	e.want(e.get(w, "/followed/"+id+"/doc/d2"), 403, "La personne ne nous laisse pas (ou plus) voir ce document.")
	e.want(e.get(w, "/followed/nobody"), 404, "Notre structure ne suit pas (ou plus) cette personne.")
	e.want(e.get(e.client(), "/followed"), 200, "Se connecter")

	// the file's delegations, with the card
	vid := e.node.followed[0].Vault
	e.want(e.post(w, "/open", url.Values{"card": {card.String()}}), 200)
	e.want(e.get(w, "/file/delegations"), 200, "Qui peut voir ce dossier sans la carte", "Notre structure", "Tous les documents, sauf les privés", "Accueil de jour", "CCAS de Lyon")
	e.want(e.post(w, "/file/delegations", url.Values{"to": {"nobody"}, "until": {"2027-01-01"}, "consent": {"yes"}}), 400, "Choisissez une structure de la liste.")
	to := peer.ID("b").String()
	e.want(e.post(w, "/file/delegations", url.Values{"to": {to}, "until": {"2027-01-01"}}), 400, "Cochez la case")
	e.want(e.post(w, "/file/delegations", url.Values{"to": {to}, "until": {"2027-01-01"}, "consent": {"yes"}, "categories": {"health", "identity"}}), 200,
		"CCAS de Lyon peut maintenant voir ces documents.", "Santé, Identité")
	var gid string
	for _, ff := range e.node.files {
		for _, d := range ff.dels {
			if d.StructureName == "CCAS de Lyon" {
				gid = d.ID
			}
		}
	}
	e.want(e.post(w, "/file/delegations/"+gid+"/revoke", nil), 200, "C'est arrêté", "Terminé")
	e.want(e.post(w, "/file/delegations/nope/revoke", nil), 404, "Cette autorisation n'existe pas")

	// unfollow with the card: the delegation ends too
	e.want(e.get(w, "/followed/"+id), 200, "ne pourra plus voir ses documents sans la carte")
	e.want(e.post(w, "/followed/"+id+"/unfollow", nil), 200, "Notre structure ne suit plus Céline Dupré.", "Notre structure ne suit encore personne")
	if _, err := e.node.DelegatedList(t.Context(), vid); err == nil {
		t.Fatal("after unfollowing with the card, the documents still open")
	}
	e.want(e.post(w, "/followed/"+id+"/unfollow", nil), http.StatusNotFound, "ne suit pas")
}
