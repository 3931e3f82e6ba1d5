package web

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"path"
	"strings"
	"unicode"

	"baluchon/node"
	"baluchon/vault"
)

// Mail received for a person ("a letter came for Amina"): the worker
// types the number of the person's file, written in their paper file, and
// adds the document without the card. The person takes it in when they
// next show their card; their file then says so.

type depositForm struct {
	Number, Title, Category string
	Max                     int64
}

func (s *Server) depositPage(w http.ResponseWriter, r *http.Request) {
	v := s.newView(r)
	v.Data = depositForm{Max: s.node.MaxDocumentBytes()}
	s.render(w, r, http.StatusOK, "deposit", v)
}

func (s *Server) depositPost(w http.ResponseWriter, r *http.Request) {
	v := s.newView(r)
	maxDoc := s.node.MaxDocumentBytes()
	form := depositForm{Max: maxDoc}
	refuse := func(status int, id string, args ...any) {
		v.Error = v.L.t(id, args...)
		v.Data = form
		s.render(w, r, status, "deposit", v)
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxDoc+1<<20)
	mr, err := r.MultipartReader()
	if err != nil {
		refuse(http.StatusBadRequest, "upload_none")
		return
	}
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			refuse(http.StatusRequestEntityTooLarge, "upload_broken")
			return
		}
		if p.FileName() == "" {
			b, _ := io.ReadAll(io.LimitReader(p, 1000))
			val := strings.TrimSpace(string(b))
			switch p.FormName() {
			case "number":
				form.Number = val
			case "title":
				form.Title = val
			case "category":
				form.Category = category(val)
			}
			continue
		}
		// spaces and invisible marks copied with the number do not count
		id, err := vault.ParseVaultID(strings.Map(func(r rune) rune {
			if unicode.IsSpace(r) || unicode.Is(unicode.Cf, r) {
				return -1
			}
			return r
		}, form.Number))
		if err != nil {
			refuse(http.StatusBadRequest, "deposit_bad_number")
			return
		}
		name := path.Base(strings.ReplaceAll(p.FileName(), "\\", "/"))
		br := bufio.NewReaderSize(p, 512)
		head, _ := br.Peek(512)
		if len(head) == 0 {
			refuse(http.StatusBadRequest, "upload_empty", "Name", v.L.bidi(name))
			return
		}
		m := sniff(head, name)
		if m == "" {
			refuse(http.StatusUnsupportedMediaType, "upload_type", "Name", v.L.bidi(name))
			return
		}
		title := form.Title
		if title == "" {
			title = strings.TrimSuffix(name, path.Ext(name))
		}
		cr := &capReader{r: br, n: maxDoc}
		err = s.scanned(r.Context(), cr, func(body io.Reader) error {
			_, err := s.node.Deposit(r.Context(), id, body, node.DepositMetaIn{Title: title, Category: form.Category, FileName: name, MIME: m})
			return err
		})
		var tl *node.TooLargeError
		st, msg, refused := s.scanRefusal(v.L, name, err)
		switch {
		case refused && !cr.over:
			v.Error, v.Data = msg, form
			s.render(w, r, st, "deposit", v)
		case cr.over || errors.As(err, &tl):
			refuse(http.StatusRequestEntityTooLarge, "upload_too_large", "Name", v.L.bidi(name), "Size", v.L.Size(maxDoc))
		case errors.Is(err, node.ErrTooManyDeposits):
			refuse(http.StatusTooManyRequests, "deposit_too_many")
		case errors.Is(err, node.ErrVaultUnreachable), errors.Is(err, node.ErrUnknownCard):
			refuse(http.StatusNotFound, "deposit_unknown")
		case err != nil:
			s.log.Error("web deposit", "err", err)
			refuse(http.StatusInternalServerError, "upload_failed", "Name", v.L.bidi(name))
		default:
			s.sessions.Put(r.Context(), "flash", v.L.t("deposit_done", "Title", v.L.bidi(title)))
			http.Redirect(w, r, "/deposit", http.StatusSeeOther)
		}
		return
	}
	refuse(http.StatusBadRequest, "upload_none")
}
