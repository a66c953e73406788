// Package payment is the payment face: the wire format of the QRIS
// "create_payment / payment status" API (see shared/spec/20-payment-api.md)
// translated to and from the payment domain's calls. Requests come as
// url-encoded or multipart forms or as JSON, with the API key in an
// "Authorization: Bearer" header or an api_key field; answers are
// {"status":"success","data":…} or {"status":"error","message":…}.
package payment

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"kios/internal/face/apikey"
	"kios/internal/fault"
	"kios/internal/httpx"
	"kios/internal/member"
	pay "kios/internal/payment"
	"kios/internal/ratelimit"
)

// apiError is one error answer: HTTP status and message.
type apiError struct {
	status  int
	message string
}

// The answers of the face that do not come from a domain fault.
var (
	errInvalidKey    = apiError{http.StatusUnauthorized, "API key tidak valid"}
	errNoAccess      = apiError{http.StatusUnauthorized, "Akses API tidak diizinkan untuk akun ini"}
	errRateLimited   = apiError{http.StatusTooManyRequests, "Terlalu banyak permintaan, silakan coba lagi sebentar lagi"}
	errBodyTooLarge  = apiError{http.StatusBadRequest, "Ukuran body permintaan melebihi 64 KiB"}
	errMalformedBody = apiError{http.StatusBadRequest, "Body permintaan tidak valid (form atau JSON)"}
	errNoInvoice     = apiError{http.StatusNotFound, "Invoice tidak ditemukan"}
	errInternal      = apiError{http.StatusInternalServerError, "Terjadi kesalahan pada server, silakan coba lagi"}
)

type errorBody struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

type dataBody struct {
	Status string `json:"status"`
	Data   any    `json:"data"`
}

func writeError(w http.ResponseWriter, e apiError) {
	if e.status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "1")
	}
	httpx.WriteJSON(w, e.status, errorBody{Status: "error", Message: e.message})
}

func writeData(w http.ResponseWriter, data any) {
	httpx.WriteJSON(w, http.StatusOK, dataBody{Status: "success", Data: data})
}

// faultMessages words the domain's refusals, by code and field.
var faultMessages = map[fault.Code]map[string]string{
	fault.Missing: {
		"store_id": "store_id wajib diisi",
		"amount":   "amount wajib diisi",
		"invoice":  "invoice wajib diisi",
	},
	fault.Invalid: {
		"store_id":      "store_id harus berupa bilangan bulat positif",
		"amount":        "amount harus berupa bilangan bulat",
		"description":   "description tidak valid (maksimal 100 karakter, tanpa karakter kontrol)",
		"customer_name": "customer_name tidak valid (maksimal 100 karakter, tanpa karakter kontrol)",
		"merchant_ref":  "merchant_ref tidak valid (maksimal 64 karakter ASCII tanpa spasi)",
	},
	fault.BelowMinimum: {"amount": fmt.Sprintf("amount minimal %d", pay.MinAmount)},
	fault.AboveMaximum: {"amount": fmt.Sprintf("amount maksimal %d", pay.MaxAmount)},
	fault.NotFound:     {"store_id": "Toko tidak ditemukan", "invoice": errNoInvoice.message},
	fault.Inactive:     {"store_id": "Toko tidak aktif"},
	fault.Conflict: {
		"amount":       "Semua kode unik untuk nominal ini sedang dipakai invoice lain; gunakan nominal lain atau coba lagi nanti",
		"merchant_ref": "merchant_ref sudah dipakai untuk permintaan yang berbeda",
	},
}

// writeFault answers a domain error from faultMessages; anything else is
// logged with the request id and answered with the generic message.
func writeFault(w http.ResponseWriter, r *http.Request, logger *slog.Logger, err error) {
	code, field := fault.CodeOf(err), fault.FieldOf(err)
	if msg, ok := faultMessages[code][field]; ok {
		status := http.StatusBadRequest
		if code == fault.NotFound && field == "invoice" {
			status = http.StatusNotFound
		}
		writeError(w, apiError{status, msg})
		return
	}
	switch code {
	case fault.Unauthorized:
		writeError(w, errInvalidKey)
	case fault.Forbidden:
		writeError(w, errNoAccess)
	case fault.RateLimited:
		writeError(w, errRateLimited)
	case fault.Missing:
		writeError(w, apiError{http.StatusBadRequest, field + " wajib diisi"})
	case fault.Invalid, fault.Conflict:
		if field != "" {
			writeError(w, apiError{http.StatusBadRequest, field + " tidak valid"})
			return
		}
		fallthrough
	default:
		logger.ErrorContext(r.Context(), "payment face: internal error", "err", err)
		writeError(w, errInternal)
	}
}

