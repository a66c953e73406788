package web

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"kios/internal/web/docsnippet"
)

// How a call authenticates.
const (
	authSigned   = "signed"   // prepaid: Bearer API key and Signature
	authBearer   = "bearer"   // prepaid and payment: Bearer API key only
	authAPIKey   = "apikey"   // PPOB: X-API-Key
	authOperator = "operator" // operator API: Bearer operator token
)

// apiCall is one call of a face, as /docs shows it: what it does, and a
// curl and a PHP example made from the same method, path and body.
type apiCall struct {
	Route   string // the route's pattern, as internal/server/routes.go lists it
	Example string // the path with example values and query
	Auth    string
	Body    string // a JSON example body, "" for none
	ID, EN  string // what it does
}

// Method is the call's HTTP method.
func (c apiCall) Method() string { m, _, _ := strings.Cut(c.Route, " "); return m }

// Anchor is the call's id on the page.
func (c apiCall) Anchor() string {
	r := strings.NewReplacer(" ", "-", "/", "-", "{", "", "}", "", ".", "-", "_", "-")
	return strings.ToLower(strings.Trim(r.Replace(c.Route), "-"))
}

// apiFace is one face's calls.
type apiFace struct {
	ID, Title, Intro string // Intro is a catalog key
	Calls            []apiCall
}

