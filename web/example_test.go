package web_test

import (
	"context"
	"log"

	"baluchon/web"
)

// The page of a running node, as baluchon serve starts it: on loopback
// over HTTP, its address kept in the node's home.
func Example() {
	var n web.Node // the running *node.Node
	home := "/var/lib/baluchon"
	l, err := web.Listen(web.DefaultAddr, home)
	if err != nil {
		log.Fatal(err)
	}
	s, err := web.New(web.Config{Node: n, Home: home, TLS: l.TLS, Fingerprint: l.Fingerprint, Hosts: l.Hosts})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	if err := l.WriteAddr(home); err != nil {
		log.Fatal(err)
	}
	defer web.RemoveAddr(home)
	log.Printf("web page on %s", l.URL)
	log.Fatal(s.Serve(context.Background(), l))
}
