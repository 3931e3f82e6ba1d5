package proto

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// DAGStreamID is the protocol with which a node fetches the blocks of a
// vault state from one peer in one stream, instead of asking bitswap for
// them level by level (the index, its pages, the documents' roots, their
// leaves).
//
// Request: the CID of the state's manifest root (uvarint-prefixed bytes),
// which the asking node took from a head it verified, then optionally one
// byte, 1 when the asking node has the root already (it is not sent, the
// blocks it links are). Response: a status
// message; with OK, one message per block, breadth first from the root
// (a block always after the block that links it): uvarint-prefixed CID
// bytes then the block's bytes (at most MaxBlockAnswer); then an empty
// message, which says that every block below the root was sent. A server
// that lacks a block ends the stream without the empty message, and the
// asking node fetches the rest with bitswap. Every message is
// length-prefixed as in the other protocols; each waits at most
// StreamTimeout.
//
// The asking node checks every block against its CID and keeps only
// blocks that a block already taken links (the root first): a server can
// send nothing else. Only the peers the node sends bitswap blocks to are
// answered (Admitter), from the node's own store.
const DAGStreamID protocol.ID = "/baluchon/dagstream/1.0.0"

const (
	maxDAGStreamRequest = 10 + maxCID + 1
	maxDAGStreamMessage = 10 + maxCID + 10 + MaxBlockAnswer
)

// DAGStreamHandler serves the DAG stream protocol.
type DAGStreamHandler interface {
	// DAGBlocks calls send for root (unless skipRoot) and every block
	// below it in this node's store, breadth first, and returns
	// ErrNotFound when root is not here. It returns nil once the whole DAG was sent, or
	// ErrIncomplete when a block below root is missing here.
	DAGBlocks(ctx context.Context, from peer.ID, root cid.Cid, skipRoot bool, send func(c cid.Cid, data []byte) error) error
}

// ErrIncomplete says that a DAG stream stopped before its end: the server
// lacks a block of the DAG, or the stream was cut.
var ErrIncomplete = errors.New("the DAG stream ended before the whole DAG was sent")

