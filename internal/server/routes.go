package server

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"kios/internal/face/prepaid"
)

// addRoutes is the map of kios's HTTP API: every route is here.
func addRoutes(mux *http.ServeMux, d Deps, auth *prepaid.Auth) {
	// Operations.
	mux.Handle("GET /healthz", healthz())
	mux.Handle("GET /readyz", readyz(d.DB, d.Logger))
	mux.Handle("GET /metrics", promhttp.HandlerFor(d.Metrics.Registry, promhttp.HandlerOpts{}))

	// The prepaid face (shared/spec/10-prepaid-api.md).
	mux.Handle("POST /api/prepaid/transaction/balance", auth.Signed(prepaid.Balance(d.Members, d.Logger)))
	mux.Handle("/api/prepaid/", prepaid.NotFound())
}
