package web

import (
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"

	"github.com/skip2/go-qrcode"

	"baluchon/node"
	"baluchon/proto"
)

// The admin links this structure's node with others: a pairing code
// (another node connects and remembers this one), an invitation into the
// federation (for one node, a few days), and joining with a code another
// admin gives. Codes are shown as text and as QR codes to scan.

type networkData struct {
	Federation string
	Members    []string
	Pairing    shownCode
	Invitation *shownCode
	Typed      string
}

type shownCode struct {
	Text string
	QR   template.URL // a data: URL of the code's QR image
}

func showCode(c *proto.Code) shownCode {
	text := c.String()
	png, err := qrcode.Encode(text, qrcode.Medium, 320)
	if err != nil {
		return shownCode{Text: text}
	}
	// our own PNG: a safe URL for the img element (CSP allows data: images)
	return shownCode{Text: text, QR: template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png))}
}

func (s *Server) networkView(r *http.Request) *view {
	v := s.newView(r)
	fed, members := s.node.Federation()
	d := networkData{Federation: fed.String(), Pairing: showCode(s.node.PairingCode())}
	if fed == "" {
		d.Federation = ""
	}
	for _, m := range members {
		d.Members = append(d.Members, structureName(v.L, s.node.StructureName(m))+" ("+m.String()+")")
	}
	v.Data = &d
	return v
}

func (s *Server) networkPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "network", s.networkView(r))
}

func (s *Server) networkInvite(w http.ResponseWriter, r *http.Request) {
	c, err := s.node.Invite(r.Context())
	v := s.networkView(r)
	if err != nil {
		s.log.Error("web invite", "err", err)
		v.Error = v.L.t("network_invite_failed")
		s.render(w, r, http.StatusInternalServerError, "network", v)
		return
	}
	sc := showCode(c)
	v.Data.(*networkData).Invitation = &sc
	s.render(w, r, http.StatusOK, "network", v)
}

func (s *Server) networkJoin(w http.ResponseWriter, r *http.Request) {
	text := r.PostFormValue("code")
	v := s.networkView(r)
	v.Data.(*networkData).Typed = text
	c, err := proto.ParseCode(text)
	if err != nil {
		v.Error = v.L.t("network_bad_code")
		s.render(w, r, http.StatusBadRequest, "network", v)
		return
	}
	msg := "network_paired"
	if c.Kind == proto.KindInvitation {
		_, err = s.node.JoinFederation(r.Context(), c)
		msg = "network_joined"
	} else {
		err = s.node.Pair(r.Context(), c)
	}
	switch {
	case errors.Is(err, node.ErrInvitation):
		v.Error = v.L.t("network_invitation_used")
		s.render(w, r, http.StatusBadRequest, "network", v)
		return
	case err != nil:
		s.log.Error("web join", "err", err)
		v.Error = v.L.t("network_join_failed")
		s.render(w, r, http.StatusBadGateway, "network", v)
		return
	}
	s.sessions.Put(r.Context(), "flash", v.L.t(msg))
	http.Redirect(w, r, "/network", http.StatusSeeOther)
}
