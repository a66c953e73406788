package server

import (
	"io/fs"
	"net/http"
	"strings"
)

// providerIcons serves GET /images/provider/{file} from icons: plain file
// names only, cached by clients for a year (an icon's file name changes
// when its picture does).
func providerIcons(icons fs.FS) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("file")
		if name == "" || strings.HasPrefix(name, ".") || strings.ContainsAny(name, `/\`) || !fs.ValidPath(name) {
			http.NotFound(w, r)
			return
		}
		f, err := fs.Stat(icons, name)
		if err != nil || f.IsDir() {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		http.ServeFileFS(w, r, icons, name)
	})
}
