package admin

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"kios/internal/audit"
	"kios/internal/db"
	"kios/internal/operator"
)

// entry starts the audit record of a change op makes at now.
func entry(op operator.Operator, now time.Time, action, targetType, target, comment string) audit.Entry {
	return audit.Entry{At: now, OperatorID: op.ID, Operator: op.Username, Action: action,
		TargetType: targetType, Target: target, Comment: comment}
}

// record returns a hook for a domain call that records e, with before and
// after rendered as JSON, in the caller's transaction.
func record(e audit.Entry, before, after any) func(tx *db.Tx) error {
	return func(tx *db.Tx) error {
		e.Before, e.After = audit.JSON(before), audit.JSON(after)
		return audit.Record(tx, e)
	}
}

// auditRow is one audit entry on the wire.
type auditRow struct {
	ID         int64           `json:"id"`
	At         string          `json:"at"`
	Operator   string          `json:"operator"`
	Action     string          `json:"action"`
	TargetType string          `json:"target_type"`
	Target     string          `json:"target"`
	Before     json.RawMessage `json:"before"`
	After      json.RawMessage `json:"after"`
	Comment    string          `json:"comment"`
}

// rawOrNull turns stored JSON into a raw message, "" into null.
func rawOrNull(s string) json.RawMessage {
	if s == "" || !json.Valid([]byte(s)) {
		return json.RawMessage("null")
	}
	return json.RawMessage(s)
}

// AuditLog answers GET /api/admin/audit?operator=&action=&target_type=&target=&from=&to=
// with the audit log, newest first. An action ending in '.' selects every
// action it starts ("transaction.").
func AuditLog(l *audit.Log, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		p, err := parsePage(q)
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		from, to, err := dayRange(q)
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		f := audit.Filter{Operator: q.Get("operator"), Action: q.Get("action"), TargetType: q.Get("target_type"),
			Target: q.Get("target"), From: from, To: to}
		es, total, err := l.List(r.Context(), f, p.Limit(), p.Offset())
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		rows := make([]auditRow, 0, len(es))
		for _, e := range es {
			rows = append(rows, auditRow{ID: e.ID, At: wire(e.At), Operator: e.Operator, Action: e.Action,
				TargetType: e.TargetType, Target: e.Target, Before: rawOrNull(e.Before), After: rawOrNull(e.After),
				Comment: e.Comment})
		}
		writeJSON(w, newList(rows, p, total))
	})
}

// checkComment checks a change's comment; see audit.CheckComment.
func checkComment(s string) (string, error) { return audit.CheckComment(s) }
