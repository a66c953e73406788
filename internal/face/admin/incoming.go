package admin

import (
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"kios/internal/db"
	"kios/internal/fault"
	"kios/internal/incoming"
)

// incomingBody is the body of POST /api/admin/incoming. received_at is
// RFC 3339, or "YYYY-MM-DD HH:MM:SS" in WIB as bank mutation exports
// write it; empty means now.
type incomingBody struct {
	Channel    string `json:"channel"`
	Amount     int64  `json:"amount"`
	ReceivedAt string `json:"received_at"`
	ExternalID string `json:"external_id"`
	Note       string `json:"note"`
}

type matchedBody struct {
	Matched *struct {
		Reference string `json:"reference"`
	} `json:"matched,omitempty"`
	Unmatched *struct {
		ID     int64  `json:"id"`
		Reason string `json:"reason"`
	} `json:"unmatched,omitempty"`
}

var wib = time.FixedZone("WIB", 7*60*60)

// Incoming serves POST /api/admin/incoming: a feed reports money received
// on a channel; the matcher pays the one invoice or deposit it belongs to.
// Answer: {"matched":{"reference":…}} or {"unmatched":{"id":…,"reason":…}};
// the same channel and external_id again answers the same. The first post
// records one audit entry (action "incoming.post").
func Incoming(svc *incoming.Service, now func() time.Time, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b incomingBody
		if !decode(w, r, &b) {
			return
		}
		at := now()
		if b.ReceivedAt != "" {
			var err error
			if at, err = time.Parse(time.RFC3339, b.ReceivedAt); err != nil {
				if at, err = time.ParseInLocation(time.DateTime, b.ReceivedAt, wib); err != nil {
					writeFault(w, r, logger, fault.Field(fault.Invalid, "received_at", "must be RFC 3339 or YYYY-MM-DD HH:MM:SS (WIB)"))
					return
				}
			}
		}
		op := OperatorFrom(r.Context())
		rec := incoming.Record{Channel: b.Channel, Amount: b.Amount, ReceivedAt: at, ExternalID: b.ExternalID, Note: b.Note}
		res, err := svc.Post(r.Context(), rec, "operator:"+op.Username, func(tx *db.Tx, res incoming.Result) error {
			after := map[string]any{"channel": rec.Channel, "amount": rec.Amount, "external_id": rec.ExternalID,
				"status": res.Status, "reference": res.Reference, "reason": res.Reason}
			comment := b.Note
			if comment == "" {
				comment = "incoming funds " + rec.ExternalID
			}
			return record(entry(op, now(), "incoming.post", "incoming", strconv.FormatInt(res.ID, 10), comment), nil, after)(tx)
		})
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		var out matchedBody
		if res.Status == incoming.Unmatched {
			out.Unmatched = &struct {
				ID     int64  `json:"id"`
				Reason string `json:"reason"`
			}{res.ID, res.Reason}
		} else {
			out.Matched = &struct {
				Reference string `json:"reference"`
			}{res.Reference}
		}
		writeJSON(w, out)
	})
}
