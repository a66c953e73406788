package admin

import (
	"log/slog"
	"net/http"

	"kios/internal/db"
	"kios/internal/ledger"
)

// verifyBody is the answer of the ledger check.
type verifyBody struct {
	OK         bool     `json:"ok"`
	Accounts   int64    `json:"accounts"`
	Entries    int64    `json:"entries"`
	Postings   int64    `json:"postings"`
	Total      int64    `json:"total"`
	Violations []string `json:"violations"`
}

// LedgerVerify runs the ledger's invariant check (ledger.Verify) and
// answers what it found: ok, what it counted, and each violation.
func LedgerVerify(d *db.DB, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rep, err := ledger.Verify(r.Context(), d)
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		v := rep.Violations
		if v == nil {
			v = []string{}
		}
		writeJSON(w, verifyBody{OK: rep.OK(), Accounts: rep.Accounts, Entries: rep.Entries,
			Postings: rep.Postings, Total: rep.Total, Violations: v})
	})
}
