package admin

import (
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"kios/internal/db"
	"kios/internal/fault"
	"kios/internal/member"
	"kios/internal/webhook"
)

// memberRow is a member on the wire.
type memberRow struct {
	ID        int64  `json:"id"`
	Username  string `json:"username"`
	Level     string `json:"level"`
	Upline    string `json:"upline"`
	Active    bool   `json:"active"`
	APIAccess bool   `json:"api_access"`
	Balance   int64  `json:"balance"`
	CreatedAt string `json:"created_at"`
}

func toMemberRow(l member.Listed) memberRow {
	return memberRow{ID: l.ID, Username: l.Username, Level: l.Level, Upline: l.Upline, Active: l.Active,
		APIAccess: l.APIAccess, Balance: l.Balance, CreatedAt: wire(l.CreatedAt)}
}

// memberState is what the audit log keeps of a member's settings.
type memberState struct {
	Level     string `json:"level"`
	Active    bool   `json:"active"`
	APIAccess bool   `json:"api_access"`
}

func stateOfMember(m member.Member) memberState {
	return memberState{Level: m.Level, Active: m.Active, APIAccess: m.APIAccess}
}

// credentialRow is a credential on the wire, without key or secret.
type credentialRow struct {
	ID         int64    `json:"id"`
	KeyHint    string   `json:"key_hint"`
	AllowIPs   []string `json:"allow_ips"`
	SignedOnly bool     `json:"signed_only"`
	RatePerSec int      `json:"rate_per_sec"`
	RateBurst  int      `json:"rate_burst"`
	CreatedAt  string   `json:"created_at"`
	Revoked    bool     `json:"revoked"`
}

func toCredentialRow(c member.Credential) credentialRow {
	ips := make([]string, 0, len(c.AllowIPs))
	for _, p := range c.AllowIPs {
		ips = append(ips, p.String())
	}
	return credentialRow{ID: c.ID, KeyHint: c.KeyHint, AllowIPs: ips, SignedOnly: c.SignedOnly,
		RatePerSec: c.RatePerSec, RateBurst: c.RateBurst, CreatedAt: wire(c.CreatedAt), Revoked: c.Revoked}
}

// pathMember looks up the member named by the {username} path segment. It
// answers any error itself and returns ok false.
func pathMember(w http.ResponseWriter, r *http.Request, logger *slog.Logger, members *member.Store) (member.Member, bool) {
	m, err := members.ByUsername(r.Context(), r.PathValue("username"))
	if err != nil {
		writeFault(w, r, logger, err)
		return member.Member{}, false
	}
	return m, true
}

// Members answers GET /api/admin/members?q= : members whose username
// contains q, by username, paginated, with balance totals.
func Members(members *member.Store, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := parsePage(r.URL.Query())
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		items, total, balances, err := members.List(r.Context(), r.URL.Query().Get("q"), p.Limit(), p.Offset())
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		rows := make([]memberRow, 0, len(items))
		var sum int64
		for _, it := range items {
			rows = append(rows, toMemberRow(it))
			sum += it.Balance
		}
		writeJSON(w, newList(rows, p, total).withAmounts(sum, balances))
	})
}

// CreateMember answers POST /api/admin/members
// {username, level, upline, password, comment}.
func CreateMember(members *member.Store, now func() time.Time, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Username string `json:"username"`
			Level    string `json:"level"`
			Upline   string `json:"upline"`
			Password string `json:"password"`
			Comment  string `json:"comment"`
		}
		comment, ok := readChange(w, r, logger, &body, &body.Comment)
		if !ok {
			return
		}
		op := OperatorFrom(r.Context())
		m, err := members.CreateWith(r.Context(), member.NewMember{Username: body.Username, Level: body.Level,
			Upline: body.Upline, Password: body.Password}, func(tx *db.Tx, m member.Member) error {
			after := struct {
				memberState
				Upline string `json:"upline,omitempty"`
			}{stateOfMember(m), member.NormalizeUsername(body.Upline)}
			return record(entry(op, now(), "member.create", "member", m.Username, comment), nil, after)(tx)
		})
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		l, err := members.Profile(r.Context(), m.Username)
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		writeJSON(w, map[string]any{"data": toMemberRow(l)})
	})
}

// MemberProfile answers GET /api/admin/members/{username}: the member,
// its balance and its credentials.
func MemberProfile(members *member.Store, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l, err := members.Profile(r.Context(), r.PathValue("username"))
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		creds, err := members.Credentials(r.Context(), l.ID)
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		cs := make([]credentialRow, 0, len(creds))
		for _, c := range creds {
			cs = append(cs, toCredentialRow(c))
		}
		writeJSON(w, map[string]any{"data": struct {
			memberRow
			Credentials []credentialRow `json:"credentials"`
		}{toMemberRow(l), cs}})
	})
}

