// Package prepaid is the prepaid face: the wire format of the Indonesian
// top-up providers' "prepaid" API (see shared/spec/10-prepaid-api.md),
// translated to and from kios's domain calls. It holds no rules of its own.
package prepaid

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"kios/internal/fault"
	"kios/internal/httpx"
)

// apiError is one error answer of this face: HTTP status, kios's machine
// code (the "error" field) and the Indonesian message.
type apiError struct {
	status  int
	code    string
	message string
}

// The answers this face gives. Messages are the reference providers' own
// where they have one.
var (
	errInvalidKey       = apiError{http.StatusBadRequest, "invalid_api_key", "Invalid API Key"}
	errInvalidSignature = apiError{http.StatusBadRequest, "invalid_signature", "Invalid signature"}
	errNoAccess         = apiError{http.StatusBadRequest, "access_denied", "Anda tidak memiliki akses ke api kami"}
	errRateLimited      = apiError{http.StatusTooManyRequests, "rate_limited", "Terlalu banyak permintaan, silakan coba lagi sebentar lagi"}
	errBodyTooLarge     = apiError{http.StatusBadRequest, "invalid_body", "Ukuran body permintaan melebihi 64 KiB"}
	errMalformedJSON    = apiError{http.StatusBadRequest, "invalid_body", "Body permintaan bukan JSON yang valid"}
	errNoEndpoint       = apiError{http.StatusNotFound, "not_found", "Endpoint tidak ditemukan"}
	errProductNotFound  = apiError{http.StatusBadRequest, "product_not_found", "Produk tidak ditemukan"}
	errProviderNotFound = apiError{http.StatusBadRequest, "provider_not_found", "Provider tidak ditemukan"}
	errInternal         = apiError{http.StatusInternalServerError, "internal_error", "Terjadi kesalahan pada server, silakan coba lagi"}
)

// errorBody is the error shape: status, message, error — in that order.
type errorBody struct {
	Status  int    `json:"status"`
	Message string `json:"message"`
	Error   string `json:"error"`
}

type dataBody struct {
	Status int `json:"status"`
	Data   any `json:"data"`
}

func writeError(w http.ResponseWriter, e apiError) {
	if e.status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "1")
	}
	httpx.WriteJSON(w, e.status, errorBody{Status: e.status, Message: e.message, Error: e.code})
}

func writeData(w http.ResponseWriter, data any) {
	httpx.WriteJSON(w, http.StatusOK, dataBody{Status: http.StatusOK, Data: data})
}

// writeFault answers a domain error: its code picks the answer; an error
// that is not a domain error is logged with the request id and answered
// with the generic message.
func writeFault(w http.ResponseWriter, r *http.Request, logger *slog.Logger, err error) {
	switch fault.CodeOf(err) {
	case fault.Unauthorized:
		writeError(w, errInvalidKey)
	case fault.Forbidden:
		writeError(w, errNoAccess)
	case fault.RateLimited:
		writeError(w, errRateLimited)
	default:
		logger.ErrorContext(r.Context(), "prepaid: internal error", "err", err)
		writeError(w, errInternal)
	}
}

// readJSONBody checks that body is empty or well-formed JSON; the reference
// clients send "[]" when a call takes no fields.
func readJSONBody(body []byte) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if !json.Valid(body) {
		return errors.New("malformed JSON")
	}
	return nil
}

// NotFound answers any path under /api/prepaid/ that is not a call of the
// face, in the face's error shape.
func NotFound() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, errNoEndpoint)
	})
}
