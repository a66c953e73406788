package webhook

import (
	"context"
	"time"

	"kios/internal/db"
)

// Delivery is an outbox message as operators list it, with its newest
// attempt.
type Delivery struct {
	Message
	Username string
	Last     *Attempt // nil before the first attempt
}

// Deliveries returns the outbox's messages with status (one of the
// message states, or "" for all), newest first, limit of them after
// skipping offset, and how many there are.
func (s *Service) Deliveries(ctx context.Context, status string, limit, offset int) (items []Delivery, total int64, err error) {
	cond, args := "", []any{}
	if status != "" {
		cond, args = " WHERE m.status = ?", append(args, status)
	}
	err = s.db.Read(ctx, func(tx *db.Tx) error {
		items = nil
		if err := tx.QueryRow("SELECT COUNT(*) FROM webhook_messages m"+cond, args...).Scan(&total); err != nil {
			return err
		}
		rows, err := tx.Query(`SELECT m.id, m.member_id, u.username, m.kind, m.reference, m.payload, m.status, m.attempts,
				m.next_at, m.created_at, m.delivered_at,
				COALESCE(a.n, 0), COALESCE(a.at, 0), COALESCE(a.http_status, 0), COALESCE(a.latency_us, 0),
				COALESCE(a.error, ''), COALESCE(a.response, '')
			FROM webhook_messages m JOIN members u ON u.id = m.member_id
			LEFT JOIN webhook_attempts a ON a.message_id = m.id
				AND a.n = (SELECT MAX(n) FROM webhook_attempts x WHERE x.message_id = m.id)`+cond+
			" ORDER BY m.id DESC LIMIT ? OFFSET ?", append(args, limit, offset)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var d Delivery
			var a Attempt
			var payload string
			var next, created, delivered, at, lat int64
			if err := rows.Scan(&d.ID, &d.MemberID, &d.Username, &d.Kind, &d.Reference, &payload, &d.Status, &d.Attempts,
				&next, &created, &delivered, &a.N, &at, &a.HTTPStatus, &lat, &a.Error, &a.Response); err != nil {
				return err
			}
			d.Payload = []byte(payload)
			d.NextAt, d.CreatedAt = time.UnixMicro(next).UTC(), time.UnixMicro(created).UTC()
			if delivered != 0 {
				d.DeliveredAt = time.UnixMicro(delivered).UTC()
			}
			if a.N > 0 {
				a.At, a.Latency = time.UnixMicro(at).UTC(), time.Duration(lat)*time.Microsecond
				d.Last = &a
			}
			items = append(items, d)
		}
		return rows.Err()
	})
	return items, total, err
}
