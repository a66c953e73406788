package server

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"kios/internal/audit"
	"kios/internal/catalog"
	"kios/internal/face/admin"
	"kios/internal/face/hooks"
	payface "kios/internal/face/payment"
	"kios/internal/face/ppob"
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
	mux.Handle("GET /openapi.json", openAPIDoc())

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
	adm.SetLimiter(d.Limiter)
	mux.Handle("GET /api/admin/ledger/verify", adm.Read(admin.FamilyLedger, admin.LedgerVerify(d.DB, d.Logger)))
	mux.Handle("GET /api/admin/audit", adm.Read(admin.FamilyAudit, admin.AuditLog(audit.NewLog(d.DB), d.Logger)))
	mux.Handle("POST /api/admin/incoming", adm.Write(admin.FamilyIncoming, admin.Incoming(d.Incoming, d.Now, d.Logger)))
	mux.Handle("GET /api/admin/transactions", adm.Read(admin.FamilyTransactions, admin.Transactions(d.Funding, d.Logger)))
	mux.Handle("POST /api/admin/transactions/{reference}/accept", adm.Write(admin.FamilyTransactions, admin.Decision(d.Funding, "accept", d.Now, d.Logger)))
	mux.Handle("POST /api/admin/transactions/{reference}/reject", adm.Write(admin.FamilyTransactions, admin.Decision(d.Funding, "reject", d.Now, d.Logger)))
	mux.Handle("POST /api/admin/transactions/bulk", adm.Write(admin.FamilyTransactions, admin.Bulk(d.Funding, d.Now, d.Logger)))
	mux.Handle("GET /api/admin/members", adm.Read(admin.FamilyMembers, admin.Members(d.Members, d.Logger)))
	mux.Handle("POST /api/admin/members", adm.Write(admin.FamilyMembers, admin.CreateMember(d.Members, d.Now, d.Logger)))
	mux.Handle("GET /api/admin/members/{username}", adm.Read(admin.FamilyMembers, admin.MemberProfile(d.Members, d.Logger)))
	mux.Handle("PATCH /api/admin/members/{username}", adm.Write(admin.FamilyMembers, admin.UpdateMember(d.Members, d.Webhooks, d.Now, d.Logger)))
	mux.Handle("GET /api/admin/members/{username}/history", adm.Read(admin.FamilyMembers, admin.MemberHistory(d.Members, d.Logger)))
	mux.Handle("GET /api/admin/members/{username}/latest", adm.Read(admin.FamilyMembers, admin.MemberLatest(d.Members, d.Logger)))
	mux.Handle("GET /api/admin/members/{username}/downlines", adm.Read(admin.FamilyMembers, admin.MemberDownlines(d.Members, d.Logger)))
	mux.Handle("POST /api/admin/members/{username}/adjustments", adm.Write(admin.FamilyAdjustments, admin.Adjust(d.Members, d.Now, d.Logger)))
	mux.Handle("POST /api/admin/members/{username}/credentials", adm.Write(admin.FamilyMembers, admin.CreateCredential(d.Members, d.Now, d.Logger)))
	mux.Handle("DELETE /api/admin/members/{username}/credentials/{id}", adm.Write(admin.FamilyMembers, admin.RevokeCredential(d.Members, d.Now, d.Logger)))
	mux.Handle("GET /api/admin/orders", adm.Read(admin.FamilyOrders, admin.Orders(d.Orders, d.Logger)))
	mux.Handle("POST /api/admin/orders/{reference}/resolve", adm.Write(admin.FamilyOrders, admin.ResolveOrder(d.Orders, d.Now, d.Logger)))
	mux.Handle("GET /api/admin/stats", adm.Read(admin.FamilyStats, admin.Stats(d.Orders, d.Now, d.Logger)))
	mux.Handle("GET /api/admin/webhooks", adm.Read(admin.FamilyWebhooks, admin.Webhooks(d.Webhooks, d.Logger)))
	mux.Handle("GET /api/admin/webhooks/{id}", adm.Read(admin.FamilyWebhooks, admin.WebhookAttempts(d.Webhooks, d.Logger)))
	mux.Handle("POST /api/admin/webhooks/{id}/redeliver", adm.Write(admin.FamilyWebhooks, admin.Redeliver(d.Webhooks, d.Now, d.Logger)))
	mux.Handle("GET /api/admin/banks", adm.Read(admin.FamilyBanks, admin.Banks(d.Funding, d.Logger)))
	mux.Handle("PUT /api/admin/banks", adm.Write(admin.FamilyBanks, admin.SetBank(d.Funding, d.Now, d.Logger)))
	mux.Handle("GET /api/admin/incoming", adm.Read(admin.FamilyIncoming, admin.IncomingList(d.Incoming, d.Logger)))
	mux.Handle("POST /api/admin/incoming/{id}/assign", adm.Write(admin.FamilyIncoming, admin.IncomingAssign(d.Incoming, d.Now, d.Logger)))
	mux.Handle("GET /api/admin/payments", adm.Read(admin.FamilyIncoming, admin.Payments(d.Payments, d.Logger)))
	mux.Handle("GET /api/admin/providers", adm.Read(admin.FamilyCatalog, admin.Providers(d.Catalog, d.Logger)))
	mux.Handle("POST /api/admin/providers", adm.Write(admin.FamilyCatalog, admin.CreateProvider(d.Catalog, d.Now, d.Logger)))
	mux.Handle("PATCH /api/admin/providers/{code}", adm.Write(admin.FamilyCatalog, admin.UpdateProvider(d.Catalog, d.Now, d.Logger)))
	mux.Handle("GET /api/admin/products", adm.Read(admin.FamilyCatalog, admin.Products(d.Catalog, d.Logger)))
	mux.Handle("POST /api/admin/products", adm.Write(admin.FamilyCatalog, admin.CreateProduct(d.Catalog, d.Now, d.Logger)))
	mux.Handle("GET /api/admin/products/{code}", adm.Read(admin.FamilyCatalog, admin.Product(d.Catalog, d.Logger)))
	mux.Handle("PATCH /api/admin/products/{code}", adm.Write(admin.FamilyCatalog, admin.UpdateProduct(d.Catalog, d.Now, d.Logger)))
	mux.Handle("GET /api/admin/prices", adm.Read(admin.FamilyCatalog, admin.PriceRules(d.Catalog, d.Logger)))
	mux.Handle("POST /api/admin/prices", adm.Write(admin.FamilyCatalog, admin.SetPrices(d.Catalog, d.Now, d.Logger)))
	mux.Handle("POST /api/admin/catalog/import", adm.Write(admin.FamilyCatalog, admin.ImportCatalog(d.Catalog, d.SupplierImport, audit.NewLog(d.DB), d.Now, d.Logger)))
	mux.Handle("POST /api/admin/members/{username}/webhook-secret", adm.Write(admin.FamilyMembers, admin.RotateWebhookSecret(d.Members, d.Webhooks, d.Now, d.Logger)))
	mux.Handle("POST /api/admin/members/{username}/webhook-test", adm.Write(admin.FamilyMembers, admin.TestWebhook(d.Members, d.Webhooks, d.Now, d.Logger)))
	mux.Handle("GET /api/admin/stores", adm.Read(admin.FamilyStores, admin.Stores(d.Stores, d.Members, d.Logger)))
	mux.Handle("POST /api/admin/stores", adm.Write(admin.FamilyStores, admin.CreateStore(d.Stores, d.Members, d.Now, d.Logger)))
	mux.Handle("PATCH /api/admin/stores/{id}", adm.Write(admin.FamilyStores, admin.UpdateStore(d.Stores, d.Now, d.Logger)))
	mux.Handle("/api/admin/", admin.NotFound())

	// The payment face (shared/spec/20-payment-api.md).
	pf := payface.New(d.Members, d.Limiter, d.TrustedProxies, d.Payments, d.BaseURL, d.Logger)
	mux.Handle("POST /api/create_payment.php", pf.CreatePayment())
	mux.Handle("GET /api/payment.php", pf.PaymentStatus())
	mux.Handle("POST /api/payment.php", pf.PaymentStatus())
	// The PPOB face (shared/spec/30-ppob-api.md).
	pauth := ppob.NewAuth(d.Members, d.Limiter, d.TrustedProxies, d.Logger)
	mux.Handle("POST /api/v1/merchant/ppob/ewallet/inquiry", pauth.Wrap(ppob.Inquiry(d.Orders, d.Members, d.Now, d.Logger)))
	mux.Handle("POST /api/v1/merchant/ppob/ewallet/transaction", pauth.Wrap(ppob.Transaction(d.Orders, d.Members, d.PPOBWait, d.Logger)))
	mux.Handle("GET /api/v1/merchant/ppob/transaction/{req_id}", pauth.Wrap(ppob.TransactionStatus(d.Orders, d.Members, d.Logger)))
	mux.Handle("GET /api/v1/merchant/ppob/products", pauth.Wrap(ppob.Products(d.Catalog, d.Logger)))
	mux.Handle("/api/v1/merchant/ppob/", ppob.NotFound())
	// Suppliers' webhooks (shared/spec/50-webhooks.md, "In").
	mux.Handle("POST /hooks/supplier/{name}", hooks.Supplier(hooks.Deps{Configs: d.SupplierConfigs, References: d.SupplierRefs,
		Orders: d.Orders, Costs: d.Catalog, Trusted: d.TrustedProxies, Now: d.Now, Logger: d.Logger}))

	// Pages for people.
	mux.Handle("GET /trx/{reference}", web.Invoice(d.Orders, d.Funding, d.Now, d.Logger))
	mux.Handle("GET /static/", web.Static())
	mux.Handle("GET /pay.php", web.Pay(d.Payments, d.Now, d.Logger))
	mux.Handle("POST /pay.php/simulate", web.Simulate(d.Payments, d.Incoming, d.Now, d.Logger))
	mux.Handle("GET /qr/{file}", web.QR(d.Payments, d.Logger))
	mux.Handle("GET /docs", web.Docs(d.BaseURL, d.Now, d.Logger))

	// Sign-in, the member dashboard and the operator console
	// (shared/spec/70-web.md). Every page behind sign-in is wrapped in
	// site.Member or site.Operator, which also refuse a POST without the
	// session's CSRF token.
	site := web.NewAuth(web.AuthDeps{Sessions: d.Sessions, Members: d.Members, Operators: d.Operators,
		Trusted: d.TrustedProxies, Secure: d.SecureCookies, Now: d.Now, Logger: d.Logger})
	dash := web.NewDashboard(web.DashboardDeps{Members: d.Members, Funds: d.Funding, History: history.NewReader(d.DB),
		Hooks: d.Webhooks, Stores: d.Stores, Now: d.Now, Logger: d.Logger})
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
	// The console: each page wrapped in the operator API's role check of
	// its endpoint family (con.Read, con.Write) inside the sign-in guard.
	con := web.NewConsole(web.ConsoleDeps{Members: d.Members, Funds: d.Funding, Orders: d.Orders, Hooks: d.Webhooks,
		Audit: audit.NewLog(d.DB), Now: d.Now, Logger: d.Logger,
		Incoming: d.Incoming, Payments: d.Payments, Catalog: d.Catalog, Importer: d.SupplierImport})
	mux.Handle("GET /admin", site.Operator(con.Read(admin.FamilyStats, con.Home())))
	mux.Handle("GET /admin/review", site.Operator(con.Read(admin.FamilyTransactions, con.Review())))
	mux.Handle("POST /admin/review", site.Operator(con.Write(admin.FamilyTransactions, con.Decide())))
	mux.Handle("GET /admin/members", site.Operator(con.Read(admin.FamilyMembers, con.Members())))
	mux.Handle("GET /admin/members/{username}", site.Operator(con.Read(admin.FamilyMembers, con.Member())))
	mux.Handle("POST /admin/members/{username}/adjust", site.Operator(con.Write(admin.FamilyAdjustments, con.Adjust())))
	mux.Handle("GET /admin/orders", site.Operator(con.Read(admin.FamilyOrders, con.Orders())))
	mux.Handle("POST /admin/orders/{reference}/resolve", site.Operator(con.Write(admin.FamilyOrders, con.Resolve())))
	mux.Handle("GET /admin/webhooks", site.Operator(con.Read(admin.FamilyWebhooks, con.Webhooks())))
	mux.Handle("POST /admin/webhooks/{id}/redeliver", site.Operator(con.Write(admin.FamilyWebhooks, con.Redeliver())))
	mux.Handle("GET /admin/audit", site.Operator(con.Read(admin.FamilyAudit, con.Audit())))
	mux.Handle("GET /admin/incoming", site.Operator(con.Read(admin.FamilyIncoming, con.Incoming())))
	mux.Handle("POST /admin/incoming/{id}/assign", site.Operator(con.Write(admin.FamilyIncoming, con.Assign())))
	mux.Handle("GET /admin/payments", site.Operator(con.Read(admin.FamilyIncoming, con.Payments())))
	mux.Handle("GET /admin/catalog", site.Operator(con.Read(admin.FamilyCatalog, con.Products())))
	mux.Handle("GET /admin/catalog/products/{code}", site.Operator(con.Read(admin.FamilyCatalog, con.Product())))
	mux.Handle("POST /admin/catalog/products/{code}", site.Operator(con.Write(admin.FamilyCatalog, con.SaveProduct())))
	mux.Handle("GET /admin/catalog/providers", site.Operator(con.Read(admin.FamilyCatalog, con.Providers())))
	mux.Handle("POST /admin/catalog/providers", site.Operator(con.Write(admin.FamilyCatalog, con.SaveProvider())))
	mux.Handle("GET /admin/catalog/providers/{code}", site.Operator(con.Read(admin.FamilyCatalog, con.Provider())))
	mux.Handle("POST /admin/catalog/providers/{code}", site.Operator(con.Write(admin.FamilyCatalog, con.SaveProvider())))
	mux.Handle("GET /admin/catalog/prices", site.Operator(con.Write(admin.FamilyCatalog, con.Prices())))
	mux.Handle("POST /admin/catalog/prices/preview", site.Operator(con.Write(admin.FamilyCatalog, con.PreviewPrices())))
	mux.Handle("POST /admin/catalog/prices", site.Operator(con.Write(admin.FamilyCatalog, con.ApplyPrices())))
	mux.Handle("GET /admin/catalog/import", site.Operator(con.Write(admin.FamilyCatalog, con.Import())))
	mux.Handle("POST /admin/catalog/import", site.Operator(con.Write(admin.FamilyCatalog, con.ImportJSON())))
	mux.Handle("POST /admin/catalog/import/supplier", site.Operator(con.Write(admin.FamilyCatalog, con.ImportSupplier())))
}
