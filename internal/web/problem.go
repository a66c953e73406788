package web

import (
	"errors"
	"net/http"

	"kios/internal/fault"
	"kios/internal/webhook"
)

// problem translates a domain error into the status and the line a form
// shows. Anything that is not a domain fault is the server's problem: the
// caller logs it, and the page says only that something went wrong.
func (p page) problem(err error) (int, string) {
	if errors.Is(err, webhook.ErrInvalidURL) || errors.Is(err, webhook.ErrUnsupportedScheme) {
		return http.StatusBadRequest, p.T("field.url") + " " + p.T("err.invalid")
	}
	if errors.Is(err, webhook.ErrNoURL) {
		return http.StatusConflict, p.T("err.no_url")
	}
	var fe *fault.Error
	if !errors.As(err, &fe) {
		return http.StatusInternalServerError, p.T("error.body")
	}
	label := ""
	if fe.Field != "" {
		label = p.T("field."+fe.Field) + " "
	}
	switch fe.Code {
	case fault.Invalid:
		return http.StatusBadRequest, label + p.T("err.invalid") + " (" + fe.Detail + ")"
	case fault.Missing:
		return http.StatusBadRequest, label + p.T("err.missing")
	case fault.BelowMinimum:
		return http.StatusBadRequest, label + p.T("err.below") + " (" + fe.Detail + ")"
	case fault.AboveMaximum:
		return http.StatusBadRequest, label + p.T("err.above") + " (" + fe.Detail + ")"
	case fault.Insufficient:
		return http.StatusBadRequest, p.T("err.insufficient")
	case fault.Conflict:
		if fe.Field != "" {
			return http.StatusConflict, label + p.T("err.invalid") + " (" + fe.Detail + ")"
		}
		return http.StatusConflict, p.T("err.conflict")
	case fault.NotFound:
		return http.StatusNotFound, p.T("err.notfound")
	case fault.Inactive:
		// Something switched off (a product, a store, a member): not the
		// signed-in account, which the sign-in itself refuses.
		return http.StatusUnprocessableEntity, label + p.T("err.inactive") + " (" + fe.Detail + ")"
	case fault.Forbidden, fault.Unauthorized:
		return http.StatusForbidden, p.T("login.inactive")
	case fault.RateLimited:
		return http.StatusTooManyRequests, p.T("login.limited")
	}
	return http.StatusInternalServerError, p.T("error.body")
}
