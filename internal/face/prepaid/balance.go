package prepaid

import (
	"log/slog"
	"net/http"

	"kios/internal/member"
)

type balanceData struct {
	Username string `json:"username"`
	Level    string `json:"level"`
	Balance  int64  `json:"balance"`
}

// Balance answers POST /api/prepaid/transaction/balance with the calling
// member's username, level and balance. The body is empty or "[]".
func Balance(members *member.Store, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := CallerFrom(r.Context())
		if err := readJSONBody(c.Body); err != nil {
			writeError(w, errMalformedJSON)
			return
		}
		bal, err := members.Balance(r.Context(), c.Member.ID)
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		writeData(w, balanceData{Username: c.Member.Username, Level: c.Member.Level, Balance: bal})
	})
}
