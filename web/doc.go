// Package web is the structure's web page: what social workers use instead
// of the command line. The node serves it (baluchon serve, on
// 127.0.0.1:8080 by default); it is built over the narrow interface Node
// and tested with a fake of it.
//
// Files:
//
//	server.go     Server, routes, and the headers every answer carries
//	              (Content-Security-Policy, nosniff, Host check, CSRF)
//	accounts.go   the structure's accounts (argon2id) in HOME/web-accounts.json
//	limit.go      login attempts limited per account and per address
//	files.go      the open person's file: the card, held only in memory
//	pages.go      the pages and forms
//	locale.go     message catalogs (locales/*.json, one file per language)
//	tls.go        the self-signed certificate for a page served on the LAN
//
// The card text a worker types or scans never leaves the server's memory:
// it is not in a cookie, a URL, a log or the browser's storage; the server
// forgets it after 10 minutes without use and when the worker closes the
// file.
package web
