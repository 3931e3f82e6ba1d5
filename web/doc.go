// Package web is the structure's web page: what social workers use instead
// of the command line. The node serves it (baluchon serve, on
// 127.0.0.1:8080 by default); it is built over the narrow interface Node,
// which *node.Node implements, and is tested with a fake of it.
//
// Files, by feature:
//
//	node.go       Node (what the page needs of a node) and Cards (card PDF, card photo)
//	server.go     Server, Config, the routes, and the headers every answer
//	              carries in one place: Content-Security-Policy without
//	              inline script, nosniff, frame-ancestors none, referrer
//	              policy, the Host check (DNS rebinding), CSRF
//	              (net/http.CrossOriginProtection), sessions (scs, in memory)
//	render.go     the templates (templates/*.html, with layout.html) and the view
//	accounts.go   the structure's accounts: argon2id hashes in HOME/web-accounts.json
//	limit.go      login attempts limited per account and per address
//	pages.go      first visit, login, accounts, opening a file by its card
//	setupjoin.go  the first visit joins a federation (an invitation typed or scanned)
//	files.go      the open person's file: the card, held only in memory
//	documents.go  documents (upload, download, preview, trash, access log),
//	              registering a person, replacing a card, the node's health
//	deposit.go    mail received for a person: a document left by file number
//	recovery.go   lost cards: ask the guardians, approve, give the new card
//	usb.go        a person's file to and from a USB stick (CAR files)
//	network.go    the admin's network page: pairing, invitations, joining
//	diagnostic.go the admin's health page: disk and backup warnings, the diagnostic report
//	clamav.go     uploads and deposits scanned by ClamAV (clamd's INSTREAM,
//	              Debian's socket or Config.ClamAV): sealed under a key made
//	              for the upload, in HOME/upload-scan, until clamd says clean
//	scans.go      the copier's scan folder (HOME/scans or the admin's
//	              choice): scans listed, seen, added to the open file (one
//	              image per page: one PDF), removed once stored
//	follow.go     the people the structure follows: following a person from
//	              their file, search by name, their documents without the
//	              card, unfollowing; private documents; a file's delegations
//	              (given to a member structure, revoked)
//	locale.go     message catalogs (locales/<lang>.json, one file per
//	              language, go-i18n), dates, sizes and text direction
//	listen.go     the listener: HTTP on loopback, HTTPS with a self-signed
//	              certificate kept in the home elsewhere; HOME/ui
//	assets/       the style sheet, the icon and page.js (progress only);
//	              scan.js and vendor/jsQR.js scan cards with the camera
//
// The card text a worker types or scans never leaves the server's memory:
// it is not in a cookie, a URL, a log or the browser's storage; the server
// forgets it after 10 minutes without use, when the worker closes the file
// and when they log out. The page works without JavaScript.
package web