func registerDAGStream(h host.Host, handler DAGStreamHandler, s *server) {
	h.SetStreamHandler(DAGStreamID, func(st network.Stream) {
		defer st.Close()
		_ = st.SetDeadline(time.Now().Add(StreamTimeout))
		from := st.Conn().RemotePeer()
		if !s.admit.Admit(from, DAGStreamID) {
			s.log.Debug("peer refused", "protocol", DAGStreamID, "peer", from)
			_ = writeMsg(st, appendStatus(nil, StatusRefused, refusedReason))
			return
		}
		if err := st.Scope().SetService(ServiceName); err != nil {
			s.log.Debug("stream over the service limits", "protocol", DAGStreamID, "peer", from, "err", err)
			_ = st.Reset()
			return
		}
		res := &reservation{scope: st.Scope()}
		defer res.release()
		req, err := readMsg(bufio.NewReader(st), maxDAGStreamRequest, res.reserve)
		if err != nil {
			s.log.Debug("bad request", "protocol", DAGStreamID, "peer", from, "err", err)
			_ = st.Reset()
			return
		}
		d := newDecoder(req)
		cb := d.Bytes(maxCID)
		skipRoot := false
		if d.Err() == nil && len(d.Rest()) == 1 {
			skipRoot = d.Byte() == 1
		}
		if err := d.End(); err != nil {
			_ = writeMsg(st, appendStatus(nil, StatusInvalid, err.Error()))
			return
		}
		root, err := cid.Cast(cb)
		if err != nil {
			_ = writeMsg(st, appendStatus(nil, StatusInvalid, "dag stream request: "+err.Error()))
			return
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		w := bufio.NewWriterSize(st, 64<<10)
		started := false
		var hdr []byte
		err = handler.DAGBlocks(ctx, from, root, skipRoot, func(c cid.Cid, data []byte) error {
			if len(data) > MaxBlockAnswer {
				return fmt.Errorf("block %s of %d bytes is too large to send", c, len(data))
			}
			_ = st.SetWriteDeadline(time.Now().Add(StreamTimeout))
			if !started {
				started = true
				if err := writeMsg(w, appendStatus(nil, StatusOK, "")); err != nil {
					return err
				}
			}
			cb := c.Bytes()
			field := appendBytes(nil, cb)
			hdr = binary.AppendUvarint(hdr[:0], uint64(len(field)+len(data)))
			hdr = append(hdr, field...)
			if _, err := w.Write(hdr); err != nil {
				return err
			}
			_, err := w.Write(data)
			return err
		})
		_ = st.SetWriteDeadline(time.Now().Add(StreamTimeout))
		switch {
		case err == nil:
			// The empty message: the whole DAG was sent.
			if !started {
				_ = writeMsg(w, appendStatus(nil, StatusOK, ""))
			}
			err = writeMsg(w, nil)
		case !started:
			_ = writeMsg(w, s.errorResponse(DAGStreamID, from, err))
			err = nil
		case errors.Is(err, ErrIncomplete):
			err = nil // ended without the empty message
		}
		if ferr := w.Flush(); err == nil {
			err = ferr
		}
		if err != nil {
			s.log.Debug("dag stream", "peer", from, "err", err)
			_ = st.Reset()
		}
	})
}

// GetDAG asks peer p for the blocks of the DAG at root (without root
// itself when haveRoot), in one stream, and calls take for each, in the order sent, after checking it against its
// CID; take's error ends the stream. It returns nil when the server said
// it sent the whole DAG, ErrIncomplete (wrapped) when the stream ended
// before, and the server's refusal as a *RemoteError.
func GetDAG(ctx context.Context, h host.Host, p peer.ID, root cid.Cid, haveRoot bool, take func(c cid.Cid, data []byte) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := h.NewStream(ctx, p, DAGStreamID)
	if err != nil {
		return fmt.Errorf("open %s stream: %w", DAGStreamID, err)
	}
	defer st.Close()
	if err := st.Scope().SetService(ServiceName); err != nil {
		_ = st.Reset()
		return fmt.Errorf("open %s stream: %w", DAGStreamID, err)
	}
	stop := context.AfterFunc(ctx, func() { _ = st.Reset() })
	defer stop()
	_ = st.SetWriteDeadline(time.Now().Add(StreamTimeout))
	req := appendBytes(nil, root.Bytes())
	if haveRoot {
		req = append(req, 1)
	}
	sendErr := sendRequest(st, req) // a refusal may still be there to read (see roundTrip)
	r := bufio.NewReaderSize(st, 64<<10)
	read := func(limit int) ([]byte, error) {
		_ = st.SetReadDeadline(time.Now().Add(StreamTimeout))
		res := &reservation{scope: st.Scope()}
		defer res.release()
		msg, err := readMsg(r, limit, res.reserve)
		if err != nil && ctx.Err() != nil {
			err = ctx.Err()
		}
		return msg, err
	}
	fail := func(err error) error {
		_ = st.Reset()
		return err
	}
	msg, err := read(1 + 10 + maxReason)
	if err != nil && sendErr != nil {
		return fail(fmt.Errorf("send %s request: %w", DAGStreamID, sendErr))
	}
	if err != nil {
		return fail(fmt.Errorf("%s: %w", DAGStreamID, err))
	}
	d := newDecoder(msg)
	if err := d.expectOK(); err != nil {
		return fail(fmt.Errorf("%s: %w", DAGStreamID, err))
	}
	if err := d.End(); err != nil {
		return fail(fmt.Errorf("%s: %w", DAGStreamID, err))
	}
	for {
		msg, err := read(maxDAGStreamMessage)
		if err != nil {
			return fail(fmt.Errorf("%s: %w: %w", DAGStreamID, ErrIncomplete, err))
		}
		if len(msg) == 0 {
			return nil
		}
		d := newDecoder(msg)
		cb := d.Bytes(maxCID)
		if d.Err() != nil {
			return fail(fmt.Errorf("%s: %w", DAGStreamID, d.Err()))
		}
		c, err := cid.Cast(cb)
		if err != nil {
			return fail(fmt.Errorf("%s: %w", DAGStreamID, err))
		}
		data := d.Rest()
		if len(data) > MaxBlockAnswer {
			return fail(fmt.Errorf("%s: block of %d bytes is over the limit", DAGStreamID, len(data)))
		}
		got, err := c.Prefix().Sum(data)
		if err != nil || !got.Equals(c) {
			return fail(fmt.Errorf("%s: block %s: the data does not match its CID", DAGStreamID, c))
		}
		if err := take(c, data); err != nil {
			return fail(err)
		}
	}
}
