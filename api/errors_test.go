package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"baluchon/node"
	"baluchon/proto"
	"baluchon/vault"
)

// TestErrorCodes: each error of the node gets its status and code, and
// its message reaches the client unchanged.
func TestErrorCodes(t *testing.T) {
	for _, tc := range []struct {
		err    error
		status int
		code   string
	}{
		{&node.QuotaError{}, http.StatusInsufficientStorage, CodeQuota},
		{node.ErrTooManyDeposits, http.StatusConflict, CodeTooManyDeposits},
		{&node.CardReplacedError{}, http.StatusGone, CodeCardReplaced},
		{node.ErrNoDelegation, http.StatusForbidden, CodeNoDelegation},
		{vault.ErrNotEnoughShares, http.StatusConflict, CodeNotEnough},
		{node.ErrRequesterMismatch, http.StatusForbidden, CodeRefused},
		{node.ErrCannotRemove, http.StatusForbidden, CodeRefused},
		{node.ErrNotMember, http.StatusForbidden, CodeRefused},
		{&node.HaveError{}, http.StatusUnprocessableEntity, CodeBadHave},
		{node.ErrNothingInCommon, http.StatusUnprocessableEntity, CodeBadHave},
		{&proto.CodeError{Msg: "bad code"}, http.StatusBadRequest, CodeBadCode},
		{node.ErrInvitation, http.StatusForbidden, CodeInvitation},
		{&node.ImportError{Err: errors.New("truncated")}, http.StatusUnprocessableEntity, CodeBadImport},
		{&vault.CardTextError{Kind: vault.CardLength}, http.StatusBadRequest, CodeBadCard},
		{node.ErrUnknownCard, http.StatusNotFound, CodeUnknownCard},
		{node.ErrVaultUnreachable, http.StatusServiceUnavailable, CodeVaultUnreachable},
		{&node.NoDocumentError{ID: "x"}, http.StatusNotFound, CodeNoDocument},
		{&node.TooLargeError{Limit: 10}, http.StatusRequestEntityTooLarge, CodeTooLarge},
		{&node.AddrError{}, http.StatusBadRequest, CodeBadAddr},
		{&node.UnreachableError{}, http.StatusBadGateway, CodeUnreachable},
		{errors.New("disk on fire"), http.StatusInternalServerError, CodeInternal},
	} {
		t.Run(tc.code+"/"+fmt.Sprintf("%T", tc.err), func(t *testing.T) {
			f := newFake(t, 4)
			f.fail = fmt.Errorf("open the vault: %w", tc.err)
			s := serve(t, f)
			resp, eb := call(t, s, "GET", "/v1/docs", testToken, f.card.String(), nil)
			if resp.StatusCode != tc.status || eb.Code != tc.code {
				t.Fatalf("got %d %q, want %d %q", resp.StatusCode, eb.Code, tc.status, tc.code)
			}
			if eb.Error != f.fail.Error() {
				t.Fatalf("message %q, want %q", eb.Error, f.fail.Error())
			}
			// The client turns it back into an *Error with the code.
			c := &Client{base: s.URL, token: testToken, http: s.Client()}
			_, err := c.List(t.Context(), f.card)
			var ae *Error
			if !errors.As(err, &ae) || ae.Code != tc.code || ae.Status != tc.status || ae.Message != f.fail.Error() {
				t.Fatalf("client got %#v", err)
			}
		})
	}
}

// TestBadCard: a request without a card, or with a card that does not
// parse, is refused before the node is asked, and the answer never holds
// the card text.
func TestBadCard(t *testing.T) {
	f := newFake(t, 5)
	s := serve(t, f)
	bad := f.card.String()
	bad = bad[:len(bad)-3] + "zzz"
	for _, tc := range []struct{ name, card string }{{"no card", ""}, {"mistyped card", bad}} {
		for _, route := range [][2]string{{"GET", "/v1/docs"}, {"POST", "/v1/docs"}, {"GET", "/v1/docs/doc0"}, {"POST", "/v1/card/replace"}, {"GET", "/v1/trash"}, {"POST", "/v1/open"}, {"GET", "/v1/export"}, {"POST", "/v1/delegations"}} {
			t.Run(tc.name+" "+route[0]+" "+route[1], func(t *testing.T) {
				resp, eb := call(t, s, route[0], route[1], testToken, tc.card, strings.NewReader("{}"))
				if resp.StatusCode != http.StatusBadRequest || eb.Code != CodeBadCard {
					t.Fatalf("got %d %+v", resp.StatusCode, eb)
				}
				if tc.card != "" && strings.Contains(eb.Error, tc.card[:10]) {
					t.Fatalf("the error %q holds the card text", eb.Error)
				}
			})
		}
	}
	if c := f.Calls(); len(c) != 0 {
		t.Fatalf("the node was called: %v", c)
	}
}

// TestBadRequests: requests the API cannot read are answered bad_request
// with what to do, and change nothing.
func TestBadRequests(t *testing.T) {
	f := newFake(t, 6)
	s := serve(t, f)
	card := f.card.String()
	for _, tc := range []struct {
		name, method, path, card, body, want string
	}{
		{"delegate to a non-peer", "POST", "/v1/delegations", card, `{"to": "bob", "days": 3}`, "not a peer id"},
		{"delegate for no days", "POST", "/v1/delegations", card, `{"to": "` + f.members[1].String() + `", "days": 0}`, "1 to 3660 days"},
		{"delegate, not JSON", "POST", "/v1/delegations", card, `to=bob`, "invalid character"},
		{"deposit to a non-vault", "POST", "/v1/vaults/nope/deposit", "", "x", "not a vault id"},
		{"delegated list of a non-vault", "GET", "/v1/vaults/nope/docs", "", "", "not a vault id"},
		{"approve without requester", "POST", "/v1/recovery/r1/approve", "", `{}`, "peer id of the structure that asked"},
		{"recovery of a non-vault", "POST", "/v1/recovery", "", `{"vault": "nope"}`, "vault"},
		{"remove a non-peer", "POST", "/v1/federation/remove", "", `{"member": "x"}`, "not a peer id"},
		{"register with a bad guardian", "POST", "/v1/vaults", "", `{"guardians": ["x"]}`, `guardian "x" is not a peer id`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, eb := call(t, s, tc.method, tc.path, testToken, tc.card, strings.NewReader(tc.body))
			if resp.StatusCode != http.StatusBadRequest || eb.Code != CodeBadRequest || !strings.Contains(eb.Error, tc.want) {
				t.Fatalf("got %d %+v, want bad_request %q", resp.StatusCode, eb, tc.want)
			}
		})
	}
	if c := f.Calls(); len(c) != 0 {
		t.Fatalf("the node was called: %v", c)
	}
}

// TestTooLarge: a document larger than the node takes is refused from its
// Content-Length, before a byte is read.
func TestTooLarge(t *testing.T) {
	f := newFake(t, 7)
	f.cfg.MaxDocumentBytes = 10
	s := serve(t, f)
	for _, path := range []string{"/v1/docs", "/v1/vaults/" + f.vault.String() + "/deposit"} {
		resp, eb := call(t, s, "POST", path, testToken, f.card.String(), strings.NewReader("eleven byte"))
		if resp.StatusCode != http.StatusRequestEntityTooLarge || eb.Code != CodeTooLarge {
			t.Fatalf("%s: got %d %+v", path, resp.StatusCode, eb)
		}
	}
	if c := f.Calls(); len(c) != 0 {
		t.Fatalf("the node was called: %v", c)
	}
}