// apiFaces is every call of the four faces. TestDocsCoverEveryRoute keeps
// it complete against the routes and /openapi.json.
var apiFaces = []apiFace{
	{"prepaid", "Prepaid — /api/prepaid", "docs.prepaid", []apiCall{
		{"POST /api/prepaid/transaction/balance", "/api/prepaid/transaction/balance", authSigned, `{}`, "Saldo dan level member.", "The member's balance and level."},
		{"GET /api/prepaid/provider", "/api/prepaid/provider?active=1", authBearer, "", "Daftar provider dengan kolom formulirnya.", "Providers with their form fields."},
		{"GET /api/prepaid/product", "/api/prepaid/product?provider=TSEL&active=1", authBearer, "", "Produk sebuah provider dengan harga untuk level Anda.", "A provider's products with the price for your level."},
		{"GET /api/prepaid/product/{code}", "/api/prepaid/product/TSEL10", authBearer, "", "Satu produk.", "One product."},
		{"POST /api/prepaid/transaction/create", "/api/prepaid/transaction/create", authSigned, `{"target_product_code":"TSEL10","partner_reference":"INV-77","id":"081234567890"}`, "Membuat order; harga dipotong dari saldo.", "Places an order; the price leaves the balance."},
		{"GET /api/prepaid/transaction/{reference}", "/api/prepaid/transaction/TRX24070144287694389", authBearer, "", "Status order, deposit atau penarikan.", "The status of an order, deposit or withdrawal."},
		{"GET /api/prepaid/transaction", "/api/prepaid/transaction?partner_reference=INV-77", authBearer, "", "Status menurut partner_reference.", "The status by partner_reference."},
		{"POST /api/prepaid/transaction/deposit", "/api/prepaid/transaction/deposit", authSigned, `{"amount":500000,"via":"bca"}`, "Deposit: nominal dengan kode unik dan rekening tujuan.", "A deposit: the sum with its unique code and the account to pay."},
		{"POST /api/prepaid/transaction/withdraw", "/api/prepaid/transaction/withdraw", authSigned, `{"amount":100000,"bank":"bca","account_number":"1234567890","account_name":"Zorro Saputra","partner_reference":"WD-1"}`, "Penarikan saldo ke rekening bank.", "A withdrawal to a bank account."},
	}},
	{"ppob", "PPOB — /api/v1/merchant/ppob", "docs.ppob", []apiCall{
		{"POST /api/v1/merchant/ppob/ewallet/inquiry", "/api/v1/merchant/ppob/ewallet/inquiry", authAPIKey, `{"product_id":"GOPAY","cust_id":"081234567890","amount":"50000"}`, "Cek akun dan harga tanpa memotong saldo.", "Checks the account and the price; moves no money."},
		{"POST /api/v1/merchant/ppob/ewallet/transaction", "/api/v1/merchant/ppob/ewallet/transaction", authAPIKey, `{"req_id":"REQ-1001","product_id":"GOPAY","cust_id":"081234567890","amount":"50000"}`, "Top-up e-wallet; menunggu hasil sampai 10 detik.", "An e-wallet top-up; waits up to 10 s for the outcome."},
		{"GET /api/v1/merchant/ppob/transaction/{req_id}", "/api/v1/merchant/ppob/transaction/REQ-1001", authAPIKey, "", "Status menurut req_id.", "The status by req_id."},
		{"GET /api/v1/merchant/ppob/products", "/api/v1/merchant/ppob/products?category=ewallet", authAPIKey, "", "Produk e-wallet dengan biaya admin level Anda.", "E-wallet products with your level's admin fee."},
	}},
	{"payment", "Payment — /api/create_payment.php", "docs.payment", []apiCall{
		{"POST /api/create_payment.php", "/api/create_payment.php", authBearer, `{"store_id":1,"amount":25000,"description":"Pulsa","customer_name":"Budi","merchant_ref":"ORDER-9"}`, "Invoice QRIS dinamis dengan kode unik.", "A dynamic QRIS invoice with a unique code."},
		{"GET /api/payment.php", "/api/payment.php?invoice=INV2026112100000000001", authBearer, "", "Status invoice (juga POST).", "An invoice's status (POST works too)."},
		{"POST /api/payment.php", "/api/payment.php", authBearer, `{"invoice":"INV2026112100000000001"}`, "Status invoice, dengan body.", "An invoice's status, with a body."},
	}},
	{"admin", "Operator — /api/admin", "docs.admin", []apiCall{
		{"GET /api/admin/transactions", "/api/admin/transactions?type=deposit&status=waiting", authOperator, "", "Antrean tinjauan deposit dan penarikan.", "The review queue of deposits and withdrawals."},
		{"POST /api/admin/transactions/{reference}/accept", "/api/admin/transactions/DEP24071245143053340/accept", authOperator, `{"comment":"dana masuk BCA"}`, "Terima satu transaksi.", "Accept one transaction."},
		{"POST /api/admin/transactions/{reference}/reject", "/api/admin/transactions/DEP24071245143053340/reject", authOperator, `{"comment":"dana tidak ditemukan"}`, "Tolak satu transaksi.", "Reject one transaction."},
		{"POST /api/admin/transactions/bulk", "/api/admin/transactions/bulk", authOperator, `{"items":[{"reference":"DEP1","action":"accept","comment":"ok"},{"reference":"WD2","action":"reject","comment":"rekening salah"}]}`, "Sampai 25 keputusan sekaligus.", "Up to 25 decisions at once."},
		{"POST /api/admin/incoming", "/api/admin/incoming", authOperator, `{"channel":"bank:bca","amount":500655,"received_at":"2026-11-21 10:00:00","external_id":"MUT-88","note":"mutasi BCA"}`, "Dana masuk; dicocokkan ke invoice atau deposit.", "Incoming funds, matched to an invoice or deposit."},
		{"GET /api/admin/members", "/api/admin/members?q=bud", authOperator, "", "Cari member.", "Search members."},
		{"POST /api/admin/members", "/api/admin/members", authOperator, `{"username":"citra","level":"reseller","upline":"budi","password":"rahasia-sekali","comment":"member baru"}`, "Tambah member.", "Add a member."},
		{"GET /api/admin/members/{username}", "/api/admin/members/budi", authOperator, "", "Profil, saldo dan kredensial.", "Profile, balance and credentials."},
		{"PATCH /api/admin/members/{username}", "/api/admin/members/budi", authOperator, `{"level":"h2h","comment":"naik level"}`, "Ubah level, status, akses API.", "Change level, active switch, API access."},
		{"GET /api/admin/members/{username}/history", "/api/admin/members/budi/history?type=deposit", authOperator, "", "Riwayat saldo.", "Balance history."},
		{"GET /api/admin/members/{username}/latest", "/api/admin/members/budi/latest?limit=10", authOperator, "", "Mutasi terbaru.", "The newest movements."},
		{"GET /api/admin/members/{username}/downlines", "/api/admin/members/budi/downlines", authOperator, "", "Downline.", "Downlines."},
		{"POST /api/admin/members/{username}/adjustments", "/api/admin/members/budi/adjustments", authOperator, `{"direction":"credit","amount":25000,"comment":"kompensasi"}`, "Penyesuaian saldo manual.", "A manual balance adjustment."},
		{"POST /api/admin/members/{username}/credentials", "/api/admin/members/budi/credentials", authOperator, `{"allow_ips":["203.0.113.7"],"signed_only":true,"comment":"server baru"}`, "Buat kredensial API (ditampilkan sekali).", "Create an API credential (shown once)."},
		{"DELETE /api/admin/members/{username}/credentials/{id}", "/api/admin/members/budi/credentials/3?comment=bocor", authOperator, "", "Cabut kredensial.", "Revoke a credential."},
		{"GET /api/admin/orders", "/api/admin/orders?stuck=1", authOperator, "", "Order; stuck=1 untuk yang macet.", "Orders; stuck=1 for the stuck ones."},
		{"POST /api/admin/orders/{reference}/resolve", "/api/admin/orders/TRX24070144287694389/resolve", authOperator, `{"status":"failed","comment":"supplier gangguan"}`, "Selesaikan order macet.", "Resolve a stuck order."},
		{"GET /api/admin/stats", "/api/admin/stats?from=2026-11-01&to=2026-11-21", authOperator, "", "Order per hari dan per supplier.", "Orders per day and per supplier."},
		{"GET /api/admin/webhooks", "/api/admin/webhooks?status=failed", authOperator, "", "Pesan webhook dengan percobaan terakhir.", "Webhook messages with their last attempt."},
		{"GET /api/admin/webhooks/{id}", "/api/admin/webhooks/12", authOperator, "", "Satu pesan dengan semua percobaan.", "One message with every attempt."},
		{"POST /api/admin/webhooks/{id}/redeliver", "/api/admin/webhooks/12/redeliver", authOperator, `{"comment":"penerima minta ulang"}`, "Kirim ulang.", "Redeliver."},
		{"GET /api/admin/banks", "/api/admin/banks", authOperator, "", "Rekening tujuan platform.", "The platform's destination accounts."},
		{"PUT /api/admin/banks", "/api/admin/banks", authOperator, `{"code":"bca","account_number":"8800123456","account_name":"PT Kios","comment":"rekening baru"}`, "Atur rekening tujuan.", "Set a destination account."},
		{"GET /api/admin/ledger/verify", "/api/admin/ledger/verify", authOperator, "", "Periksa invarian buku besar.", "Check the ledger's invariants."},
		{"GET /api/admin/audit", "/api/admin/audit?action=transaction.", authOperator, "", "Log audit.", "The audit log."},
		{"POST /api/admin/members/{username}/webhook-secret", "/api/admin/members/budi/webhook-secret", authOperator, `{"comment":"rahasia bocor"}`, "Rahasia webhook baru (ditampilkan sekali; yang lama berlaku 24 jam).", "A new webhook secret (shown once; the old one signs for 24 h more)."},
		{"POST /api/admin/members/{username}/webhook-test", "/api/admin/members/budi/webhook-test", authOperator, `{"comment":"cek endpoint"}`, "Kirim webhook uji ke member.", "Send the member a test webhook."},
		{"GET /api/admin/providers", "/api/admin/providers", authOperator, "", "Provider dengan kolom formulirnya.", "Providers with their form fields."},
		{"POST /api/admin/providers", "/api/admin/providers", authOperator, `{"code":"TSEL","name":"Telkomsel","forms":[{"key":"id","label":"Nomor HP","type":"text","pattern":"^08[0-9]{8,11}$","max_length":13}],"comment":"provider baru"}`, "Tambah provider.", "Add a provider."},
		{"PATCH /api/admin/providers/{code}", "/api/admin/providers/TSEL", authOperator, `{"active":false,"comment":"gangguan operator"}`, "Ubah provider.", "Change a provider."},
		{"GET /api/admin/products", "/api/admin/products?provider=TSEL&active=true", authOperator, "", "Produk dengan SKU supplier dan harga tiap level.", "Products with their supplier SKUs and every level's price."},
		{"POST /api/admin/products", "/api/admin/products", authOperator, `{"code":"TSEL10","name":"Telkomsel 10.000","provider":"TSEL","skus":[{"supplier":"simulator","sku":"TSEL10","priority":1,"cost":10150}],"prices":{"reseller":10400},"comment":"produk baru"}`, "Tambah produk.", "Add a product."},
		{"GET /api/admin/products/{code}", "/api/admin/products/TSEL10", authOperator, "", "Satu produk.", "One product."},
		{"PATCH /api/admin/products/{code}", "/api/admin/products/TSEL10", authOperator, `{"prices":{"reseller":10450},"comment":"harga naik"}`, "Ubah produk, SKU atau harga (mengirim price_update).", "Change a product, its SKUs or prices (sends price_update)."},
		{"GET /api/admin/prices", "/api/admin/prices", authOperator, "", "Aturan markup tiap level.", "Every level's markup rule."},
		{"POST /api/admin/prices", "/api/admin/prices", authOperator, `{"prices":[{"product_code":"TSEL10","level":"reseller","price":10450}],"comment":"penyesuaian harga"}`, "Ubah harga massal dalam satu transaksi (mengirim price_update).", "A bulk price change in one transaction (sends price_update)."},
		{"POST /api/admin/catalog/import", "/api/admin/catalog/import", authOperator, `{"supplier":"kiosb","prefix":"B-","comment":"sinkron katalog"}`, "Impor katalog: JSON, atau dari supplier prepaid.", "Import a catalog: JSON, or from a prepaid supplier."},
		{"GET /api/admin/stores", "/api/admin/stores?member=budi", authOperator, "", "Toko QRIS member.", "Members' QRIS stores."},
		{"POST /api/admin/stores", "/api/admin/stores", authOperator, `{"member":"budi","name":"Warung Budi","static_qris":"00020101021126…6304ABCD","fee_percent_bp":70,"comment":"toko baru"}`, "Tambah toko QRIS.", "Add a QRIS store."},
		{"PATCH /api/admin/stores/{id}", "/api/admin/stores/1", authOperator, `{"fee_flat":500,"comment":"biaya baru"}`, "Ubah toko.", "Change a store."},
		{"GET /api/admin/incoming", "/api/admin/incoming?status=unmatched", authOperator, "", "Dana masuk (yang belum cocok).", "Incoming funds (the unmatched ones)."},
		{"POST /api/admin/incoming/{id}/assign", "/api/admin/incoming/12/assign", authOperator, `{"reference":"INV2024070144287694389","comment":"dicocokkan manual"}`, "Cocokkan dana masuk ke invoice.", "Assign incoming funds to an invoice."},
		{"GET /api/admin/payments", "/api/admin/payments?store=1&status=paid&from=2026-11-01&to=2026-11-21", authOperator, "", "Laporan pembayaran dengan total.", "The payments report with totals."},
	}},
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// phpQuote quotes s as a PHP single-quoted string.
func phpQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// headers are the call's headers: shell-variable form for curl, PHP
// expressions for PHP.
func (c apiCall) headers() (sh, php []string) {
	switch c.Auth {
	case authSigned:
		sh = []string{`"Authorization: Bearer $API_KEY"`, `"Signature: $SECRET_KEY"`}
		php = []string{`'Authorization: Bearer ' . $apiKey`, `'Signature: ' . $secretKey`}
	case authBearer:
		sh = []string{`"Authorization: Bearer $API_KEY"`}
		php = []string{`'Authorization: Bearer ' . $apiKey`}
	case authAPIKey:
		sh = []string{`"X-API-Key: $API_KEY"`}
		php = []string{`'X-API-Key: ' . $apiKey`}
	case authOperator:
		sh = []string{`"Authorization: Bearer $OPERATOR_TOKEN"`}
		php = []string{`'Authorization: Bearer ' . $operatorToken`}
	}
	if c.Body != "" {
		sh = append(sh, `'Content-Type: application/json'`)
		php = append(php, `'Content-Type: application/json'`)
	}
	return sh, php
}

// Curl is the call as a curl command against base.
func (c apiCall) Curl(base string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "curl -sS -X %s %s", c.Method(), shellQuote(base+c.Example))
	sh, _ := c.headers()
	for _, h := range sh {
		fmt.Fprintf(&b, " \\\n  -H %s", h)
	}
	if c.Body != "" {
		fmt.Fprintf(&b, " \\\n  -d %s", shellQuote(c.Body))
	}
	return b.String()
}