// UpdateMember answers PATCH /api/admin/members/{username}
// {level, active, api_access, webhook_url, comment}: absent fields stay
// as they are; webhook_url "" stops the member's webhooks. Everything
// changes in one transaction with one audit row.
func UpdateMember(members *member.Store, hooks *webhook.Service, now func() time.Time, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Level      *string `json:"level"`
			Active     *bool   `json:"active"`
			APIAccess  *bool   `json:"api_access"`
			WebhookURL *string `json:"webhook_url"`
			Comment    string  `json:"comment"`
		}
		comment, ok := readChange(w, r, logger, &body, &body.Comment)
		if !ok {
			return
		}
		if body.Level == nil && body.Active == nil && body.APIAccess == nil && body.WebhookURL == nil {
			writeFault(w, r, logger, fault.New(fault.Missing, "nothing to change: give level, active, api_access or webhook_url"))
			return
		}
		if body.WebhookURL != nil {
			if err := checkWebhookURL(*body.WebhookURL); err != nil {
				writeFault(w, r, logger, err)
				return
			}
		}
		m, ok := pathMember(w, r, logger, members)
		if !ok {
			return
		}
		op := OperatorFrom(r.Context())
		e := entry(op, now(), "member.update", "member", m.Username, comment)
		var err error
		if body.WebhookURL != nil && body.Level == nil && body.Active == nil && body.APIAccess == nil {
			err = hooks.SetURLWith(r.Context(), m.ID, *body.WebhookURL, func(tx *db.Tx, before string) error {
				return record(e, map[string]any{"webhook_url": before},
					map[string]any{"webhook_url": strings.TrimSpace(*body.WebhookURL)})(tx)
			})
		} else {
			_, err = members.Update(r.Context(), m.ID, member.Changes{Level: body.Level, Active: body.Active, APIAccess: body.APIAccess},
				func(tx *db.Tx, before, after member.Member) error {
					b, a := hookState{memberState: stateOfMember(before)}, hookState{memberState: stateOfMember(after)}
					if body.WebhookURL != nil {
						prev, err := hooks.SetURLIn(tx, m.ID, *body.WebhookURL)
						if err != nil {
							return err
						}
						u := strings.TrimSpace(*body.WebhookURL)
						b.WebhookURL, a.WebhookURL = &prev, &u
					}
					return record(e, b, a)(tx)
				})
		}
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		l, err := members.Profile(r.Context(), m.Username)
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		writeJSON(w, map[string]any{"data": toMemberRow(l)})
	})
}

// hookState is memberState with the webhook URL, when it changes.
type hookState struct {
	memberState
	WebhookURL *string `json:"webhook_url,omitempty"`
}

// movementRow is one money movement on the wire.
type movementRow struct {
	At        string `json:"at"`
	Type      string `json:"type"`
	Kind      string `json:"kind"`
	Reference string `json:"reference"`
	Amount    int64  `json:"amount"`
	Memo      string `json:"memo"`
}

func toMovementRows(ms []member.Movement) ([]movementRow, int64) {
	rows := make([]movementRow, 0, len(ms))
	var sum int64
	for _, m := range ms {
		rows = append(rows, movementRow{At: wire(m.At), Type: m.Type, Kind: m.Kind, Reference: m.Reference, Amount: m.Amount, Memo: m.Memo})
		sum += m.Amount
	}
	return rows, sum
}

var movementTypes = []string{member.MovementDeposit, member.MovementWithdraw, member.MovementOrder, member.MovementAdjustment}

// MemberHistory answers GET /api/admin/members/{username}/history?type=&from=&to=
// with the member's money movements, newest first, paginated, with
// totals (amounts are signed: into the balance positive).
func MemberHistory(members *member.Store, logger *slog.Logger) http.Handler {
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
		typ, err := oneOf(q, "type", movementTypes...)
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		m, ok := pathMember(w, r, logger, members)
		if !ok {
			return
		}
		ms, total, all, err := members.History(r.Context(), m.ID, member.HistoryFilter{Type: typ, From: from, To: to}, p.Limit(), p.Offset())
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		rows, sum := toMovementRows(ms)
		writeJSON(w, newList(rows, p, total).withAmounts(sum, all))
	})
}

