package webhook

import (
	"errors"
	"fmt"
	"time"

	"kios/internal/db"
)

// EnqueueTo records a message for memberID addressed to url, rather than
// to the member's webhook URL: a store's callback URL, for payment_status
// messages. Like Enqueue it must run inside the caller's db.Write, with
// the change the message reports. The message is signed with the member's
// signing secret; a member who has none yet is given one here (sealed
// with the service's keys), so that the receiver can check the message
// with the secret the member reads from Secret. Messages with the same
// member and reference are delivered in the order they were enqueued.
func (s *Service) EnqueueTo(tx *db.Tx, memberID int64, kind, reference, url string, payload []byte, now time.Time) error {
	if err := checkMessage(kind, payload); err != nil {
		return err
	}
	if url == "" {
		return fmt.Errorf("%w: empty target URL", ErrInvalidInput)
	}
	var one int
	err := tx.QueryRow("SELECT 1 FROM webhook_endpoints WHERE member_id = ?", memberID).Scan(&one)
	if errors.Is(err, db.ErrNotFound) {
		secret, err := NewSecret()
		if err != nil {
			return err
		}
		sealed, err := s.keys.Seal(secret)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(`INSERT INTO webhook_endpoints (member_id, url, secret, updated_at) VALUES (?, '', ?, ?)
			ON CONFLICT (member_id) DO NOTHING`, memberID, sealed, now.UnixMicro()); err != nil {
			return fmt.Errorf("webhook: enqueue: %w", err)
		}
	} else if err != nil {
		return fmt.Errorf("webhook: enqueue: %w", err)
	}
	_, err = tx.Exec(`INSERT INTO webhook_messages
		(member_id, kind, reference, payload, status, attempts, next_at, lease_until, created_at, delivered_at, url)
		VALUES (?, ?, ?, ?, 'pending', 0, ?, 0, ?, 0, ?)`,
		memberID, kind, reference, string(payload), now.UnixMicro(), now.UnixMicro(), url)
	if err != nil {
		return fmt.Errorf("webhook: enqueue: %w", err)
	}
	return nil
}
