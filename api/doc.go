// Package api is the local HTTP API of a baluchon node, server and
// client: the command line on the same machine drives a running node
// through it.
//
// The server takes the node as one interface, Node (node.go), the domain
// operations of *node.Node it serves; tests give it a fake of it
// (fake_test.go), as Syncthing's lib/api takes model.Model.
//
// It listens on loopback only, and every request must carry the bearer
// token that Start writes to HOME/api.token (mode 0600, so only the
// node's user can read it); the address is in HOME/api. Requests that
// concern a vault carry the card text in the CardHeader header; the node
// holds the vault keys only for the time of the request. Errors are JSON
// {"code": CODE, "error": MESSAGE} with an HTTP status; the codes are the
// Code* constants, given in one place (errors.go).
//
// Each file holds one feature, its routes (listed at the top of the file),
// its JSON types and the Client methods that call them:
//
//	server.go       Start, Options, Server; the bearer token check
//	client.go       Client, Dial; the card header; shared request helpers
//	errors.go       error codes, Error, the node's errors → status and code
//	node.go         Node, the interface of the node the API serves
//	peers.go        /v1/id, /v1/connect, /v1/peers, /v1/pair, /v1/status, /v1/gc
//	cards.go        /v1/vaults (a new card), /v1/card/replace, /v1/rotate,
//	                /v1/identity, /v1/log
//	documents.go    /v1/docs, /v1/docs/{id}, /v1/open (streamed progress)
//	batch.go        /v1/docs/batch: several documents, one new vault state
//	getmany.go      /v1/docs/many: several documents, one card session
//	trash.go        DELETE /v1/docs/{id}, /v1/trash, /v1/trash/{id}/restore
//	recovery.go     /v1/recovery…
//	delegations.go  /v1/delegations…, /v1/vaults/{vault}/docs…
//	deposits.go     /v1/vaults/{vault}/deposit, /v1/vaults/{vault}/pending
//	federation.go   /v1/federation…
//	usb.go          /v1/export, /v1/import (CAR files)
//	courier.go      /v1/have, /v1/export/delta (what another node lacks)
package api
