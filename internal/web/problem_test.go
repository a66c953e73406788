package web

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"kios/internal/fault"
)

// TestProblem: each domain fault becomes its own status and line; a thing
// switched off is not mistaken for the signed-in account being switched
// off, and an error that is no fault says nothing of its cause.
func TestProblem(t *testing.T) {
	p := page{Lang: langEN}
	cases := []struct {
		err    error
		status int
		want   string
	}{
		{fault.Field(fault.Inactive, "product", "product TSEL10 is switched off"), http.StatusUnprocessableEntity, "is switched off (product TSEL10 is switched off)"},
		{fault.New(fault.Forbidden, "no"), http.StatusForbidden, "This account is switched off"},
		{fault.Field(fault.Missing, "comment", "comment is required"), http.StatusBadRequest, ""},
		{fault.New(fault.Insufficient, "balance"), http.StatusBadRequest, ""},
		{fault.New(fault.NotFound, "x"), http.StatusNotFound, ""},
		{fault.New(fault.RateLimited, "x"), http.StatusTooManyRequests, ""},
		{errors.New("pq: relation secret_table does not exist"), http.StatusInternalServerError, ""},
	}
	for _, c := range cases {
		status, line := p.problem(c.err)
		if status != c.status || !strings.Contains(line, c.want) || strings.Contains(line, "secret_table") {
			t.Errorf("%v: %d %q, want %d containing %q", c.err, status, line, c.status, c.want)
		}
	}
}
