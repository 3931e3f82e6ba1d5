package proto

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"baluchon/vault"
)

// Protocol IDs.
const (
	ResolveID  protocol.ID = "/baluchon/resolve/1.0.0"
	HeadsID    protocol.ID = "/baluchon/heads/1.0.0"
	AnnounceID protocol.ID = "/baluchon/announce/1.0.0"
)

// StreamTimeout bounds one request, from opening the stream to the last
// byte of the response.
const StreamTimeout = 10 * time.Second

// Errors a Handler returns so that the requester gets the matching status.
// Any other error is reported as StatusInternal, without its text.
var (
	ErrNotFound = errors.New("not found")
	ErrRefused  = errors.New("refused")
)

// Handler answers the requests of remote peers. Every record it receives
// has been decoded and verified. Implementations must be safe for
// concurrent use.
type Handler interface {
	// Admitter says, before a byte of the request is read, whether the
	// peer may use the protocol at all; a peer it refuses gets a
	// "refused" status and nothing else.
	Admitter
	// Resolve returns the card record for a card lookup id, or ErrNotFound.
	Resolve(ctx context.Context, from peer.ID, id vault.LookupID) (*CardRecord, error)
	// Heads returns the current heads of a vault, or ErrNotFound.
	Heads(ctx context.Context, from peer.ID, v vault.VaultID) ([]*vault.Head, error)
	// Announce takes note of new heads or card records; ErrRefused when
	// this node does not accept them from this peer.
	Announce(ctx context.Context, from peer.ID, a *Announcement) error
}

// RemoteError is a non-OK status answered by a peer.
type RemoteError struct {
	Status Status
	Reason string
}

func (e *RemoteError) Error() string {
	if e.Reason == "" {
		return "peer answered: " + e.Status.String()
	}
	return fmt.Sprintf("peer answered: %s: %s", e.Status, e.Reason)
}

// IsNotFound reports whether err is a peer's "not found" answer.
func IsNotFound(err error) bool {
	var re *RemoteError
	return errors.As(err, &re) && re.Status == StatusNotFound
}

// Register installs the handlers of all baluchon protocols on h; those of
// the federation protocols too when handler is also a FederationHandler.
// Errors are logged to log at debug level: a misbehaving peer must not fill
// the logs.
func Register(h host.Host, handler Handler, log *slog.Logger) {
	s := &server{handler: handler, admit: handler, log: log}
	h.SetStreamHandler(ResolveID, s.wrap(ResolveID, maxResolveRequest, s.resolve))
	h.SetStreamHandler(HeadsID, s.wrap(HeadsID, maxHeadsRequest, s.heads))
	h.SetStreamHandler(AnnounceID, s.wrap(AnnounceID, maxAnnounceRequest, s.announce))
	if fh, ok := handler.(FederationHandler); ok {
		registerFederation(h, fh, s)
	}
	if bh, ok := handler.(BlockHandler); ok {
		registerBlock(h, bh, s)
	}
	if dh, ok := handler.(DAGStreamHandler); ok {
		registerDAGStream(h, dh, s)
	}
}

// Unregister removes the handlers installed by Register.
func Unregister(h host.Host) {
	for _, id := range []protocol.ID{ResolveID, HeadsID, AnnounceID, JoinID, MembersID, SyncID, CardsID, RecordsID, BlockID, DAGStreamID} {
		h.RemoveStreamHandler(id)
	}
}

type server struct {
	handler Handler
	admit   Admitter
	log     *slog.Logger
}

// refusedReason is what a peer that may not use a protocol is told.
const refusedReason = "not admitted (a node in a federation serves its members only)"

// wrap checks that the peer may use the protocol, reads one request of at
// most limit bytes (reserving its memory in the stream's scope as it
// arrives), calls serve, and writes its response.
func (s *server) wrap(id protocol.ID, limit int, serve func(ctx context.Context, from peer.ID, req []byte) []byte) network.StreamHandler {
	return func(st network.Stream) {
		defer st.Close()
		_ = st.SetDeadline(time.Now().Add(StreamTimeout))
		from := st.Conn().RemotePeer()
		if !s.admit.Admit(from, id) {
			// Nothing of the request is read: a refused peer costs this
			// node one stream and a few bytes of answer.
			s.log.Debug("peer refused", "protocol", id, "peer", from)
			_ = writeMsg(st, appendStatus(nil, StatusRefused, refusedReason))
			return
		}
		if err := st.Scope().SetService(ServiceName); err != nil {
			s.log.Debug("stream over the service limits", "protocol", id, "peer", from, "err", err)
			_ = st.Reset()
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), StreamTimeout)
		defer cancel()
		res := &reservation{scope: st.Scope()}
		defer res.release()
		req, err := readMsg(bufio.NewReader(st), limit, res.reserve)
		if err != nil {
			s.log.Debug("bad request", "protocol", id, "peer", from, "err", err)
			_ = st.Reset()
			return
		}
		if err := writeMsg(st, serve(ctx, from, req)); err != nil {
			s.log.Debug("write response", "protocol", id, "peer", from, "err", err)
			_ = st.Reset()
		}
	}
}