// fields are a request's parameters: the body's (form or JSON), then the
// query string's.
type fields struct {
	body  map[string]string
	query url.Values
}

// get returns a parameter and whether it was given.
func (f fields) get(name string) (string, bool) {
	if v, ok := f.body[name]; ok {
		return v, true
	}
	if f.query.Has(name) {
		return f.query.Get(name), true
	}
	return "", false
}

// known are the parameters the face reads.
var known = map[string]bool{"api_key": true, "store_id": true, "amount": true, "description": true,
	"customer_name": true, "merchant_ref": true, "invoice": true}

// errFieldType is a JSON field of a type the face cannot take.
type errFieldType struct{ field string }

func (e errFieldType) Error() string { return e.field + " has the wrong type" }

// parseFields reads the body as JSON, a multipart form or a url-encoded
// form, according to its Content-Type (a body without one that looks like
// JSON is read as JSON, else as a form).
func parseFields(r *http.Request, body []byte) (fields, error) {
	f := fields{body: map[string]string{}, query: r.URL.Query()}
	if len(bytes.TrimSpace(body)) == 0 {
		return f, nil
	}
	ct, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case ct == "application/json" || ct == "" && bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")):
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		var m map[string]any
		if err := dec.Decode(&m); err != nil || dec.More() {
			return f, errors.New("malformed JSON")
		}
		for k, v := range m {
			switch v := v.(type) {
			case string:
				f.body[k] = v
			case json.Number:
				f.body[k] = v.String()
			case nil:
			default:
				if known[k] { // unknown fields are ignored, whatever their type
					return f, errFieldType{k}
				}
			}
		}
	case ct == "multipart/form-data":
		req := &http.Request{Method: http.MethodPost, Header: http.Header{"Content-Type": {r.Header.Get("Content-Type")}},
			Body: io.NopCloser(bytes.NewReader(body))}
		if params["boundary"] == "" {
			return f, errors.New("multipart without boundary")
		}
		if err := req.ParseMultipartForm(httpx.MaxBody); err != nil {
			return f, err
		}
		for k, vs := range req.MultipartForm.Value {
			f.body[k] = vs[0]
		}
	default:
		vs, err := url.ParseQuery(string(body))
		if err != nil {
			return f, err
		}
		for k, v := range vs {
			f.body[k] = v[0]
		}
	}
	return f, nil
}

// Face holds what the face's handlers share.
type Face struct {
	members  *member.Store
	limiter  *ratelimit.Limiter
	trusted  []netip.Prefix
	invoices *pay.Service
	baseURL  string
	logger   *slog.Logger
}

// New returns the payment face. baseURL prefixes qr_url and payment_url;
// trusted lists reverse proxies whose X-Forwarded-For is believed.
func New(members *member.Store, limiter *ratelimit.Limiter, trusted []netip.Prefix, invoices *pay.Service, baseURL string, logger *slog.Logger) *Face {
	return &Face{members: members, limiter: limiter, trusted: trusted, invoices: invoices,
		baseURL: strings.TrimRight(baseURL, "/"), logger: logger}
}

type callerKey struct{}
type fieldsKey struct{}

// auth reads the body and the parameters, then checks, in order: the API
// key (Bearer header, else the api_key parameter), the member's access
// (active, API access on, the caller's IP allowed) and the credential's
// rate limit. Only then is next called.
func (f *Face) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := httpx.ReadBody(w, r)
		if err != nil {
			if errors.Is(err, httpx.ErrBodyTooLarge) {
				writeError(w, errBodyTooLarge)
				return
			}
			writeError(w, errMalformedBody)
			return
		}
		fs, err := parseFields(r, body)
		if err != nil {
			var ft errFieldType
			if errors.As(err, &ft) {
				writeError(w, apiError{http.StatusBadRequest, ft.field + " harus berupa teks atau angka"})
				return
			}
			writeError(w, errMalformedBody)
			return
		}
		key, ok := apikey.Bearer(r.Header.Get("Authorization"))
		if !ok {
			key, _ = fs.get("api_key")
			key = strings.TrimSpace(key)
		}
		if key == "" {
			writeError(w, errInvalidKey)
			return
		}
		_, m, err := apikey.Check(r, f.members, f.limiter, f.trusted, key)
		if err != nil {
			writeFault(w, r, f.logger, err)
			return
		}
		ctx := context.WithValue(r.Context(), callerKey{}, m)
		ctx = context.WithValue(ctx, fieldsKey{}, fs)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// intField parses a required positive integer parameter.
