package web

import (
	"errors"
	"fmt"
	"io"
	"net/http"

	"baluchon/node"
)

// A person's file goes onto a USB stick as a CAR file (the export of
// baluchon export --card), and comes back at another structure with no
// network (baluchon import).

// exportFile downloads the open file's copy.
func (s *Server) exportFile(w http.ResponseWriter, r *http.Request, f *openFile) {
	ctx := r.Context()
	p, err := s.node.PlanExportVault(ctx, f.card)
	if err != nil {
		l := s.cats.localizer(s.lang(r), false)
		st, msg := s.cardError(l, err)
		s.fail(w, r, st, "error_plain", "Message", msg)
		return
	}
	short := []rune(f.vault)
	if len(short) > 8 {
		short = short[:8]
	}
	h := w.Header()
	h.Set("Content-Type", "application/vnd.ipld.car")
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="dossier-%s.car"`, string(short)))
	if err := s.node.WriteExport(ctx, p, w, nil); err != nil {
		// the download is cut short: the browser says it failed
		s.log.Error("web export", "err", err)
		panic(http.ErrAbortHandler)
	}
}

func (s *Server) importPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "import", s.newView(r))
}

func (s *Server) importPost(w http.ResponseWriter, r *http.Request) {
	v := s.newView(r)
	mr, err := r.MultipartReader()
	if err != nil {
		v.Error = v.L.t("import_none")
		s.render(w, r, http.StatusBadRequest, "import", v)
		return
	}
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			v.Error = v.L.t("upload_broken")
			s.render(w, r, http.StatusBadRequest, "import", v)
			return
		}
		if p.FormName() != "car" || p.FileName() == "" {
			continue
		}
		res, err := s.node.Import(r.Context(), p, nil)
		var ie *node.ImportError
		switch {
		case errors.As(err, &ie):
			v.Error = v.L.t("import_refused")
			s.render(w, r, http.StatusUnprocessableEntity, "import", v)
			return
		case err != nil:
			s.log.Error("web import", "err", err)
			v.Error = v.L.t("import_failed")
			s.render(w, r, http.StatusInternalServerError, "import", v)
			return
		}
		s.sessions.Put(r.Context(), "flash", v.L.t("import_done", "Count", res.Vaults))
		http.Redirect(w, r, "/import", http.StatusSeeOther)
		return
	}
	v.Error = v.L.t("import_none")
	s.render(w, r, http.StatusBadRequest, "import", v)
}
