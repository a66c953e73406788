package web

import (
	"log/slog"
	"net/http"
)

// adminView is the console's home page.
type adminView struct {
	page
	Role string
}

var adminTemplate = parse("admin.html")

// AdminHome serves GET /admin, the operator console's home: who is signed
// in, with which role. Wrap it in Auth.Operator.
func AdminHome(logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := signedInFrom(r.Context())
		p := s.page
		p.Title, p.Tab = p.T("admin.title"), "home"
		render(w, r, logger, adminTemplate, http.StatusOK, adminView{page: p, Role: string(s.operator.Role)})
	})
}
