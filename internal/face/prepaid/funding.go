package prepaid

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"

	"kios/internal/fault"
	"kios/internal/funding"
	"kios/internal/rupiah"
)

// depositData is the answer of transaction/deposit, in the reference's
// order of fields.
type depositData struct {
	Type       string `json:"type"`
	Reference  string `json:"reference"`
	Provider   string `json:"provider"`
	Product    string `json:"product"`
	Price      int64  `json:"price"`
	Via        string `json:"via"`
	Status     string `json:"status"`
	InvoiceURL string `json:"invoice_url"`
	ExpiredAt  string `json:"expired_at"`
}

// withdrawData is the answer of transaction/withdraw (kios's addition,
// shaped like the deposit's).
type withdrawData struct {
	Type             string `json:"type"`
	Reference        string `json:"reference"`
	PartnerReference string `json:"partner_reference,omitempty"`
	Provider         string `json:"provider"`
	Product          string `json:"product"`
	Price            int64  `json:"price"`
	Bank             string `json:"bank"`
	AccountNumber    string `json:"account_number"`
	AccountName      string `json:"account_name"`
	Status           string `json:"status"`
	InvoiceURL       string `json:"invoice_url"`
	CreatedAt        string `json:"created_at"`
}

// Deposit answers POST /api/prepaid/transaction/deposit: body
// {"amount":500000,"via":"bca"}; an unpaid deposit whose price carries its
// unique code.
func Deposit(funds *funding.Service, baseURL string, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := CallerFrom(r.Context())
		f, bad := decodeFields(c.Body)
		if bad != nil {
			writeError(w, *bad)
			return
		}
		amount, bad := f.integer("amount")
		if bad != nil {
			writeError(w, *bad)
			return
		}
		via, bad := f.text("via")
		if bad != nil {
			writeError(w, *bad)
			return
		}
		t, err := funds.Deposit(r.Context(), c.Member.ID, amount, via)
		if err != nil {
			writeFundingFault(w, r, logger, funds, err)
			return
		}
		writeData(w, depositData{
			Type: t.Type, Reference: t.Reference, Provider: t.Provider, Product: t.Product, Price: t.Price,
			Via: t.Via, Status: t.Status, InvoiceURL: invoiceURL(baseURL, t.Reference), ExpiredAt: wireTime(t.ExpiredAt),
		})
	})
}

// Withdraw answers POST /api/prepaid/transaction/withdraw: body
// {"amount":…,"bank":"bca","account_number":"…","account_name":"…",
// "partner_reference":"…"}; the amount is held at once. A replay of a
// partner_reference answers the first withdrawal with the header
// Idempotent-Replayed: true.
func Withdraw(funds *funding.Service, baseURL string, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := CallerFrom(r.Context())
		f, bad := decodeFields(c.Body)
		if bad != nil {
			writeError(w, *bad)
			return
		}
		var req funding.WithdrawalRequest
		if req.Amount, bad = f.integer("amount"); bad != nil {
			writeError(w, *bad)
			return
		}
		for _, p := range []struct {
			key string
			dst *string
		}{{"bank", &req.Bank}, {"account_number", &req.AccountNumber}, {"account_name", &req.AccountName},
			{"partner_reference", &req.PartnerReference}} {
			if *p.dst, bad = f.text(p.key); bad != nil {
				writeError(w, *bad)
				return
			}
		}
		t, replayed, err := funds.Withdraw(r.Context(), c.Member.ID, req)
		if err != nil {
			writeFundingFault(w, r, logger, funds, err)
			return
		}
		if replayed {
			w.Header().Set("Idempotent-Replayed", "true")
		}
		writeData(w, withdrawData{
			Type: t.Type, Reference: t.Reference, PartnerReference: t.PartnerReference, Provider: t.Provider,
			Product: t.Product, Price: t.Price, Bank: t.Via, AccountNumber: t.AccountNumber, AccountName: t.AccountName,
			Status: t.Status, InvoiceURL: invoiceURL(baseURL, t.Reference), CreatedAt: wireTime(t.CreatedAt),
		})
	})
}

// bodyFields is a JSON object body, its properties kept raw so that each
// can be checked for its type and a wrong one answered naming it.
type bodyFields map[string]json.RawMessage

