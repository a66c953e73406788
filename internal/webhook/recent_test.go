package webhook

import (
	"context"
	"testing"

	"kios/internal/db"
	"kios/internal/dbtest"
)

func TestRecentShowsTheLatestAttempt(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newTestService(t, d, newClock(), ClientOptions{})
		r := newReceiver(t)
		m := newMember(t, d)
		other := newMember(t, d)

		if has, err := s.HasEndpoint(ctx, m); err != nil || has {
			t.Fatalf("HasEndpoint before any: %v, %v", has, err)
		}
		if err := s.SetURL(ctx, m, r.srv.URL); err != nil {
			t.Fatal(err)
		}
		if has, err := s.HasEndpoint(ctx, m); err != nil || !has {
			t.Fatalf("HasEndpoint after SetURL: %v, %v", has, err)
		}
		first, err := s.SendTest(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		r.setAnswer(func([]byte) (int, string) { return 503, "sibuk" })
		s.deliverDue(ctx)
		second, err := s.SendTest(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SetURL(ctx, other, r.srv.URL); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SendTest(ctx, other); err != nil {
			t.Fatal(err)
		}

		got, err := s.Recent(ctx, m, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].ID != second || got[1].ID != first {
			t.Fatalf("recent: %+v", got)
		}
		if got[0].Last != nil {
			t.Errorf("an unattempted message has a last attempt: %+v", got[0].Last)
		}
		last := got[1].Last
		if last == nil || last.HTTPStatus != 503 || last.Response != "sibuk" || got[1].Kind != KindTest || got[1].Status != StatusPending {
			t.Errorf("first message's last attempt: %+v (%+v)", last, got[1].Message)
		}
		if got, _ := s.Recent(ctx, m, 1); len(got) != 1 {
			t.Errorf("limit 1: %d messages", len(got))
		}
	})
}
