package server

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"kios/internal/catalog"
	"kios/internal/face/ppob"
	"kios/internal/face/prepaid"
	"kios/internal/web"
)

// addRoutes is the map of kios's HTTP API: every route is here.
func addRoutes(mux *http.ServeMux, d Deps, auth *prepaid.Auth) {
	// Operations.
	mux.Handle("GET /healthz", healthz())
	mux.Handle("GET /readyz", readyz(d.DB, d.Logger))
	mux.Handle("GET /metrics", promhttp.HandlerFor(d.Metrics.Registry, promhttp.HandlerOpts{}))

	// Provider icons, for the prepaid face's icon_url.
	mux.Handle("GET /images/provider/{file}", providerIcons(catalog.Icons))

	// The prepaid face (shared/spec/10-prepaid-api.md).
	mux.Handle("POST /api/prepaid/transaction/balance", auth.Signed(prepaid.Balance(d.Members, d.Logger)))
	mux.Handle("POST /api/prepaid/transaction/deposit", auth.Signed(prepaid.Deposit(d.Funding, d.BaseURL, d.Logger)))
	mux.Handle("POST /api/prepaid/transaction/withdraw", auth.Signed(prepaid.Withdraw(d.Funding, d.BaseURL, d.Logger)))
	mux.Handle("POST /api/prepaid/transaction/create", auth.Signed(prepaid.CreateOrder(d.Orders, d.BaseURL, d.Logger)))
	mux.Handle("GET /api/prepaid/transaction/{reference}", auth.Open(prepaid.TransactionStatus(d.Orders, d.Funding, d.BaseURL, d.Logger)))
	mux.Handle("GET /api/prepaid/transaction", auth.Open(prepaid.TransactionStatus(d.Orders, d.Funding, d.BaseURL, d.Logger)))
	mux.Handle("GET /api/prepaid/provider", auth.Open(prepaid.Providers(d.Catalog, d.BaseURL, d.Logger)))
	mux.Handle("GET /api/prepaid/product", auth.Open(prepaid.Products(d.Catalog, d.Logger)))
	mux.Handle("GET /api/prepaid/product/{code}", auth.Open(prepaid.Product(d.Catalog, d.BaseURL, d.Logger)))
	mux.Handle("/api/prepaid/", prepaid.NotFound())

	// The PPOB face (shared/spec/30-ppob-api.md).
	pauth := ppob.NewAuth(d.Members, d.Limiter, d.TrustedProxies, d.Logger)
	mux.Handle("POST /api/v1/merchant/ppob/ewallet/inquiry", pauth.Wrap(ppob.Inquiry(d.Orders, d.Members, d.Now, d.Logger)))
	mux.Handle("POST /api/v1/merchant/ppob/ewallet/transaction", pauth.Wrap(ppob.Transaction(d.Orders, d.Members, d.PPOBWait, d.Logger)))
	mux.Handle("GET /api/v1/merchant/ppob/transaction/{req_id}", pauth.Wrap(ppob.TransactionStatus(d.Orders, d.Members, d.Logger)))
	mux.Handle("GET /api/v1/merchant/ppob/products", pauth.Wrap(ppob.Products(d.Catalog, d.Logger)))
	mux.Handle("/api/v1/merchant/ppob/", ppob.NotFound())

	// Pages for people.
	mux.Handle("GET /trx/{reference}", web.Invoice(d.Orders, d.Funding, d.Now, d.Logger))
	mux.Handle("GET /static/", web.Static())
}
