package server

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"kios/internal/audit"
	"kios/internal/catalog"
	"kios/internal/face/admin"
	payface "kios/internal/face/payment"
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

	// The operator API (shared/spec/40-operator-api.md): each route is
	// wrapped in its endpoint family's role check; see internal/face/admin.
	adm := admin.NewAuth(d.Operators, d.Logger)
	mux.Handle("GET /api/admin/ledger/verify", adm.Read(admin.FamilyLedger, admin.LedgerVerify(d.DB, d.Logger)))
	mux.Handle("GET /api/admin/audit", adm.Read(admin.FamilyAudit, admin.AuditLog(audit.NewLog(d.DB), d.Logger)))
	mux.Handle("POST /api/admin/incoming", adm.Write(admin.FamilyIncoming, admin.Incoming(d.Incoming, d.Now, d.Logger)))
	mux.Handle("GET /api/admin/incoming", adm.Read(admin.FamilyIncoming, admin.IncomingList(d.Incoming, d.Logger)))
	mux.Handle("POST /api/admin/incoming/{id}/assign", adm.Write(admin.FamilyIncoming, admin.IncomingAssign(d.Incoming, d.Now, d.Logger)))
	mux.Handle("GET /api/admin/payments", adm.Read(admin.FamilyIncoming, admin.Payments(d.Payments, d.Logger)))
	mux.Handle("/api/admin/", admin.NotFound())

	// The payment face (shared/spec/20-payment-api.md).
	pf := payface.New(d.Members, d.Limiter, d.TrustedProxies, d.Payments, d.BaseURL, d.Logger)
	mux.Handle("POST /api/create_payment.php", pf.CreatePayment())
	mux.Handle("GET /api/payment.php", pf.PaymentStatus())
	mux.Handle("POST /api/payment.php", pf.PaymentStatus())

	// Pages for people.
	mux.Handle("GET /trx/{reference}", web.Invoice(d.Orders, d.Funding, d.Now, d.Logger))
	mux.Handle("GET /static/", web.Static())
	mux.Handle("GET /pay.php", web.Pay(d.Payments, d.Now, d.Logger))
	mux.Handle("POST /pay.php/simulate", web.Simulate(d.Payments, d.Incoming, d.Now, d.Logger))
	mux.Handle("GET /qr/{file}", web.QR(d.Payments, d.Logger))
}
