// Package fault is the closed set of error kinds that domain packages return
// and faces translate. A domain error says what went wrong (its Code), which
// input it concerns (Field) and a plain English detail for logs and for
// faces that have no wording of their own; each face maps codes to its own
// status codes and messages in one table.
package fault

import (
	"errors"
	"fmt"
)

// Code is one kind of failure.
type Code string

// The codes. Add one only when a face must answer it differently from all
// the others.
const (
	Invalid      Code = "invalid"              // input fails validation; Field names it
	Missing      Code = "missing"              // a required input is absent; Field names it
	NotFound     Code = "not_found"            // the thing asked for does not exist (for this caller)
	Conflict     Code = "conflict"             // the request contradicts existing state (a duplicate, a decided item)
	Unauthorized Code = "unauthorized"         // no or wrong credentials
	Forbidden    Code = "forbidden"            // credentials fine, action not allowed
	Insufficient Code = "insufficient_balance" // the balance does not cover it
	BelowMinimum Code = "below_minimum"        // an amount under the allowed minimum; Field names it
	AboveMaximum Code = "above_maximum"        // an amount over the allowed maximum; Field names it
	Inactive     Code = "inactive"             // the thing exists but is switched off
	RateLimited  Code = "rate_limited"         // too many requests
	Internal     Code = "internal"             // a fault of the server; details only in logs
)

// Error is a domain error.
type Error struct {
	Code   Code
	Field  string // the input it concerns, if any (its key on the wire)
	Label  string // the field's human name, when the domain has one (an order form's label)
	Detail string // plain English, safe to show; never contains secrets
	Err    error  // the cause, for logs; never shown
}

// Error returns the detail, prefixed with the field when there is one.
func (e *Error) Error() string {
	s := string(e.Code)
	if e.Field != "" {
		s += " " + e.Field
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// New returns an error of code with a formatted detail.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Detail: fmt.Sprintf(format, args...)}
}

// Field returns an error of code about the named input field.
func Field(code Code, field, format string, args ...any) *Error {
	return &Error{Code: code, Field: field, Detail: fmt.Sprintf(format, args...)}
}

// CodeOf returns the code of the first *Error in err's chain, Internal for
// any other non-nil error, and "" for nil.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// FieldOf returns the field of the first *Error in err's chain, if any.
func FieldOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}
