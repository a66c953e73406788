// Package admin is the operator API under /api/admin
// (shared/spec/40-operator-api.md): kios's own REST design, JSON in and
// out, for the platform's staff and their scripts. Like every face it only
// translates: rules live in the domain packages.
//
// # Adding a handler
//
//  1. Write a function in this package that takes its dependencies as
//     arguments and returns an http.Handler, e.g.
//     func Incoming(svc *incoming.Service, now func() time.Time, logger *slog.Logger) http.Handler.
//  2. Inside it, OperatorFrom(r.Context()) is the authenticated operator.
//     Read a JSON body with decode(w, r, &body) (it answers the error
//     itself and returns false); query parameters with the helpers of
//     list.go (parsePage, dayRange, oneOf, pathID); answer with writeJSON,
//     with newList for a paginated list; answer a domain error with
//     writeFault, which maps its fault code to a status and the spec's
//     error shape {"error":{"code","message","field"}}.
//  3. A change must carry a comment (readChange decodes the body and checks
//     it with checkComment; pathMember finds the {username} member) and
//     record exactly one audit.Entry in the transaction that makes it:
//     pass the domain call a hook that calls record(entry(op, …), before,
//     after)(tx); see audited.go.
//  4. List the route in internal/server/routes.go, wrapped in the
//     endpoint family's role check: adm.Read(admin.FamilyX, h) for reads,
//     adm.Write(admin.FamilyX, h) for changes. Families and the roles each
//     allows are in auth.go; add a family there if none fits, and a row
//     for it in the role matrix test (auth_test.go).
package admin

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"kios/internal/fault"
	"kios/internal/httpx"
)

// apiError is one error answer of this face.
type apiError struct {
	status  int
	code    string
	message string
	field   string
}

// errorBody is the spec's error shape.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// The face's own answers, for failures that are not domain errors.
var (
	errNoToken      = apiError{http.StatusUnauthorized, "unauthorized", "an operator token is required: Authorization: Bearer kop_…", ""}
	errBadToken     = apiError{http.StatusUnauthorized, "unauthorized", "invalid operator token", ""}
	errForbidden    = apiError{http.StatusForbidden, "forbidden", "your role does not allow this", ""}
	errBodyTooLarge = apiError{http.StatusBadRequest, "invalid_body", "the request body is larger than 64 KiB", ""}
	errMalformed    = apiError{http.StatusBadRequest, "invalid_body", "the request body is not a JSON object", ""}
	errNoEndpoint   = apiError{http.StatusNotFound, "not_found", "no such endpoint", ""}
	errInternal     = apiError{http.StatusInternalServerError, "internal", "internal server error; it has been logged", ""}
)

// statusOf is the one table from domain fault codes to HTTP statuses.
var statusOf = map[fault.Code]int{
	fault.Invalid:      http.StatusBadRequest,
	fault.Missing:      http.StatusBadRequest,
	fault.NotFound:     http.StatusNotFound,
	fault.Conflict:     http.StatusConflict,
	fault.Unauthorized: http.StatusUnauthorized,
	fault.Forbidden:    http.StatusForbidden,
	fault.Insufficient: http.StatusUnprocessableEntity,
	fault.BelowMinimum: http.StatusUnprocessableEntity,
	fault.AboveMaximum: http.StatusUnprocessableEntity,
	fault.Inactive:     http.StatusUnprocessableEntity,
	fault.RateLimited:  http.StatusTooManyRequests,
}

func writeError(w http.ResponseWriter, e apiError) {
	if e.status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "1")
	}
	httpx.WriteJSON(w, e.status, errorBody{Error: errorDetail{Code: e.code, Message: e.message, Field: e.field}})
}

// faultError is the answer to a domain error; ok is false for an error
// that is not one (an internal error).
func faultError(err error) (apiError, bool) {
	var fe *fault.Error
	if !errors.As(err, &fe) {
		return errInternal, false
	}
	status, ok := statusOf[fe.Code]
	if !ok {
		return errInternal, false
	}
	msg := fe.Detail
	if fe.Field != "" && msg != "" {
		msg = fe.Field + ": " + msg
	}
	if msg == "" {
		msg = string(fe.Code)
	}
	return apiError{status: status, code: string(fe.Code), message: msg, field: fe.Field}, true
}

// writeFault answers a domain error by its code; any other error is logged
// with the request id and answered with a generic 500, so that no driver
// error or secret reaches a client.
func writeFault(w http.ResponseWriter, r *http.Request, logger *slog.Logger, err error) {
	e, ok := faultError(err)
	if !ok {
		logger.ErrorContext(r.Context(), "admin: internal error", "path", r.URL.Path, "err", err)
	}
	writeError(w, e)
}

// writeJSON answers 200 with v.
func writeJSON(w http.ResponseWriter, v any) { httpx.WriteJSON(w, http.StatusOK, v) }

// decode reads the request body, at most 64 KiB of one JSON object, into
// v. Unknown fields are ignored; a value of the wrong type is refused with
// its field named. It answers the error itself and returns false.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := httpx.ReadBody(w, r)
	if errors.Is(err, httpx.ErrBodyTooLarge) {
		writeError(w, errBodyTooLarge)
		return false
	}
	if err != nil {
		writeError(w, errMalformed)
		return false
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		body = []byte("{}")
	}
	if err := json.Unmarshal(body, v); err != nil {
		writeError(w, decodeError(err))
		return false
	}
	return true
}

// decodeError is the answer to a body that does not decode: a value of
// the wrong type names its field.
func decodeError(err error) apiError {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return apiError{http.StatusBadRequest, string(fault.Invalid),
			te.Field + ": must be " + jsonKind(te.Type.Kind().String()), te.Field}
	}
	return errMalformed
}

// jsonKind names a Go kind the way a JSON caller would understand it.
func jsonKind(k string) string {
	switch {
	case strings.HasPrefix(k, "int"), strings.HasPrefix(k, "uint"):
		return "a whole number"
	case k == "string":
		return "a string"
	case k == "bool":
		return "true or false"
	case k == "slice":
		return "an array"
	case k == "struct", k == "map":
		return "an object"
	}
	return "of another type"
}

// NotFound answers every path under /api/admin/ that has no route.
func NotFound() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { writeError(w, errNoEndpoint) })
}

// readChange reads a change's body into v, as decode does, and checks the
// comment it holds at *comment (checkComment), returning it trimmed. It
// answers any error itself and returns ok false.
func readChange(w http.ResponseWriter, r *http.Request, logger *slog.Logger, v any, comment *string) (string, bool) {
	if !decode(w, r, v) {
		return "", false
	}
	c, err := checkComment(*comment)
	if err != nil {
		writeFault(w, r, logger, err)
		return "", false
	}
	return c, true
}
