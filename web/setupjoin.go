package web

import (
	"errors"
	"net/http"

	"baluchon/node"
	"baluchon/proto"
)

// The first visit may also join a federation, with an invitation typed or
// scanned (scan.js reads its QR code with the camera): the new structure is
// then a member from its first minute, which is what a volunteer setting up
// a node for an association that already has partners wants.

// parseSetupInvitation parses the setup form's invitation; empty: none.
// Only an invitation is accepted here (a pairing code is for the network
// page).
func parseSetupInvitation(text string) (*proto.Code, error) {
	if text == "" {
		return nil, nil
	}
	c, err := proto.ParseCode(text)
	if err != nil {
		return nil, err
	}
	if c.Kind != proto.KindInvitation {
		return nil, errors.New("not an invitation")
	}
	return c, nil
}

// setupJoin joins the federation of c once the admin account exists, and
// goes to the network page, which says how it went.
func (s *Server) setupJoin(w http.ResponseWriter, r *http.Request, l *loc, c *proto.Code) {
	msg := "network_joined"
	if _, err := s.node.JoinFederation(r.Context(), c); err != nil {
		s.log.Error("web setup join", "err", err)
		msg = "network_join_failed"
		if errors.Is(err, node.ErrInvitation) {
			msg = "network_invitation_used"
		}
	}
	s.sessions.Put(r.Context(), "flash", l.t("flash_setup_done")+" "+l.t(msg))
	http.Redirect(w, r, "/network", http.StatusSeeOther)
}
