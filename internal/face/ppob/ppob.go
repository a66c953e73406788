// Package ppob is the PPOB face: the two-step inquiry → transaction wire
// format of e-wallet top-ups (see shared/spec/30-ppob-api.md and
// reference/ppob-ewallet.txt), translated to and from the order and catalog
// packages. It holds no rules of its own: its one table maps domain errors
// to response codes.
package ppob

import (
	"errors"
	"log/slog"
	"net/http"

	"kios/internal/fault"
	"kios/internal/httpx"
)

// The response codes (rc) of the face.
const (
	rcSuccess      = "000"
	rcPending      = "068"
	rcInsufficient = "008"
	rcAmount       = "013"
	rcCustomer     = "014"
	rcFormat       = "030"
	rcProduct      = "040"
	rcFailed       = "050"
	rcDuplicate    = "094"
	rcUnauthorized = "401"
	rcRateLimited  = "429"
	rcSystem       = "096"
)

// descriptions are the rc table's words.
var descriptions = map[string]string{
	rcSuccess:      "Transaksi Sukses",
	rcPending:      "Transaksi Pending",
	rcInsufficient: "Insufficient Balance",
	rcAmount:       "Invalid Amount",
	rcCustomer:     "Invalid Customer",
	rcFormat:       "Format Error",
	rcProduct:      "Product Not Found",
	rcFailed:       "Transaction Failed",
	rcDuplicate:    "Duplicate Request",
	rcUnauthorized: "Unauthorized",
	rcRateLimited:  "Too Many Requests",
	rcSystem:       "System Error",
}

// Transaction statuses on the wire.
const (
	statusSuccess = "SUCCESS"
	statusPending = "PENDING"
	statusFailed  = "FAILED"
)

// envelope is every answer's shape.
type envelope struct {
	Success bool   `json:"success"`
	Message string `json:"message"`
	RC      string `json:"rc"`
	Data    any    `json:"data"`
}

// txData is a transaction (or inquiry) in the reference's field order;
// every amount is a string of digits.
type txData struct {
	ReqID       string   `json:"req_id"`
	RefID       string   `json:"ref_id"`
	ProductID   string   `json:"product_id"`
	CustID      string   `json:"cust_id"`
	Status      string   `json:"status"`
	RC          string   `json:"rc"`
	Description string   `json:"description"`
	Message     string   `json:"message"`
	Amount      string   `json:"amount"`
	UnitPrice   string   `json:"unit_price"`
	BalanceUsed string   `json:"balance_used"`
	Balance     string   `json:"balance"`
	SerialNo    string   `json:"serial_no"`
	Data        struct{} `json:"data"`
}

// inquiryData is txData whose inner data names the account holder when the
// supplier told it.
type inquiryData struct {
	ReqID       string      `json:"req_id"`
	RefID       string      `json:"ref_id"`
	ProductID   string      `json:"product_id"`
	CustID      string      `json:"cust_id"`
	Status      string      `json:"status"`
	RC          string      `json:"rc"`
	Description string      `json:"description"`
	Message     string      `json:"message"`
	Amount      string      `json:"amount"`
	UnitPrice   string      `json:"unit_price"`
	BalanceUsed string      `json:"balance_used"`
	Balance     string      `json:"balance"`
	SerialNo    string      `json:"serial_no"`
	Data        accountData `json:"data"`
}

type accountData struct {
	CustomerName string `json:"customer_name,omitempty"`
}

// refusedData is the reference's short answer for a transaction refused
// before it existed (insufficient balance).
type refusedData struct {
	ReqID       string   `json:"req_id"`
	Status      string   `json:"status"`
	RC          string   `json:"rc"`
	Description string   `json:"description"`
	Message     string   `json:"message"`
	Balance     string   `json:"balance"`
	Data        struct{} `json:"data"`
}

// apiError is an answer with success false.
type apiError struct {
	status  int
	rc      string
	message string
}

var (
	errInvalidKey   = apiError{http.StatusUnauthorized, rcUnauthorized, "Invalid API key"}
	errNoAccess     = apiError{http.StatusUnauthorized, rcUnauthorized, "API access is not allowed for this key or address"}
	errRateLimited  = apiError{http.StatusTooManyRequests, rcRateLimited, "Too many requests, try again shortly"}
	errBodyTooLarge = apiError{http.StatusBadRequest, rcFormat, "The request body is larger than 64 KiB"}
	errMalformed    = apiError{http.StatusBadRequest, rcFormat, "The request body is not valid JSON"}
	errNoEndpoint   = apiError{http.StatusNotFound, rcFormat, "Endpoint not found"}
	errTxNotFound   = apiError{http.StatusNotFound, rcProduct, "Transaction not found"}
	errInternal     = apiError{http.StatusInternalServerError, rcSystem, "System error, try again later"}
)

func writeError(w http.ResponseWriter, e apiError) {
	if e.status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "1")
	}
	httpx.WriteJSON(w, e.status, envelope{Success: false, Message: e.message, RC: e.rc, Data: nil})
}

func writeOK(w http.ResponseWriter, message, rc string, data any) {
	httpx.WriteJSON(w, http.StatusOK, envelope{Success: true, Message: message, RC: rc, Data: data})
}

// faultAnswer is the face's one table from domain errors to answers. The
// fault's detail (plain English, naming the field) is the message.
func faultAnswer(err error) (apiError, bool) {
	code, detail := fault.CodeOf(err), ""
	var e *fault.Error
	if errors.As(err, &e) {
		detail = e.Detail
	}
	field := fault.FieldOf(err)
	switch code {
	case fault.Missing:
		return apiError{http.StatusBadRequest, rcFormat, detail}, true
	case fault.Invalid:
		switch field {
		case "amount":
			return apiError{http.StatusBadRequest, rcAmount, detail}, true
		case "cust_id":
			return apiError{http.StatusBadRequest, rcCustomer, detail}, true
		}
		return apiError{http.StatusBadRequest, rcFormat, detail}, true
	case fault.BelowMinimum, fault.AboveMaximum:
		return apiError{http.StatusBadRequest, rcAmount, detail}, true
	case fault.NotFound, fault.Inactive:
		return apiError{http.StatusBadRequest, rcProduct, "Product not found: " + detail}, true
	case fault.Conflict:
		return apiError{http.StatusConflict, rcDuplicate, detail}, true
	case fault.Unauthorized:
		return errInvalidKey, true
	case fault.Forbidden:
		return errNoAccess, true
	case fault.RateLimited:
		return errRateLimited, true
	}
	return errInternal, false
}

// writeFault answers a domain error; anything that is not one is logged
// with the request id and answered 096 with a generic message.
func writeFault(w http.ResponseWriter, r *http.Request, logger *slog.Logger, err error) {
	e, known := faultAnswer(err)
	if !known {
		logger.ErrorContext(r.Context(), "ppob: internal error", "err", err)
	}
	writeError(w, e)
}

// NotFound answers any path under the face's base that is not one of its
// calls, in the face's shape.
func NotFound() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { writeError(w, errNoEndpoint) })
}