var errBodyNotObject = apiError{http.StatusBadRequest, "invalid_body", "Body permintaan harus berupa objek JSON"}

// decodeFields reads a body that must be a JSON object. An empty body,
// null and [] (what PHP's json_encode makes of an empty array) are an
// object without properties.
func decodeFields(body []byte) (bodyFields, *apiError) {
	b := bytes.TrimSpace(body)
	if len(b) == 0 || string(b) == "null" {
		return bodyFields{}, nil
	}
	if !json.Valid(b) {
		return nil, &errMalformedJSON
	}
	var f bodyFields
	if err := json.Unmarshal(b, &f); err != nil || f == nil {
		var empty []json.RawMessage
		if json.Unmarshal(b, &empty) == nil && len(empty) == 0 {
			return bodyFields{}, nil
		}
		return nil, &errBodyNotObject
	}
	return f, nil
}

func (f bodyFields) raw(key string) []byte {
	v := bytes.TrimSpace(f[key])
	if string(v) == "null" {
		return nil
	}
	return v
}

// integer reads a required whole number of rupiah. A string, a fraction or
// an exponent is refused naming the field.
func (f bodyFields) integer(key string) (int64, *apiError) {
	v := f.raw(key)
	if len(v) == 0 {
		return 0, missingField(key)
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		return 0, &apiError{http.StatusBadRequest, "invalid_field", "Kolom " + key + " harus berupa angka bulat"}
	}
	return n, nil
}

// text reads an optional string, "" when absent; a JSON number is taken as
// its decimal text, as the order call does (PHP clients send either).
func (f bodyFields) text(key string) (string, *apiError) {
	v := f.raw(key)
	if len(v) == 0 {
		return "", nil
	}
	switch v[0] {
	case '"':
		var s string
		if json.Unmarshal(v, &s) == nil {
			return s, nil
		}
	case '{', '[', 't', 'f':
	default: // a number; the body is valid JSON
		return string(v), nil
	}
	return "", &apiError{http.StatusBadRequest, "invalid_field", "Kolom " + key + " harus berupa teks"}
}

func missingField(key string) *apiError {
	return &apiError{http.StatusBadRequest, "missing_field", "Kolom " + key + " wajib diisi"}
}

// invalidHints say, per field, why a value was refused.
var invalidHints = map[string]string{
	"amount":            "harus lebih dari 0",
	"via":               "metode pembayaran tidak tersedia",
	"bank":              "bank tidak dikenal",
	"account_number":    "harus 5 sampai 20 angka",
	"account_name":      "maksimal 64 karakter, tanpa baris baru",
	"partner_reference": "maksimal 64 karakter, tanpa baris baru",
}

// writeFundingFault answers the funding service's errors.
func writeFundingFault(w http.ResponseWriter, r *http.Request, logger *slog.Logger, funds *funding.Service, err error) {
	field := fault.FieldOf(err)
	min, max := funds.Limits()
	switch fault.CodeOf(err) {
	case fault.Missing:
		writeError(w, *missingField(field))
	case fault.Invalid:
		msg := "Kolom " + field + " tidak valid"
		if h, ok := invalidHints[field]; ok {
			msg += ": " + h
		}
		writeError(w, apiError{http.StatusBadRequest, "invalid_field", msg})
	case fault.BelowMinimum:
		writeError(w, apiError{http.StatusBadRequest, "min_amount",
			"Minimum nominal untuk menggunakan metode pembayaran ini Rp " + rupiah.Format(min)})
	case fault.AboveMaximum:
		writeError(w, apiError{http.StatusBadRequest, "max_amount",
			"Maksimum nominal untuk menggunakan metode pembayaran ini Rp " + rupiah.Format(max)})
	case fault.Insufficient:
		writeError(w, apiError{http.StatusBadRequest, "insufficient_balance", "Saldo anda tidak mencukupi"})
	case fault.Conflict:
		if field == "partner_reference" {
			writeError(w, apiError{http.StatusBadRequest, "duplicate_partner_reference", "partner_reference sudah digunakan untuk transaksi lain"})
			return
		}
		writeError(w, apiError{http.StatusBadRequest, "unique_code_exhausted",
			"Kode unik untuk nominal ini sedang habis, silakan gunakan nominal lain atau coba lagi nanti"})
	default:
		writeFault(w, r, logger, err)
	}
}