// MemberLatest answers GET /api/admin/members/{username}/latest?type=&limit=
// with the member's newest movements (limit 10 by default, at most 100).
func MemberLatest(members *member.Store, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		typ, err := oneOf(q, "type", movementTypes...)
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		limit := 10
		if s := q.Get("limit"); s != "" {
			if limit, err = strconv.Atoi(s); err != nil || limit < 1 || limit > 100 {
				writeFault(w, r, logger, fault.Field(fault.Invalid, "limit", "must be a whole number from 1 to 100"))
				return
			}
		}
		m, ok := pathMember(w, r, logger, members)
		if !ok {
			return
		}
		ms, _, _, err := members.History(r.Context(), m.ID, member.HistoryFilter{Type: typ}, limit, 0)
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		rows, _ := toMovementRows(ms)
		writeJSON(w, map[string]any{"data": rows})
	})
}

// MemberDownlines answers GET /api/admin/members/{username}/downlines:
// the members it referred, by join date, paginated.
func MemberDownlines(members *member.Store, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := parsePage(r.URL.Query())
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		m, ok := pathMember(w, r, logger, members)
		if !ok {
			return
		}
		items, total, err := members.Downlines(r.Context(), m.ID, p.Limit(), p.Offset())
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		rows := make([]memberRow, 0, len(items))
		for _, it := range items {
			rows = append(rows, toMemberRow(it))
		}
		writeJSON(w, newList(rows, p, total))
	})
}

// Adjust answers POST /api/admin/members/{username}/adjustments
// {direction: credit|debit, amount, comment}: a manual balance change
// through the ledger's adjust account. A debit larger than the balance is
// 422 and writes nothing.
func Adjust(members *member.Store, now func() time.Time, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Direction string `json:"direction"`
			Amount    int64  `json:"amount"`
			Comment   string `json:"comment"`
		}
		comment, ok := readChange(w, r, logger, &body, &body.Comment)
		if !ok {
			return
		}
		m, ok := pathMember(w, r, logger, members)
		if !ok {
			return
		}
		a, err := AdjustBalance(r.Context(), members, now, OperatorFrom(r.Context()), m, body.Direction, body.Amount, comment)
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		writeJSON(w, map[string]any{"data": map[string]any{"reference": a.Reference, "member": m.Username,
			"direction": a.Direction, "amount": a.Amount, "balance_before": a.Before, "balance_after": a.After,
			"created_at": wire(a.At)}})
	})
}

// CreateCredential answers POST /api/admin/members/{username}/credentials
// {allow_ips, signed_only, rate_per_sec, rate_burst, comment} with a new
// API key and secret key, shown this once.
func CreateCredential(members *member.Store, now func() time.Time, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			AllowIPs   []string `json:"allow_ips"`
			SignedOnly bool     `json:"signed_only"`
			RatePerSec int      `json:"rate_per_sec"`
			RateBurst  int      `json:"rate_burst"`
			Comment    string   `json:"comment"`
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
		is, err := members.CreateCredentialWith(r.Context(), member.NewCredential{MemberID: m.ID, AllowIPs: body.AllowIPs,
			SignedOnly: body.SignedOnly, RatePerSec: body.RatePerSec, RateBurst: body.RateBurst},
			func(tx *db.Tx, c member.Credential) error {
				e := entry(op, now(), "credential.create", "member", m.Username, comment)
				return record(e, nil, toCredentialRow(c))(tx)
			})
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		writeJSON(w, map[string]any{"data": struct {
			credentialRow
			APIKey    string `json:"api_key"`
			SecretKey string `json:"secret_key"`
		}{toCredentialRow(is.Credential), is.APIKey, is.SecretKey}})
	})
}

// RevokeCredential answers DELETE /api/admin/members/{username}/credentials/{id}
// (comment in the body {comment} or in ?comment=): the key stops working at
// once.
func RevokeCredential(members *member.Store, now func() time.Time, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Comment string `json:"comment"`
		}
		if !decode(w, r, &body) {
			return
		}
		if body.Comment == "" {
			body.Comment = r.URL.Query().Get("comment")
		}
		comment, err := checkComment(body.Comment)
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		id, err := pathID(r, "id")
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		m, ok := pathMember(w, r, logger, members)
		if !ok {
			return
		}
		op := OperatorFrom(r.Context())
		err = members.RevokeCredentialWith(r.Context(), m.ID, id, func(tx *db.Tx, c member.Credential) error {
			e := entry(op, now(), "credential.revoke", "member", m.Username, comment)
			return record(e, map[string]any{"id": c.ID, "key_hint": c.KeyHint, "revoked": false},
				map[string]any{"id": c.ID, "key_hint": c.KeyHint, "revoked": true})(tx)
		})
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		writeJSON(w, map[string]any{"data": map[string]any{"id": id, "revoked": true}})
	})
}
