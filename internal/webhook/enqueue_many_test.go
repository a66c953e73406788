package webhook

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"kios/internal/db"
	"kios/internal/dbtest"
)

// outboxRow is what EnqueueMany is responsible for in one outbox row.
type outboxRow struct {
	member     int64
	kind, ref  string
	payload    string
	status     string
	attempts   int64
	next, made int64
}

// outboxRows returns every row of webhook_messages in id order.
func outboxRows(t *testing.T, d *db.DB) []outboxRow {
	t.Helper()
	rows, err := d.Query(context.Background(), `SELECT member_id, kind, reference, payload, status, attempts, next_at, created_at
		FROM webhook_messages ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []outboxRow
	for rows.Next() {
		var r outboxRow
		if err := rows.Scan(&r.member, &r.kind, &r.ref, &r.payload, &r.status, &r.attempts, &r.next, &r.made); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestEnqueueManyOnlyForURLsInOrder proves that EnqueueMany writes one
// pending row per message whose member has a non-empty webhook URL (none
// for a member without an endpoint, none for one whose endpoint has an
// empty URL), with that message's member, reference and exact payload,
// the batch's kind and time, in the order given (ids ascending), on both
// the statement-per-message and the one-statement paths.
func TestEnqueueManyOnlyForURLsInOrder(t *testing.T) {
	type msg struct {
		who int // 0, 1: members with a URL; 2: no endpoint; 3: endpoint, empty URL
		ref string
	}
	cases := []struct {
		name string
		msgs []msg
		want []int // indexes into msgs of the rows expected, in order
	}{
		{"mix", []msg{{1, "R1"}, {2, "R2"}, {0, "R3"}, {3, "R4"}, {1, "R5"}, {0, ""}, {2, "R7"}}, []int{0, 2, 4, 5}},
		{"one message", []msg{{0, "ONLY"}}, []int{0}},
		{"one message without URL", []msg{{3, "NONE"}}, nil},
		{"nobody has a URL", []msg{{2, "N1"}, {3, "N2"}, {2, "N3"}}, nil},
		{"same member and reference twice", []msg{{0, "DUP"}, {1, "X"}, {0, "DUP"}}, []int{0, 1, 2}},
		{"empty batch", nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dbtest.Each(t, func(t *testing.T, d *db.DB) {
				ctx := context.Background()
				s := newTestService(t, d, nil, ClientOptions{})
				members := make([]int64, 4)
				for i := range members {
					members[i] = newMember(t, d)
				}
				for _, i := range []int{0, 1} {
					if err := s.SetURL(ctx, members[i], fmt.Sprintf("http://127.0.0.1:1/hook%d", i)); err != nil {
						t.Fatal(err)
					}
				}
				// Member 3 gets an endpoint row (its secret) but no URL.
				if _, err := s.Secret(ctx, members[3]); err != nil {
					t.Fatal(err)
				}
				at := time.Date(2026, 3, 4, 5, 6, 7, 8000, time.UTC)
				var out []Outgoing
				for i, m := range c.msgs {
					out = append(out, Outgoing{
						Member:    members[m.who],
						Reference: m.ref,
						Payload:   []byte(fmt.Sprintf(`{"webhook_type":"transaction_status","n":%d,"ref":%q}`, i, m.ref)),
					})
				}
				if err := d.Write(ctx, func(tx *db.Tx) error {
					return EnqueueMany(tx, KindTransactionStatus, out, at)
				}); err != nil {
					t.Fatal(err)
				}
				got := outboxRows(t, d)
				if len(got) != len(c.want) {
					t.Fatalf("%d rows written, want %d: %+v", len(got), len(c.want), got)
				}
				for j, i := range c.want {
					want := outboxRow{
						member: out[i].Member, kind: KindTransactionStatus, ref: out[i].Reference,
						payload: string(out[i].Payload), status: StatusPending,
						next: at.UnixMicro(), made: at.UnixMicro(),
					}
					if got[j] != want {
						t.Errorf("row %d:\n got %+v\nwant %+v (message %d)", j, got[j], want, i)
					}
				}
			})
		})
	}
}

// TestEnqueueManyRefusesInvalidMessages proves that a batch with one
// message whose payload is not JSON, or a batch without a kind, is refused
// with ErrInvalidInput before anything is written: the transaction that
// called it commits, and the outbox is still empty, even for the valid
// messages of the batch and on the one-statement path.
func TestEnqueueManyRefusesInvalidMessages(t *testing.T) {
	cases := []struct {
		name string
		kind string
		bad  []byte // the payload of the second message
	}{
		{"not JSON", KindTransactionStatus, []byte(`{"status":`)},
		{"plain text", KindTransactionStatus, []byte(`sukses`)},
		{"empty payload", KindTransactionStatus, nil},
		{"no kind", "", []byte(`{}`)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dbtest.Each(t, func(t *testing.T, d *db.DB) {
				ctx := context.Background()
				s := newTestService(t, d, nil, ClientOptions{})
				m := newMember(t, d)
				if err := s.SetURL(ctx, m, "http://127.0.0.1:1/hook"); err != nil {
					t.Fatal(err)
				}
				msgs := []Outgoing{
					{Member: m, Reference: "OK1", Payload: []byte(`{"n":1}`)},
					{Member: m, Reference: "BAD", Payload: c.bad},
					{Member: m, Reference: "OK3", Payload: []byte(`{"n":3}`)},
				}
				var enqErr error
				if err := d.Write(ctx, func(tx *db.Tx) error {
					enqErr = EnqueueMany(tx, c.kind, msgs, time.Now())
					return nil // commit: whatever EnqueueMany wrote would stay
				}); err != nil {
					t.Fatal(err)
				}
				if !errors.Is(enqErr, ErrInvalidInput) {
					t.Fatalf("EnqueueMany = %v, want ErrInvalidInput", enqErr)
				}
				if got := outboxRows(t, d); len(got) != 0 {
					t.Fatalf("a refused batch wrote %d rows: %+v", len(got), got)
				}
			})
		})
	}
}