// PHP is the call with PHP's curl extension against base.
func (c apiCall) PHP(base string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<?php\n$ch = curl_init(%s);\ncurl_setopt_array($ch, [\n", phpQuote(base+c.Example))
	b.WriteString("    CURLOPT_RETURNTRANSFER => true,\n")
	fmt.Fprintf(&b, "    CURLOPT_CUSTOMREQUEST => '%s',\n    CURLOPT_HTTPHEADER => [\n", c.Method())
	_, php := c.headers()
	for _, h := range php {
		fmt.Fprintf(&b, "        %s,\n", h)
	}
	b.WriteString("    ],\n")
	if c.Body != "" {
		fmt.Fprintf(&b, "    CURLOPT_POSTFIELDS => %s,\n", phpQuote(c.Body))
	}
	b.WriteString("]);\n$answer = json_decode(curl_exec($ch), true);\n$status = curl_getinfo($ch, CURLINFO_HTTP_CODE);\n")
	return b.String()
}

// docsView is /docs.
type docsView struct {
	page
	Base   string
	Faces  []apiFace
	GoCode string
}

// Text is a call's description in the page's language.
func (v docsView) Text(c apiCall) string {
	if v.Lang == langEN {
		return c.EN
	}
	return c.ID
}

var docsTemplate = parse("docs.html")

// Docs serves GET /docs: every call of the four faces with a curl and a
// PHP example each, the error and rc tables, how to check both webhook
// signatures, and the idempotency rules. base is kios's public URL.
func Docs(base string, now func() time.Time, logger *slog.Logger) http.Handler {
	if base == "" {
		base = "https://kios.example"
	}
	base = strings.TrimRight(base, "/")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := newPage(w, r, now())
		p.Title, p.Area = p.T("docs.title"), "docs"
		render(w, r, logger, docsTemplate, http.StatusOK, docsView{page: p, Base: base, Faces: apiFaces, GoCode: docsnippet.Source()})
	})
}
