package web

import (
	"net/http"
	"time"
)

// Languages the pages speak: Indonesian first, English on request.
const (
	langID = "id"
	langEN = "en"
)

// langCookie remembers a visitor's choice of language.
const langCookie = "kios_lang"

// language returns the language of r: ?lang= when it names one (and then
// remembers it in a cookie), else the cookie, else Indonesian.
func language(w http.ResponseWriter, r *http.Request) string {
	if l := r.URL.Query().Get("lang"); l == langID || l == langEN {
		http.SetCookie(w, &http.Cookie{Name: langCookie, Value: l, Path: "/", MaxAge: int((365 * 24 * time.Hour).Seconds()),
			HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil})
		return l
	}
	if c, err := r.Cookie(langCookie); err == nil && (c.Value == langID || c.Value == langEN) {
		return c.Value
	}
	return langID
}

// T returns the text of key in the page's language; a key missing from the
// catalog shows as itself, which the tests catch.
func (p page) T(key string) string {
	m, ok := catalog[key]
	if !ok {
		return key
	}
	if p.Lang == langEN {
		return m.en
	}
	return m.id
}

type text struct{ id, en string }

// catalog is every string of the pages, in both languages.
var catalog = map[string]text{
	// Layout.
	"lang.switch":  {"English", "Bahasa Indonesia"},
	"nav.overview": {"Ringkasan", "Overview"},
	"nav.api":      {"API & Webhook", "API & webhook"},
	"nav.stores":   {"Toko QRIS", "QRIS stores"},
	"nav.console":  {"Konsol", "Console"},
	"signout":      {"Keluar", "Sign out"},
	"signed.as":    {"Masuk sebagai", "Signed in as"},
	"reload":       {"Muat ulang", "Reload"},
	"copy":         {"Salin", "Copy"},
	"copied":       {"Tersalin", "Copied"},
	"save":         {"Simpan", "Save"},
	"none":         {"Belum ada", "None yet"},

	// Sign-in.
	"login.member.title":      {"Masuk member", "Member sign-in"},
	"login.operator.title":    {"Masuk operator", "Operator sign-in"},
	"login.username":          {"Nama pengguna", "Username"},
	"login.password":          {"Kata sandi", "Password"},
	"login.submit":            {"Masuk", "Sign in"},
	"login.bad":               {"Nama pengguna atau kata sandi salah.", "Wrong username or password."},
	"err.inactive":            {"tidak aktif", "is switched off"},
	"login.inactive":          {"Akun ini dinonaktifkan. Hubungi admin.", "This account is switched off. Contact the admin."},
	"login.limited":           {"Terlalu banyak percobaan. Coba lagi beberapa menit lagi.", "Too many attempts. Try again in a few minutes."},
	"login.expired":           {"Sesi Anda berakhir. Silakan masuk lagi.", "Your session has ended. Please sign in again."},
	"login.other.operator":    {"Operator? Masuk di sini", "Operator? Sign in here"},
	"login.other.member":      {"Member? Masuk di sini", "Member? Sign in here"},
	"csrf.title":              {"Formulir tidak sah", "Form refused"},
	"csrf.body":               {"Formulir ini kedaluwarsa atau tidak berasal dari halaman ini. Muat ulang halaman lalu coba lagi.", "This form has expired or did not come from this page. Reload the page and try again."},
	"error.title":             {"Terjadi kesalahan", "Something went wrong"},
	"error.body":              {"Terjadi kesalahan pada server. Coba lagi sebentar lagi.", "The server ran into a problem. Try again in a moment."},
	"notfound.title":          {"Tidak ditemukan", "Not found"},
	"notfound.trx":            {"Transaksi tidak ditemukan", "Transaction not found"},
	"notfound.trx.body":       {"Periksa kembali nomor referensi Anda.", "Check the reference number again."},
	"admin.title":             {"Konsol operator", "Operator console"},
	"admin.role":              {"Peran", "Role"},
	"admin.soon":              {"Halaman konsol (antrean tinjauan, member, katalog, laporan) menyusul.", "The console's pages (review queue, members, catalog, reports) come next."},
	"member.title":            {"Dasbor member", "Member dashboard"},
	"member.balance":          {"Saldo", "Balance"},
	"member.deposit":          {"Isi saldo", "Top up balance"},
	"member.deposit.help":     {"Anda akan diarahkan ke invoice dengan nominal yang harus dibayar.", "You will be taken to the invoice with the exact sum to pay."},
	"member.withdraw":         {"Tarik saldo", "Withdraw"},
	"member.withdraw.help":    {"Saldo ditahan sampai operator memproses penarikan.", "The amount is held until an operator processes the withdrawal."},
	"member.transactions":     {"Transaksi", "Transactions"},
	"member.filter":           {"Saring", "Filter"},
	"member.filter.all":       {"Semua", "All"},
	"member.filter.from":      {"Dari tanggal", "From"},
	"member.filter.until":     {"Sampai tanggal", "Until"},
	"member.tx.none":          {"Tidak ada transaksi yang cocok.", "No matching transactions."},
	"field.via":               {"Metode", "Method"},
	"field.amount":            {"Nominal (Rp)", "Amount (Rp)"},
	"field.bank":              {"Bank", "Bank"},
	"field.account_number":    {"Nomor rekening", "Account number"},
	"field.account_name":      {"Nama pemilik rekening", "Account holder"},
	"field.type":              {"Jenis", "Type"},
	"field.status":            {"Status", "Status"},
	"field.reference":         {"Referensi", "Reference"},
	"field.product":           {"Produk", "Product"},
	"field.price":             {"Harga", "Price"},
	"field.time":              {"Waktu", "Time"},
	"field.from":              {"Dari tanggal", "From"},
	"field.until":             {"Sampai tanggal", "Until"},
	"field.allow_ips":         {"IP yang diizinkan", "Allowed IPs"},
	"field.url":               {"URL webhook", "Webhook URL"},
	"field.name":              {"Nama toko", "Store name"},
	"field.static_qris":       {"QRIS statis", "Static QRIS"},
	"field.callback_url":      {"URL callback", "Callback URL"},
	"field.lifetime":          {"Masa berlaku invoice (menit)", "Invoice lifetime (minutes)"},
	"field.fee_flat":          {"Biaya tetap", "Flat fee"},
	"field.fee_percent_bp":    {"Biaya persen", "Percentage fee"},
	"field.partner_reference": {"Referensi mitra", "Partner reference"},
	"type.order":              {"Pembelian", "Order"},
	"type.deposit":            {"Isi saldo", "Deposit"},
	"type.withdraw":           {"Tarik saldo", "Withdrawal"},
	"status.unpaid":           {"Menunggu pembayaran", "Awaiting payment"},
	"status.processing":       {"Sedang diproses", "Processing"},
	"status.success":          {"Berhasil", "Successful"},
	"status.failed":           {"Gagal", "Failed"},
	"status.refund":           {"Dana dikembalikan", "Refunded"},
	"status.expired":          {"Kedaluwarsa", "Expired"},
	"status.pending":          {"Menunggu", "Pending"},
	"status.delivered":        {"Terkirim", "Delivered"},

	// API credentials and webhooks.
	"api.credentials":      {"Kredensial API", "API credentials"},
	"api.create":           {"Buat kredensial baru", "Create a credential"},
	"api.issued":           {"Kredensial dibuat. Salin API key dan secret key sekarang: keduanya tidak akan ditampilkan lagi.", "Credential created. Copy the API key and secret key now: they will not be shown again."},
	"api.key":              {"API key", "API key"},
	"api.secret":           {"Secret key", "Secret key"},
	"api.hint":             {"Awalan key", "Key starts with"},
	"api.created":          {"Dibuat", "Created"},
	"api.revoke":           {"Cabut", "Revoke"},
	"api.revoked":          {"Dicabut", "Revoked"},
	"api.active":           {"Aktif", "Active"},
	"api.signed_only":      {"Hanya tanda tangan bertanggal (t=…,v1=…)", "Signed form only (t=…,v1=…)"},
	"api.allow_ips.help":   {"Satu IP atau CIDR per baris; kosong berarti semua.", "One IP or CIDR per line; empty means any."},
	"api.any_ip":           {"semua IP", "any IP"},
	"webhook.title":        {"Webhook", "Webhook"},
	"webhook.url.help":     {"Alamat http(s) yang menerima status transaksi. Kosongkan untuk berhenti.", "The http(s) address that receives transaction statuses. Leave empty to stop."},
	"webhook.test":         {"Kirim webhook uji", "Send test webhook"},
	"webhook.test.sent":    {"Webhook uji dimasukkan ke antrean pengiriman.", "The test webhook is queued for delivery."},
	"webhook.rotate":       {"Ganti secret", "Rotate secret"},
	"webhook.rotate.help":  {"Secret lama tetap menandatangani selama 24 jam.", "The old secret keeps signing for 24 hours."},
	"webhook.secret.shown": {"Secret penandatanganan webhook Anda. Salin sekarang: tidak akan ditampilkan lagi.", "Your webhook signing secret. Copy it now: it will not be shown again."},
	"webhook.saved":        {"URL webhook disimpan.", "Webhook URL saved."},
	"webhook.deliveries":   {"Pengiriman terakhir", "Recent deliveries"},
	"webhook.kind":         {"Jenis", "Kind"},
	"webhook.http":         {"HTTP", "HTTP"},
	"webhook.latency":      {"Latensi", "Latency"},
	"webhook.answer":       {"Jawaban penerima", "Receiver's answer"},
	"webhook.attempts":     {"Percobaan", "Attempts"},
	"saved":                {"Tersimpan.", "Saved."},

	// Stores.
	"stores.title":     {"Toko QRIS", "QRIS stores"},
	"stores.create":    {"Buat toko", "Create a store"},
	"stores.qris.help": {"Tempel isi QRIS statis dari acquirer (teks yang diawali 000201). Kosongkan untuk mode sandbox.", "Paste the static QRIS payload from your acquirer (text starting with 000201). Leave empty for sandbox mode."},
	"stores.sandbox":   {"Mode sandbox (pembayaran bisa disimulasikan)", "Sandbox mode (payments can be simulated)"},
	"stores.fee":       {"Biaya platform", "Platform fee"},
	"stores.fee.help":  {"Biaya ditetapkan operator dan dipotong dari setiap pembayaran.", "The fee is set by operators and taken from each payment."},
	"stores.id":        {"ID toko", "Store ID"},
	"stores.created":   {"Toko dibuat.", "Store created."},
	"stores.qris.none": {"tanpa QRIS (sandbox)", "no QRIS (sandbox)"},
	"stores.qris.set":  {"QRIS terpasang", "QRIS set"},
	"stores.minutes":   {"menit", "minutes"},

	// Invoice.
	"invoice.title":      {"Invoice", "Invoice"},
	"invoice.product":    {"Produk", "Product"},
	"invoice.service":    {"Layanan", "Service"},
	"invoice.target":     {"Tujuan", "Destination"},
	"invoice.price":      {"Harga", "Price"},
	"invoice.note":       {"Keterangan", "Note"},
	"invoice.created":    {"Dibuat", "Created"},
	"invoice.pay.exact":  {"Transfer tepat sebesar:", "Transfer exactly:"},
	"invoice.pay.unique": {"Tiga digit terakhir adalah kode unik; nominal harus sama persis agar saldo masuk otomatis.", "The last three digits are a unique code; the sum must match exactly for the balance to be credited automatically."},
	"invoice.unique":     {"kode unik", "unique code"},
	"invoice.bank":       {"Bank", "Bank"},
	"invoice.account":    {"No. rekening", "Account no."},
	"invoice.holder":     {"Atas nama", "Account holder"},
	"invoice.before":     {"Bayar sebelum", "Pay before"},
	"invoice.left":       {"sisa waktu", "time left"},

	// Domain errors on forms.
	"err.invalid":      {"tidak valid", "is not valid"},
	"err.missing":      {"wajib diisi", "is required"},
	"err.below":        {"di bawah batas minimum", "is below the minimum"},
	"err.above":        {"di atas batas maksimum", "is above the maximum"},
	"err.insufficient": {"Saldo tidak cukup.", "The balance is not enough."},
	"err.conflict":     {"Tidak dapat dilakukan pada keadaan saat ini.", "Not possible in the current state."},
	"err.notfound":     {"Tidak ditemukan.", "Not found."},
	"err.no_url":       {"Atur URL webhook dulu.", "Set a webhook URL first."},
	"err.limits":       {"Batas", "Limits"},

	// Operator console.
	"nav.dashboard":          {"Dasbor", "Dashboard"},
	"nav.review":             {"Antrean tinjauan", "Review queue"},
	"nav.members":            {"Member", "Members"},
	"nav.orders":             {"Order macet", "Stuck orders"},
	"nav.webhooks":           {"Webhook gagal", "Failed webhooks"},
	"nav.audit":              {"Log audit", "Audit log"},
	"role.title":             {"Tidak diizinkan", "Not allowed"},
	"role.body":              {"Peran Anda tidak mengizinkan tindakan atau halaman ini.", "Your role does not allow this page or action."},
	"console.adjusted":       {"Saldo disesuaikan dan dicatat di log audit.", "Balance adjusted and recorded in the audit log."},
	"console.resolved":       {"Order diselesaikan dan dicatat di log audit.", "Order resolved and recorded in the audit log."},
	"console.redelivered":    {"Webhook dimasukkan lagi ke antrean pengiriman.", "The webhook is queued for delivery again."},
	"chart.orders":           {"Order per hari", "Orders per day"},
	"chart.revenue":          {"Pendapatan per hari (order berhasil)", "Revenue per day (successful orders)"},
	"chart.suppliers":        {"Tingkat keberhasilan per supplier", "Success rate per supplier"},
	"chart.queues":           {"Antrean", "Queues"},
	"queue.deposit":          {"Deposit menunggu", "Deposits waiting"},
	"queue.withdraw":         {"Penarikan menunggu", "Withdrawals waiting"},
	"queue.stuck":            {"Order macet", "Stuck orders"},
	"queue.webhook.pending":  {"Webhook tertunda", "Webhooks pending"},
	"queue.webhook.failed":   {"Webhook gagal", "Webhooks failed"},
	"review.title":           {"Antrean tinjauan", "Review queue"},
	"review.bad_action":      {"Pilih terima atau tolak.", "Choose accept or reject."},
	"review.none":            {"Pilih setidaknya satu transaksi.", "Select at least one transaction."},
	"review.too_many":        {"%d transaksi dipilih; paling banyak %d sekaligus. Tidak ada yang diproses.", "%d transactions selected; at most %d at once. Nothing was done."},
	"review.not_waiting":     {"sudah tidak menunggu keputusan", "no longer waits for a decision"},
	"review.done.accept":     {"%d transaksi diterima.", "%d transactions accepted."},
	"review.done.reject":     {"%d transaksi ditolak.", "%d transactions rejected."},
	"review.comment.help":    {"Wajib: alasan keputusan (tampil ke member jika ditolak)", "Required: why (shown to the member on a rejection)"},
	"review.accept.selected": {"Terima yang dipilih", "Accept selected"},
	"review.reject.selected": {"Tolak yang dipilih", "Reject selected"},
	"review.max":             {"Paling banyak %d transaksi per keputusan.", "At most %d transactions per decision."},
	"review.select.all":      {"Pilih semua", "Select all"},
	"review.accept":          {"Terima", "Accept"},
	"review.reject":          {"Tolak", "Reject"},
	"review.empty":           {"Tidak ada transaksi yang cocok.", "No matching transactions."},
	"status.waiting":         {"Menunggu keputusan", "Waiting for a decision"},
	"status.all":             {"Semua", "All"},
	"total.page":             {"Total halaman ini", "Total of this page"},
	"total.all":              {"Total semua", "Total of all"},
	"pager.prev":             {"Sebelumnya", "Previous"},
	"pager.next":             {"Berikutnya", "Next"},
	"pager.of":               {"Halaman %d dari %d", "Page %d of %d"},
	"members.title":          {"Member", "Members"},
	"members.search":         {"Cari", "Search"},
	"members.off":            {"Nonaktif", "Switched off"},
	"members.none":           {"Tidak ada member yang cocok.", "No matching members."},
	"members.notfound":       {"Member ini tidak ada.", "There is no such member."},
	"members.history":        {"Riwayat saldo", "Balance history"},
	"members.downlines":      {"Downline", "Downlines"},
	"movement.deposit":       {"Isi saldo", "Deposit"},
	"movement.withdraw":      {"Tarik saldo", "Withdrawal"},
	"movement.order":         {"Pembelian", "Order"},
	"movement.adjustment":    {"Penyesuaian", "Adjustment"},
	"adjust.title":           {"Penyesuaian saldo", "Balance adjustment"},
	"adjust.credit":          {"Tambah saldo (kredit)", "Add to the balance (credit)"},
	"adjust.debit":           {"Kurangi saldo (debit)", "Take from the balance (debit)"},
	"adjust.submit":          {"Sesuaikan saldo", "Adjust balance"},
	"orders.title":           {"Order macet", "Stuck orders"},
	"orders.help":            {"Order yang masih diproses melewati batas waktu, yang paling lama di atas. Gagal mengembalikan dana ke member.", "Orders still processing past the bound, the longest waiting first. Failed refunds the member."},
	"orders.failed_refund":   {"Gagal (dana dikembalikan)", "Failed (refund)"},
	"orders.resolve":         {"Selesaikan", "Resolve"},
	"orders.none":            {"Tidak ada order macet.", "No stuck orders."},
	"orders.not_processing":  {"sudah tidak diproses", "is no longer processing"},
	"webhooks.title":         {"Webhook", "Webhooks"},
	"webhooks.redeliver":     {"Kirim ulang", "Redeliver"},
	"audit.title":            {"Log audit", "Audit log"},
	"audit.operator":         {"Operator", "Operator"},
	"audit.action":           {"Tindakan", "Action"},
	"audit.target":           {"Sasaran", "Target"},
	"audit.change":           {"Perubahan", "Change"},
	"field.member":           {"Member", "Member"},
	"field.comment":          {"Komentar", "Comment"},
	"field.level":            {"Level", "Level"},
	"field.upline":           {"Upline", "Upline"},
	"field.direction":        {"Arah", "Direction"},
	"field.sn":               {"SN", "SN"},
	"field.action":           {"Tindakan", "Action"},

	// The payment page.
	"pay.title":    {"Pembayaran", "Payment"},
	"pay.exact":    {"Bayar tepat sebesar:", "Pay exactly:"},
	"pay.unique":   {"Tiga digit terakhir adalah kode unik; nominal harus sama persis.", "The last three digits are a unique code; the sum must match exactly."},
	"pay.late":     {"terlambat", "late"},
	"pay.thanks":   {"Pembayaran diterima. Terima kasih!", "Payment received. Thank you!"},
	"pay.expired":  {"Waktu pembayaran sudah habis. Jangan membayar QR ini lagi; minta invoice baru kepada penjual.", "The time to pay is over. Do not pay this QR any more; ask the seller for a new invoice."},
	"pay.amount":   {"Nominal", "Amount"},
	"pay.customer": {"Pelanggan", "Customer"},
	"pay.simulate": {"Simulasikan pembayaran (sandbox)", "Simulate the payment (sandbox)"},
	"status.paid":  {"Lunas", "Paid"},

	// The API docs.
	"docs.title":             {"Dokumentasi API", "API reference"},
	"docs.intro":             {"Semua panggilan keempat API kios, masing-masing dengan contoh curl dan PHP. Alamat dasar:", "Every call of kios's four APIs, each with a curl and a PHP example. Base address:"},
	"docs.contents":          {"Isi", "Contents"},
	"docs.vars":              {"Contoh memakai variabel", "The examples use the variables"},
	"docs.prepaid":           {"Authorization: Bearer <api_key>. Panggilan yang memindahkan uang atau menampilkan saldo juga butuh Signature: secret key itu sendiri, atau t=<unix>,v1=<hex HMAC-SHA256(secret_key, \"<t>.<body>\")> (±5 menit).", "Authorization: Bearer <api_key>. Calls that move money or show the balance also need Signature: the secret key itself, or t=<unix>,v1=<hex HMAC-SHA256(secret_key, \"<t>.<body>\")> (±5 minutes)."},
	"docs.ppob":              {"X-API-Key: <api_key> (kunci yang sama dengan prepaid). Amplop {success, message, rc, data}; nominal berupa string angka.", "X-API-Key: <api_key> (the prepaid key). Envelope {success, message, rc, data}; amounts are strings of digits."},
	"docs.payment":           {"Authorization: Bearer <api_key> atau field api_key. Body boleh form, multipart atau JSON.", "Authorization: Bearer <api_key> or an api_key field. Bodies may be forms, multipart or JSON."},
	"docs.admin":             {"Authorization: Bearer kop_… (token operator). Setiap perubahan wajib membawa comment dan tercatat di log audit; peran menentukan apa yang boleh.", "Authorization: Bearer kop_… (an operator token). Every change needs a comment and is recorded in the audit log; the role decides what is allowed."},
	"docs.errors":            {"Kode kesalahan dan rc", "Errors and rc"},
	"docs.errors.prepaid":    {"Bentuk: {\"status\":400,\"message\":\"…\",\"error\":\"…\"}.", "Shape: {\"status\":400,\"message\":\"…\",\"error\":\"…\"}."},
	"docs.errors.payment":    {"untuk hal lain, dengan nama field (store_id wajib diisi, amount minimal 1000, …).", "for everything else, naming the field (store_id wajib diisi, amount minimal 1000, …)."},
	"docs.when":              {"Kapan", "When"},
	"docs.role":              {"peran tidak mengizinkan", "the role does not allow it"},
	"docs.conflict":          {"sudah diputuskan; tidak ada uang yang berpindah", "already decided; no money moves"},
	"docs.webhooks":          {"Memeriksa tanda tangan webhook", "Checking webhook signatures"},
	"docs.webhooks.intro":    {"Setiap webhook (transaction_status, payment_status, price_update, test) ditandatangani dengan secret whsec_… dari dasbor, dalam dua header; periksa salah satunya atau keduanya.", "Every webhook (transaction_status, payment_status, price_update, test) is signed with the whsec_… secret from the dashboard, in two headers; check either or both."},
	"docs.webhooks.rotation": {"Selama 24 jam setelah secret diganti, kedua secret menandatangani: dua nilai dipisah spasi di setiap header.", "For 24 hours after a rotation both secrets sign: two space-separated values in each header."},
	"docs.webhooks.answer":   {"Terkirim = HTTP 2xx dalam 10 detik, dan jika body JSON berisi status angka, status < 400. Selain itu dicoba lagi (10 dtk, 1 mnt, 5 mnt, 30 mnt, 2 j, 5 j, 10 j, 24 j).", "Delivered = HTTP 2xx within 10 s and, when the body is JSON with a numeric status, status < 400. Otherwise retried (10 s, 1 min, 5 min, 30 min, 2 h, 5 h, 10 h, 24 h)."},
	"docs.webhooks.secret":   {"dari dasbor member, tab API & Webhook", "from the member dashboard, API & webhook tab"},
	"docs.idempotency":       {"Aturan idempotensi", "Idempotency rules"},
	"docs.idem.prepaid":      {"unik per member selama 24 jam (order dan penarikan). Body yang sama menjawab transaksi pertama dengan header Idempotent-Replayed: true tanpa memotong saldo lagi; body lain → duplicate_partner_reference.", "unique per member for 24 hours (orders and withdrawals). The same body answers the first transaction with Idempotent-Replayed: true and charges nothing again; another body → duplicate_partner_reference."},
	"docs.idem.ppob":         {"unik per member selamanya. Permintaan yang sama menjawab keadaan transaksi itu dan tidak memotong lagi; permintaan lain → rc 094.", "unique per member forever. The same request answers that transaction's state and never charges again; another → rc 094."},
	"docs.idem.payment":      {"per toko selama 24 jam: kunci dan field yang sama mengembalikan invoice pertama; field lain ditolak.", "per store for 24 hours: the same key and fields return the first invoice; other fields are refused."},
	"docs.idem.admin":        {"setiap keputusan terjadi tepat sekali: transaksi yang tidak lagi menunggu → 409 dan tidak ada uang yang berpindah; dana masuk idempoten per (channel, external_id).", "each decision happens exactly once: a transaction that no longer waits → 409 and no money moves; incoming funds are idempotent per (channel, external_id)."},
	"docs.idem.webhooks":     {"webhook-id tetap sama di setiap percobaan ulang; abaikan id yang sudah diproses.", "webhook-id stays the same across retries; ignore an id you have processed."},
}
