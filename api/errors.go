package api

import (
	"encoding/json"
	"errors"
	"net/http"

	"baluchon/node"
	"baluchon/proto"
	"baluchon/vault"
)

// Error codes of the API. An error is answered as JSON
// {"code": CODE, "error": MESSAGE} with an HTTP status; errorCode is the
// one place where the node's errors get their codes.
const (
	CodeBadRequest       = "bad_request"
	CodeUnauthorized     = "unauthorized"
	CodeBadCard          = "bad_card"
	CodeUnknownCard      = "unknown_card"
	CodeVaultUnreachable = "vault_unreachable"
	CodeNoDocument       = "no_document"
	CodeTooLarge         = "too_large"
	CodeBadAddr          = "bad_addr"
	CodeUnreachable      = "unreachable"
	CodeBadImport        = "bad_import"
	CodeBadHave          = "bad_have" // a have file that cannot be used (courier.go)
	CodeBadCode          = "bad_code"
	CodeInvitation       = "invitation"
	CodeCardReplaced     = "card_replaced"
	CodeNoDelegation     = "no_delegation"
	CodeNotEnough        = "not_enough_approvals"
	CodeRefused          = "refused"
	CodeQuota            = "quota"
	CodeTooManyDeposits  = "too_many_deposits"
	CodeInternal         = "internal"
)

// Error is an error answered by the node.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Message }

// errorBody is an error on the wire.
type errorBody struct {
	Code  string `json:"code"`
	Error string `json:"error"`
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code string, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(errorBody{Code: code, Error: err.Error()})
}

// badRequest answers a request the API cannot read.
func badRequest(w http.ResponseWriter, err error) {
	writeError(w, http.StatusBadRequest, CodeBadRequest, err)
}

// fail answers an error of the node.
func (s *server) fail(w http.ResponseWriter, err error) {
	status, code := s.errorCode(err)
	writeError(w, status, code, err)
}

// errorCode maps an error of the node to an HTTP status and an API code.
func (s *server) errorCode(err error) (int, string) {
	var (
		tl  *node.TooLargeError
		nd  *node.NoDocumentError
		ae  *node.AddrError
		ue  *node.UnreachableError
		cte *vault.CardTextError
		ie  *node.ImportError
		ce  *proto.CodeError
		cr  *node.CardReplacedError
		qe  *node.QuotaError
	)
	switch {
	case errors.As(err, &qe):
		return http.StatusInsufficientStorage, CodeQuota
	case errors.Is(err, node.ErrTooManyDeposits):
		return http.StatusConflict, CodeTooManyDeposits
	case errors.As(err, &cr):
		return http.StatusGone, CodeCardReplaced
	case errors.Is(err, node.ErrNoDelegation):
		return http.StatusForbidden, CodeNoDelegation
	case errors.Is(err, vault.ErrNotEnoughShares):
		return http.StatusConflict, CodeNotEnough
	case errors.Is(err, node.ErrRequesterMismatch), errors.Is(err, node.ErrCannotRemove), errors.Is(err, node.ErrNotMember):
		return http.StatusForbidden, CodeRefused
	case errors.As(err, &ce):
		return http.StatusBadRequest, CodeBadCode
	case errors.Is(err, node.ErrInvitation):
		return http.StatusForbidden, CodeInvitation
	case errors.As(err, &ie):
		return http.StatusUnprocessableEntity, CodeBadImport
	case errors.As(err, new(*node.HaveError)), errors.Is(err, node.ErrNothingInCommon):
		return http.StatusUnprocessableEntity, CodeBadHave
	case errors.As(err, &cte):
		return http.StatusBadRequest, CodeBadCard
	case errors.Is(err, node.ErrUnknownCard):
		return http.StatusNotFound, CodeUnknownCard
	case errors.Is(err, node.ErrVaultUnreachable):
		return http.StatusServiceUnavailable, CodeVaultUnreachable
	case errors.As(err, &nd):
		return http.StatusNotFound, CodeNoDocument
	case errors.As(err, &tl):
		return http.StatusRequestEntityTooLarge, CodeTooLarge
	case errors.As(err, &ae):
		return http.StatusBadRequest, CodeBadAddr
	case errors.As(err, &ue):
		return http.StatusBadGateway, CodeUnreachable
	}
	s.log.Error("api request failed", "err", err)
	return http.StatusInternalServerError, CodeInternal
}
