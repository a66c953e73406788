package server

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"kios/internal/catalog"
	"kios/internal/face/prepaid"
	"kios/internal/history"
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

	// Pages for people.
	mux.Handle("GET /trx/{reference}", web.Invoice(d.Orders, d.Funding, d.Now, d.Logger))
	mux.Handle("GET /static/", web.Static())

	// Sign-in, the member dashboard and the operator console
	// (shared/spec/70-web.md). Every page behind sign-in is wrapped in
	// site.Member or site.Operator, which also refuse a POST without the
	// session's CSRF token.
	site := web.NewAuth(web.AuthDeps{Sessions: d.Sessions, Members: d.Members, Operators: d.Operators,
		Trusted: d.TrustedProxies, Secure: d.SecureCookies, Now: d.Now, Logger: d.Logger})
	dash := web.NewDashboard(web.DashboardDeps{Members: d.Members, Funds: d.Funding, History: history.NewReader(d.DB),
		Hooks: d.Hooks, Stores: d.Stores, Now: d.Now, Logger: d.Logger})
	mux.Handle("GET /member/login", site.MemberLogin())
	mux.Handle("POST /member/login", site.MemberLogin())
	mux.Handle("POST /member/logout", site.Member(site.MemberLogout()))
	mux.Handle("GET /member", site.Member(dash.Overview()))
	mux.Handle("POST /member/deposit", site.Member(dash.Deposit()))
	mux.Handle("POST /member/withdraw", site.Member(dash.Withdraw()))
	mux.Handle("GET /member/api", site.Member(dash.API()))
	mux.Handle("POST /member/credentials", site.Member(dash.CreateCredential()))
	mux.Handle("POST /member/credentials/{id}/revoke", site.Member(dash.RevokeCredential()))
	mux.Handle("POST /member/credentials/{id}/allow-ips", site.Member(dash.SetAllowIPs()))
	mux.Handle("POST /member/credentials/{id}/signed-only", site.Member(dash.SetSignedOnly()))
	mux.Handle("POST /member/webhook", site.Member(dash.SetWebhook()))
	mux.Handle("POST /member/webhook/test", site.Member(dash.TestWebhook()))
	mux.Handle("POST /member/webhook/rotate", site.Member(dash.RotateWebhook()))
	mux.Handle("GET /member/stores", site.Member(dash.StoresPage()))
	mux.Handle("POST /member/stores", site.Member(dash.CreateStore()))
	mux.Handle("GET /admin/login", site.OperatorLogin())
	mux.Handle("POST /admin/login", site.OperatorLogin())
	mux.Handle("POST /admin/logout", site.Operator(site.OperatorLogout()))
	mux.Handle("GET /admin", site.Operator(web.AdminHome(d.Logger)))
}
