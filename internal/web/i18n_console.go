package web

// consoleTexts are the strings of the console's incoming funds, payments
// report and catalog pages; init adds them to catalog.
var consoleTexts = map[string]text{
	"nav.incoming":     {"Dana masuk", "Incoming funds"},
	"nav.payments":     {"Laporan pembayaran", "Payments report"},
	"nav.catalog":      {"Katalog", "Catalog"},
	"console.assigned": {"Dana masuk ditetapkan ke invoice dan dicatat di log audit.", "The funds paid the invoice; recorded in the audit log."},
	"console.saved":    {"Tersimpan dan dicatat di log audit.", "Saved and recorded in the audit log."},
	"console.prices":   {"Harga diubah dalam satu transaksi dan dicatat di log audit.", "Prices changed in one transaction and recorded in the audit log."},
	"console.imported": {"Impor selesai dan dicatat di log audit.", "Import done and recorded in the audit log."},
	"status.unmatched": {"Belum cocok", "Unmatched"},
	"status.matched":   {"Cocok", "Matched"},
	"status.matching":  {"Sedang dikonfirmasi", "Being confirmed"},
	"incoming.title":   {"Dana masuk", "Incoming funds"},
	"incoming.help":    {"Dana yang diterima tetapi tidak cocok dengan invoice mana pun. Tetapkan ke invoice QRIS yang totalnya sama persis.", "Money received that matched no invoice. Assign it to the QRIS invoice whose total is exactly the amount."},
	"incoming.invoice": {"Invoice", "Invoice"},
	"incoming.assign":  {"Tetapkan", "Assign"},
	"incoming.none":    {"Tidak ada dana masuk dengan status ini.", "No incoming funds with this status."},
	"payments.title":   {"Laporan pembayaran", "Payments report"},
	"payments.store":   {"ID toko", "Store id"},
	"payments.fee":     {"Biaya", "Fee"},
	"field.id":         {"ID", "ID"},
	"field.store":      {"ID toko", "Store id"},
	"field.to":         {"Sampai tanggal", "Until"},
	"field.code":       {"Kode", "Code"},
	"field.prices":     {"Harga", "Prices"},
	"field.rules":      {"Aturan", "Rules"},
	"field.skus":       {"SKU", "SKUs"},
	"field.forms":      {"Kolom formulir", "Form fields"},
	"field.provider":   {"Provider", "Provider"},
	"field.supplier":   {"Supplier", "Supplier"},
	"field.json":       {"JSON", "JSON"},
	"field.position":   {"Urutan", "Position"},
	"field.icon":       {"Ikon", "Icon"},
	"field.active":     {"Aktif", "Active"},
	"field.products":   {"Produk", "Products"},
	"field.providers":  {"Provider", "Providers"},
}

func init() {
	for k, v := range consoleTexts {
		catalog[k] = v
	}
}
