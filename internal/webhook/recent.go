package webhook

import (
	"context"
	"database/sql"
	"time"
)

// Recent returns the member's last limit messages (as Delivery, defined
// in admin.go; Username is left empty), newest first, each with
// its latest attempt.
func (s *Service) Recent(ctx context.Context, memberID int64, limit int) ([]Delivery, error) {
	rows, err := s.db.Query(ctx, `SELECT m.id, m.kind, m.reference, m.status, m.attempts, m.next_at, m.created_at, m.delivered_at,
			a.n, a.at, a.http_status, a.latency_us, a.error, a.response
		FROM webhook_messages m
		LEFT JOIN webhook_attempts a ON a.message_id = m.id
			AND a.n = (SELECT MAX(n) FROM webhook_attempts WHERE message_id = m.id)
		WHERE m.member_id = ? ORDER BY m.id DESC LIMIT ?`, memberID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Delivery
	for rows.Next() {
		var (
			d                        Delivery
			next, created, delivered int64
			n, at, status, lat       sql.NullInt64
			errText, resp            sql.NullString
		)
		if err := rows.Scan(&d.ID, &d.Kind, &d.Reference, &d.Status, &d.Attempts, &next, &created, &delivered,
			&n, &at, &status, &lat, &errText, &resp); err != nil {
			return nil, err
		}
		d.MemberID = memberID
		d.NextAt, d.CreatedAt = time.UnixMicro(next), time.UnixMicro(created)
		if delivered != 0 {
			d.DeliveredAt = time.UnixMicro(delivered)
		}
		if n.Valid {
			d.Last = &Attempt{N: int(n.Int64), At: time.UnixMicro(at.Int64), HTTPStatus: int(status.Int64),
				Latency: time.Duration(lat.Int64) * time.Microsecond, Error: errText.String, Response: resp.String}
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// HasEndpoint reports whether the member has an endpoint row, that is,
// whether a signing secret was issued already.
func (s *Service) HasEndpoint(ctx context.Context, memberID int64) (bool, error) {
	var n int
	err := s.db.QueryRow(ctx, "SELECT COUNT(*) FROM webhook_endpoints WHERE member_id = ?", memberID).Scan(&n)
	return n > 0, err
}
