package admin

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"kios/internal/db"
	"kios/internal/fault"
	"kios/internal/member"
	"kios/internal/webhook"
)

// checkWebhookURL checks a member's webhook URL: "" (none) or an absolute
// http or https URL of at most 2048 bytes.
func checkWebhookURL(raw string) error {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil
	}
	if len(raw) > 2048 {
		return fault.Field(fault.Invalid, "webhook_url", "must be at most 2048 bytes")
	}
	if _, err := webhook.ValidateURL(raw); err != nil {
		return fault.Field(fault.Invalid, "webhook_url", "must be an absolute http:// or https:// URL")
	}
	return nil
}

// errNoWebhookURL answers a test webhook for a member without a URL.
var errNoWebhookURL = fault.Field(fault.Inactive, "webhook_url", "the member has no webhook URL; set one first")

// RotateWebhookSecret answers POST /api/admin/members/{username}/webhook-secret
// {comment} with a new signing secret, {"secret":"whsec_…"}, shown this
// once; the previous one keeps signing for webhook.RotationGrace. The audit
// row records the rotation, never the secret.
func RotateWebhookSecret(members *member.Store, hooks *webhook.Service, now func() time.Time, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Comment string `json:"comment"`
		}
		comment, ok := readChange(w, r, logger, &body, &body.Comment)
		if !ok {
			return
		}
		m, ok := pathMember(w, r, logger, members)
		if !ok {
			return
		}
		op := OperatorFrom(r.Context())
		at := now()
		secret, err := hooks.RotateSecretWith(r.Context(), m.ID, func(tx *db.Tx) error {
			e := entry(op, at, "member.webhook_secret", "member", m.Username, comment)
			return record(e, nil, map[string]any{"rotated": true,
				"previous_valid_until": wire(at.Add(webhook.RotationGrace))})(tx)
		})
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		writeJSON(w, map[string]any{"secret": secret, "previous_valid_until": wire(at.Add(webhook.RotationGrace))})
	})
}

// TestWebhook answers POST /api/admin/members/{username}/webhook-test
// {comment}: a test message is put in the member's outbox and delivered
// like any other; the answer carries its id (see GET
// /api/admin/webhooks/{id} for its attempts). A member without a webhook
// URL is 422.
func TestWebhook(members *member.Store, hooks *webhook.Service, now func() time.Time, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Comment string `json:"comment"`
		}
		comment, ok := readChange(w, r, logger, &body, &body.Comment)
		if !ok {
			return
		}
		m, ok := pathMember(w, r, logger, members)
		if !ok {
			return
		}
		op := OperatorFrom(r.Context())
		id, err := hooks.SendTestWith(r.Context(), m.ID, func(tx *db.Tx, id int64, url string) error {
			e := entry(op, now(), "member.webhook_test", "member", m.Username, comment)
			return record(e, nil, map[string]any{"message_id": id, "url": url})(tx)
		})
		if errors.Is(err, webhook.ErrNoURL) {
			err = errNoWebhookURL
		}
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		writeJSON(w, map[string]any{"data": map[string]any{"id": id, "status": "pending"}})
	})
}
