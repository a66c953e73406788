// Package web serves kios's pages for people: server-rendered HTML from
// embedded templates and assets, one look for every page, readable on a
// phone, Indonesian first with an English switch, and working without
// JavaScript (scripts only count down, copy and tidy the address bar).
//
// Signed-in pages (the member dashboard, the operator console) run behind
// Auth: server-side sessions, a CSRF token on every form, and sign-in
// attempts limited per account and per IP address. Every action calls the
// domain packages; no rule is implemented here a second time.
package web

import (
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"kios/internal/reference"
	"kios/internal/rupiah"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// page is what every template gets: the frame around the content.
type page struct {
	Title string
	Now   string
	Lang  string // langID or langEN
	Path  string // the page's own path, for the language switch
	// Area is "member", "admin" or "" (public); User is who is signed in.
	Area string
	User string
	Tab  string // the active tab of the area's navigation
	// Nav is the console's tabs the operator's role may see.
	Nav  []navItem
	CSRF string // the token every form of the page carries
	// Notice and Problem are a line of good news and of trouble.
	Notice  string
	Problem string
	// CleanURL, when set, replaces the address bar's URL (by script), so
	// that a reload after a form fetches the page instead of posting again.
	CleanURL string
}

// LangURL is the page's own address in language l, for the language
// switch.
func (p page) LangURL(l string) string {
	if strings.Contains(p.Path, "?") {
		return p.Path + "&lang=" + l
	}
	return p.Path + "?lang=" + l
}

// Wide reports whether the page uses the wide layout of the dashboards.
func (p page) Wide() bool { return p.Area != "" }

var funcs = template.FuncMap{
	"rupiah": rupiah.Format,
	"wib":    wib,
	"join":   strings.Join,
	"neg":    func(n int64) int64 { return -n },
}

// parse builds one page's template set: the layout plus the page, and
// the partials it uses.
func parse(names ...string) *template.Template {
	files := []string{"templates/layout.html"}
	for _, n := range names {
		files = append(files, "templates/"+n)
	}
	return template.Must(template.New("layout").Funcs(funcs).ParseFS(templateFiles, files...))
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

// newPage returns the frame of a public page for r, in its language.
func newPage(w http.ResponseWriter, r *http.Request, now time.Time) page {
	return page{Lang: language(w, r), Path: r.URL.Path, Now: wib(now)}
}

// render executes t into a buffer first, so that a template error becomes
// a clean 500 instead of half a page. Pages are never cached: they may
// show balances, or a secret shown once.
func render(w http.ResponseWriter, r *http.Request, logger *slog.Logger, t *template.Template, status int, data any) {
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		logger.ErrorContext(r.Context(), "web: render", "err", err)
		http.Error(w, "Terjadi kesalahan pada server", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// messagePage is a page of one title and one paragraph: refusals and
// errors.
type messagePage struct {
	page
	Heading string
	Body    string
	Link    string
}

var messageTemplate = parse("message.html")

// showMessage renders a message page with status; heading and body are
// catalog keys.
func showMessage(w http.ResponseWriter, r *http.Request, logger *slog.Logger, p page, status int, heading, body string) {
	p.Title = p.T(heading)
	render(w, r, logger, messageTemplate, status, messagePage{page: p, Heading: p.T(heading), Body: p.T(body), Link: p.Path})
}

// wib renders a time for people, in WIB.
func wib(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(reference.WIB).Format("02/01/2006 15:04:05") + " WIB"
}
