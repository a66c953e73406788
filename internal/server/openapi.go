package server

import (
	_ "embed"
	"net/http"
)

// openAPI is the OpenAPI 3.1 description of every API route of routes.go:
// the four faces and the operations endpoints. It is kept by hand beside
// the routes; TestOpenAPICoversRoutes checks that the two agree.
//
//go:embed openapi.json
var openAPI []byte

// openAPIDoc answers GET /openapi.json with the document.
func openAPIDoc() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Write(openAPI)
	})
}
