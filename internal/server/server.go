// Package server assembles kios's HTTP handler: every route (routes.go),
// the shared middleware, health and metrics.
package server

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"kios/internal/catalog"
	"kios/internal/db"
	"kios/internal/face/admin"
	"kios/internal/face/prepaid"
	"kios/internal/funding"
	"kios/internal/httpx"
	"kios/internal/incoming"
	"kios/internal/member"
	"kios/internal/operator"
	"kios/internal/order"
	"kios/internal/payment"
	"kios/internal/ratelimit"
	"kios/internal/session"
	"kios/internal/webhook"

	supplierprepaid "kios/internal/supplier/prepaid"
)

// Deps are what the handler needs. Each field is passed on explicitly to
// the handlers that use it.
type Deps struct {
	Logger         *slog.Logger
	DB             *db.DB
	Members        *member.Store
	Limiter        *ratelimit.Limiter
	Metrics        *Metrics
	TrustedProxies []netip.Prefix
	Now            func() time.Time
	// BaseURL is kios's public URL, for links in answers (icon_url, …).
	BaseURL string
	// Catalog is the providers, products and prices.
	Catalog *catalog.Store
	// Funding is deposits and withdrawals.
	Funding *funding.Service
	// Orders is prepaid orders and their fulfilment.
	Orders *order.Service
	// Operators is the platform's staff and their API tokens.
	Operators *operator.Store
	// Webhooks is the webhook outbox (deliveries, redelivery).
	Webhooks *webhook.Service
	// Payments is stores' QRIS invoices.
	Payments *payment.Service
	// Incoming is the incoming-funds matcher.
	Incoming *incoming.Service
	// PPOBWait bounds how long a PPOB transaction waits for its supplier.
	PPOBWait time.Duration
	// Sessions are the web pages' sign-in sessions.
	Sessions *session.Store
	// Stores are members' QRIS stores.
	Stores *payment.Stores
	// SecureCookies marks the web pages' cookies Secure even on a plain
	// connection (kios's public URL is https behind a proxy).
	SecureCookies bool
	// SupplierConfigs and SupplierRefs are the configured prepaid
	// suppliers and the references they gave our orders, for their
	// webhooks; their price_update goes to Catalog.ApplyCosts.
	SupplierConfigs *supplierprepaid.Configs
	SupplierRefs    *supplierprepaid.References
	// SupplierImport brings a configured supplier's catalog in, for POST
	// /api/admin/catalog/import {"supplier":…}; nil when the server has
	// none (that call then answers 422).
	SupplierImport admin.SupplierImporter
}

// New returns kios's whole HTTP handler.
func New(d Deps) http.Handler {
	mux := http.NewServeMux()
	auth := prepaid.NewAuth(d.Members, d.Limiter, d.TrustedProxies, d.Now, d.Logger)
	addRoutes(mux, d, auth)
	return httpx.Middleware(d.Logger, d.Metrics.ObserveRequest, mux)
}

// healthz answers 200 while the process is up.
func healthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
}

// readyz answers 200 when the database answers and every migration is
// applied, 503 otherwise.
func readyz(d *db.DB, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := d.Ping(ctx); err != nil {
			logger.WarnContext(ctx, "readyz: database unreachable", "err", err)
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte("database unreachable\n"))
			return
		}
		if n, err := d.Pending(ctx); err != nil || n > 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte("migrations pending\n"))
			return
		}
		w.Write([]byte("ready\n"))
	})
}
