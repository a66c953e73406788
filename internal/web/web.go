// Package web serves kios's pages for people: server-rendered HTML from
// embedded templates and assets, readable on a phone, working without
// JavaScript (scripts only count down and refresh).
package web

import (
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"kios/internal/reference"
	"kios/internal/rupiah"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// page is what every template gets.
type page struct {
	Title string
	Now   string
}

var funcs = template.FuncMap{"rupiah": rupiah.Format}

// parse builds one page's template set: the layout plus the page.
func parse(name string) *template.Template {
	return template.Must(template.New("layout").Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", "templates/"+name))
}

// Static serves the embedded assets under /static/.
func Static() http.Handler {
	sub, _ := fs.Sub(staticFiles, "static")
	fsrv := http.StripPrefix("/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fsrv.ServeHTTP(w, r)
	})
}

// render executes t into a buffer first, so that a template error becomes
// a clean 500 instead of half a page.
func render(w http.ResponseWriter, r *http.Request, logger *slog.Logger, t *template.Template, status int, data any) {
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		logger.ErrorContext(r.Context(), "web: render", "err", err)
		http.Error(w, "Terjadi kesalahan pada server", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// wib renders a time for people, in WIB.
func wib(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(reference.WIB).Format("02/01/2006 15:04:05") + " WIB"
}
