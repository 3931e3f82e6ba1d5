package web

import (
	"context"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"baluchon/node"
	"baluchon/proto"
	"baluchon/testnet"
)

// TestRecoveryThreeNodes: a person registered at A loses their card; B's
// page asks for a new one, A's and C's pages approve, B's page gives it;
// the old card is refused.
func TestRecoveryThreeNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three nodes")
	}
	ctx := context.Background()
	cfg := &node.Config{SyncInterval: node.Duration(200 * time.Millisecond), ReplicaGrace: node.Duration(2 * time.Second), RetireGrace: node.Duration(time.Second), Replicas: 2}
	net := testnet.New(t, 3, testnet.Options{Config: cfg, Names: []string{"Accueil de jour", "CCAS de Lyon", "Secours du Rhône"}})
	net.ConnectAll()
	for _, j := range []int{1, 2} {
		code, err := net.Nodes[0].Invite(ctx)
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := proto.ParseCode(code.String())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := net.Nodes[j].JoinFederation(ctx, parsed); err != nil {
			t.Fatalf("node %d joins: %v", j, err)
		}
	}
	var envs []*env
	var clients []struct{ c *http.Client }
	for i, n := range net.Nodes {
		s, err := New(Config{Node: n, Home: net.Home(i)})
		if err != nil {
			t.Fatal(err)
		}
		s.strict = true
		e := &env{t: t, srv: s, home: net.Home(i)}
		e.ts = httptest.NewServer(s)
		t.Cleanup(func() { e.ts.Close(); s.Close() })
		envs = append(envs, e)
		clients = append(clients, struct{ c *http.Client }{e.adminOf(n.Name())})
	}
	a, b, c := envs[0], envs[1], envs[2]

	r := a.post(clients[0].c, "/register", nil)
	a.want(r, 200, "Dossier créé", "CCAS de Lyon", "Secours du Rhône")
	text := html.UnescapeString(r.body)
	card := regexp.MustCompile(`<p class="cardtext big" dir="ltr">([^<]+)</p>`).FindStringSubmatch(text)[1]
	number := regexp.MustCompile(`Numéro de dossier : ([1-9A-HJ-NP-Za-km-z]+)`).FindStringSubmatch(text)[1]
	a.post(clients[0].c, "/file/close", nil)

	// the person goes to B without their card
	wait := func(what string, f func() bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !f() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 30 s", what)
			}
			time.Sleep(300 * time.Millisecond)
		}
	}
	wait("B's page asks for a new card", func() bool {
		return b.post(clients[1].c, "/recovery", url.Values{"number": {number}}).status == 200
	})
	for i, e := range []*env{a, c} {
		cl := clients[[]int{0, 2}[i]].c
		var id string
		wait("the request reaches a guardian", func() bool {
			m := regexp.MustCompile(`action="/recovery/([^/"]+)/approve"`).FindStringSubmatch(e.get(cl, "/recovery").body)
			if m != nil {
				id = m[1]
			}
			return m != nil
		})
		e.want(e.get(cl, "/recovery"), 200, "CCAS de Lyon demande une nouvelle carte pour une personne")
		e.want(e.post(cl, "/recovery/"+id+"/approve", url.Values{"checked": {"yes"}}), 200, "Vous avez accepté")
	}
	var id string
	m := regexp.MustCompile(`action="/recovery/([^/"]+)/finish"`).FindStringSubmatch(b.get(clients[1].c, "/recovery").body)
	if m == nil {
		t.Fatal("B's page lists no request to finish")
	}
	id = m[1]
	var last resp
	wait("B's page gives the new card", func() bool {
		last = b.post(clients[1].c, "/recovery/"+id+"/finish", nil)
		return last.status == 200
	})
	b.want(last, 200, "Nouvelle carte", "Texte de la carte")
	newCard := regexp.MustCompile(`<p class="cardtext big" dir="ltr">([^<]+)</p>`).FindStringSubmatch(last.body)[1]
	b.post(clients[1].c, "/file/close", nil)
	b.want(b.post(clients[1].c, "/open", url.Values{"card": {html.UnescapeString(newCard)}}), 200, "Documents de la personne")
	wait("A's page refuses the old card", func() bool {
		r := a.post(clients[0].c, "/open", url.Values{"card": {card}})
		return r.status == 410 && strings.Contains(r.body, "remplacée")
	})
}
