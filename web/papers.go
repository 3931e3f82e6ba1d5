package web

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"slices"

	"github.com/libp2p/go-libp2p/core/peer"

	"baluchon/cardprint"
	"baluchon/vault"
)

// PapersPrinter prints the "your papers" sheet a person keeps
// (cardprint.Printer implements it; without it the page offers no sheet).
type PapersPrinter interface {
	PapersPDF(w io.Writer, p cardprint.Papers) error
}

// guardianLister names the guardians of a file (*node.Node has it).
type guardianLister interface {
	Guardians(ctx context.Context, v vault.VaultID) ([]peer.ID, error)
}

// papersPDF prints the open file's documents, their end dates and its
// guardian structures, in French and the person's language.
func (s *Server) papersPDF(w http.ResponseWriter, r *http.Request, f *openFile) {
	pp, ok := s.cfg.Cards.(PapersPrinter)
	if !ok {
		http.NotFound(w, r)
		return
	}
	entries, err := s.entries(r.Context(), f)
	if err != nil {
		st, msg := s.cardError(s.cats.localizer(s.lang(r), false), err)
		s.fail(w, r, st, "error_plain", "Message", msg)
		return
	}
	p := cardprint.Papers{Lang: s.personLang(r, f.secondLang), Structure: s.accounts.structure(), Printed: s.now()}
	if p.Lang == defaultLang {
		p.Lang = ""
	}
	for _, c := range Categories {
		for _, e := range entries {
			if category(e.Category) == c && len(p.Docs) < cardprint.MaxPaperDocs {
				p.Docs = append(p.Docs, cardprint.PaperDoc{Title: e.Title, Category: c, Expires: e.Expires})
			}
		}
	}
	if gl, ok := s.node.(guardianLister); ok {
		if v, err := vault.ParseVaultID(f.vault); err == nil {
			if gs, err := gl.Guardians(r.Context(), v); err == nil {
				for _, g := range gs {
					p.Guardians = append(p.Guardians, s.node.StructureName(g))
				}
			}
		}
	}
	slices.Sort(p.Guardians)
	var b bytes.Buffer
	if err := pp.PapersPDF(&b, p); err != nil {
		s.log.Error("web papers pdf", "err", err)
		s.fail(w, r, http.StatusInternalServerError, "error_generic")
		return
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", `inline; filename="mes-papiers.pdf"`)
	w.Write(b.Bytes())
}
