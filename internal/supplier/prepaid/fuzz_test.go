package prepaid_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"kios/internal/dbtest"
	"kios/internal/supplier"
	"kios/internal/supplier/prepaid"
)

// FuzzClientAnswers serves any answer (an HTTP status and a body) to the
// prepaid client's order, status and catalog calls, over loopback, with
// the supplier's references recorded in a real database (SQLite, and
// PostgreSQL with KIOS_TEST_POSTGRES_URL). Whatever the answer, the client
// never panics; an order or status call either fails with an error that
// wraps ErrUnknown (ask again, never resubmit) or gives a known outcome,
// a success only from an HTTP 200 and a failure only from HTTP 200 or 400,
// with text that both databases can store. Seeds are in testdata/fuzz.
//
//	go test -run '^$' -fuzz FuzzClientAnswers -fuzztime 60s ./internal/supplier/prepaid/
func FuzzClientAnswers(f *testing.F) {
	var (
		mu   sync.Mutex
		code int
		body []byte
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		c, b := code, body
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(c)
		w.Write(b)
	}))
	f.Cleanup(srv.Close)
	var clients []*prepaid.Client
	for _, target := range []string{"sqlite", "postgres"} {
		dsn := dbtest.DSN(f, target)
		if dsn == "" {
			continue
		}
		refs := prepaid.NewReferences(dbtest.Open(f, dsn), nil)
		clients = append(clients, prepaid.New(prepaid.Config{Name: "up", BaseURL: srv.URL, APIKey: "k", SecretKey: "s"}, refs, nil, nil))
	}
	f.Fuzz(func(t *testing.T, status uint16, answer []byte) {
		mu.Lock()
		code, body = 200+int(status)%400, answer // 200–599
		c := code
		mu.Unlock()
		ctx := context.Background()
		for _, cl := range clients {
			for call, do := range map[string]func() (supplier.Result, error){
				"submit": func() (supplier.Result, error) { return cl.Submit(ctx, mlbb("OURS-1", "1")) },
				"status": func() (supplier.Result, error) { return cl.Status(ctx, "OURS-1") },
			} {
				res, err := do()
				if why := badResult(call, c, res, err); why != "" {
					t.Fatalf("%s: %s\nanswer: %d %q\nresult: %+v %v", call, why, c, answer, res, err)
				}
			}
			cl.Catalog(ctx) // anything but a panic
		}
	})
}

// badResult says what is wrong with the result of an order or status call
// given an answer with HTTP status code, or "" when nothing is.
func badResult(call string, code int, res supplier.Result, err error) string {
	if err != nil {
		if !errors.Is(err, prepaid.ErrUnknown) {
			return "an error that does not leave the outcome unknown"
		}
		return ""
	}
	switch res.Outcome {
	case supplier.Pending:
	case supplier.Success:
		if code != 200 {
			return "a success from a refusal"
		}
	case supplier.Failed:
		if code != 200 && code != 400 {
			return "a failure from an answer that is neither 200 nor 400"
		}
	case supplier.NotFound:
		if call != "status" {
			return "not found from an order call"
		}
	default:
		return "an unknown outcome"
	}
	for _, s := range []string{res.SN, res.Message} {
		if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
			return "text that PostgreSQL cannot store"
		}
	}
	return ""
}