func intField(fs fields, name string) (int64, error) {
	v, ok := fs.get(name)
	v = strings.TrimSpace(v)
	if !ok || v == "" {
		return 0, fault.Field(fault.Missing, name, "is required")
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fault.Field(fault.Invalid, name, "is not an integer")
	}
	return n, nil
}

// createData is create_payment's answer.
type createData struct {
	Invoice    string `json:"invoice"`
	Amount     int64  `json:"amount"`
	UniqueCode int64  `json:"unique_code"`
	Total      int64  `json:"total_amount"`
	QRContent  string `json:"qr_content"`
	QRURL      string `json:"qr_url"`
	PaymentURL string `json:"payment_url"`
	ExpiredAt  string `json:"expired_at"`
}

// CreatePayment serves POST /api/create_payment.php.
func (f *Face) CreatePayment() http.Handler {
	return f.auth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := r.Context().Value(callerKey{}).(member.Member)
		fs := r.Context().Value(fieldsKey{}).(fields)
		storeID, err := intField(fs, "store_id")
		if err != nil {
			writeFault(w, r, f.logger, err)
			return
		}
		if storeID <= 0 {
			writeFault(w, r, f.logger, fault.Field(fault.Invalid, "store_id", "must be positive"))
			return
		}
		amount, err := intField(fs, "amount")
		if err != nil {
			writeFault(w, r, f.logger, err)
			return
		}
		desc, _ := fs.get("description")
		cust, _ := fs.get("customer_name")
		ref, _ := fs.get("merchant_ref")
		inv, _, err := f.invoices.Create(r.Context(), m.ID, pay.NewInvoice{StoreID: storeID, Amount: amount,
			Description: desc, CustomerName: cust, MerchantRef: ref})
		if err != nil {
			writeFault(w, r, f.logger, err)
			return
		}
		writeData(w, createData{Invoice: inv.Invoice, Amount: inv.Amount, UniqueCode: inv.UniqueCode, Total: inv.Total,
			QRContent: inv.QRContent, QRURL: f.baseURL + "/qr/" + inv.Invoice + ".png",
			PaymentURL: f.baseURL + "/pay.php?invoice=" + inv.Invoice, ExpiredAt: pay.FormatTime(inv.ExpiredAt)})
	}))
}

// statusData is payment.php's answer.
type statusData struct {
	Invoice      string  `json:"invoice"`
	Amount       int64   `json:"amount"`
	UniqueCode   int64   `json:"unique_code"`
	Total        int64   `json:"total_amount"`
	Status       string  `json:"status"`
	PaidAt       *string `json:"paid_at"`
	CustomerName string  `json:"customer_name"`
	StoreName    string  `json:"store_name"`
}

// PaymentStatus serves GET and POST /api/payment.php?invoice=…: only the
// store owner's key may read an invoice; to any other it does not exist.
func (f *Face) PaymentStatus() http.Handler {
	return f.auth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := r.Context().Value(callerKey{}).(member.Member)
		fs := r.Context().Value(fieldsKey{}).(fields)
		ref, _ := fs.get("invoice")
		ref = strings.TrimSpace(ref)
		if ref == "" {
			writeFault(w, r, f.logger, fault.Field(fault.Missing, "invoice", "is required"))
			return
		}
		inv, err := f.invoices.Get(r.Context(), ref)
		if err == nil && inv.MemberID != m.ID {
			err = fault.Field(fault.NotFound, "invoice", "not the caller's")
		}
		if err != nil {
			writeFault(w, r, f.logger, err)
			return
		}
		d := statusData{Invoice: inv.Invoice, Amount: inv.Amount, UniqueCode: inv.UniqueCode, Total: inv.Total,
			Status: inv.StatusAt(f.invoices.Now()), CustomerName: inv.CustomerName, StoreName: inv.StoreName}
		if !inv.PaidAt.IsZero() {
			s := pay.FormatTime(inv.PaidAt)
			d.PaidAt = &s
		}
		writeData(w, d)
	}))
}