// errorResponse maps a handler's error to a status response.
func (s *server) errorResponse(id protocol.ID, from peer.ID, err error) []byte {
	switch {
	case errors.Is(err, ErrNotFound):
		return appendStatus(nil, StatusNotFound, "")
	case errors.Is(err, ErrRefused):
		return appendStatus(nil, StatusRefused, err.Error())
	}
	s.log.Warn("handler failed", "protocol", id, "peer", from, "err", err)
	return appendStatus(nil, StatusInternal, "")
}

func (s *server) resolve(ctx context.Context, from peer.ID, req []byte) []byte {
	id, err := decodeID(req)
	if err != nil {
		return appendStatus(nil, StatusInvalid, err.Error())
	}
	c, err := s.handler.Resolve(ctx, from, id)
	if err != nil {
		return s.errorResponse(ResolveID, from, err)
	}
	return encodeResolveResponse(c)
}

func (s *server) heads(ctx context.Context, from peer.ID, req []byte) []byte {
	v, err := decodeID(req)
	if err != nil {
		return appendStatus(nil, StatusInvalid, err.Error())
	}
	heads, err := s.handler.Heads(ctx, from, v)
	if err != nil {
		return s.errorResponse(HeadsID, from, err)
	}
	if len(heads) > MaxHeads {
		heads = heads[len(heads)-MaxHeads:]
	}
	return encodeHeadsResponse(heads)
}

func (s *server) announce(ctx context.Context, from peer.ID, req []byte) []byte {
	a, err := decodeAnnouncement(req)
	if err != nil {
		s.log.Debug("invalid announcement", "peer", from, "err", err)
		return appendStatus(nil, StatusInvalid, err.Error())
	}
	if err := s.handler.Announce(ctx, from, a); err != nil {
		return s.errorResponse(AnnounceID, from, err)
	}
	return appendStatus(nil, StatusOK, "")
}

// roundTrip sends one request to p and returns the raw response.
func roundTrip(ctx context.Context, h host.Host, p peer.ID, id protocol.ID, req []byte, max int) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, StreamTimeout)
	defer cancel()
	st, err := h.NewStream(ctx, p, id)
	if err != nil {
		return nil, fmt.Errorf("open %s stream: %w", id, err)
	}
	defer st.Close()
	if err := st.Scope().SetService(ServiceName); err != nil {
		_ = st.Reset()
		return nil, fmt.Errorf("open %s stream: %w", id, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = st.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = st.Reset() })
	defer stop()
	// A server that refuses a peer answers without reading the request,
	// and on some transports (QUIC) its close stops our sending: a failed
	// send is reported only when no answer arrived either.
	sendErr := sendRequest(st, req)
	res := &reservation{scope: st.Scope()}
	defer res.release()
	resp, err := readMsg(bufio.NewReader(st), max, res.reserve)
	if err != nil && sendErr != nil {
		_ = st.Reset()
		return nil, fmt.Errorf("send %s request: %w", id, sendErr)
	}
	if err != nil {
		_ = st.Reset()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s: %w", id, ctx.Err())
		}
		return nil, fmt.Errorf("%s: %w", id, err)
	}
	return resp, nil
}

// sendRequest writes one request and closes the stream's sending side.
func sendRequest(st network.Stream, req []byte) error {
	if err := writeMsg(st, req); err != nil {
		return err
	}
	return st.CloseWrite()
}

// Resolve asks peer p for the card record of lookup id. The record is
// verified: the pointer is signed by the card's key and the envelope
// matches it.
func Resolve(ctx context.Context, h host.Host, p peer.ID, id vault.LookupID) (*CardRecord, error) {
	resp, err := roundTrip(ctx, h, p, ResolveID, id[:], maxResolveResponse)
	if err != nil {
		return nil, err
	}
	return decodeResolveResponse(resp, id)
}

// Heads asks peer p for the current heads of vault v. Every head is verified.
func Heads(ctx context.Context, h host.Host, p peer.ID, v vault.VaultID) ([]*vault.Head, error) {
	resp, err := roundTrip(ctx, h, p, HeadsID, v[:], maxHeadsResponse)
	if err != nil {
		return nil, err
	}
	return decodeHeadsResponse(resp, v)
}

// Announce sends a to peer p.
func Announce(ctx context.Context, h host.Host, p peer.ID, a *Announcement) error {
	if len(a.Heads) > MaxHeads || len(a.Cards) > MaxCards || len(a.Records) > MaxAnnounceRecords {
		return fmt.Errorf("announcement of %d heads, %d cards and %d records is over the limits (%d, %d, %d)", len(a.Heads), len(a.Cards), len(a.Records), MaxHeads, MaxCards, MaxAnnounceRecords)
	}
	resp, err := roundTrip(ctx, h, p, AnnounceID, encodeAnnouncement(a), maxAnnounceResponse)
	if err != nil {
		return err
	}
	return decodeStatusResponse(resp)
}
