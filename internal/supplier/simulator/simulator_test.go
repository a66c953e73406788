package simulator

import (
	"context"
	"errors"
	"regexp"
	"testing"
	"time"

	"kios/internal/supplier"
)

var outcomes = []struct {
	customer string
	submit   supplier.Outcome // 0: the submission errs (unknown outcome)
	status   supplier.Outcome
}{
	{"081234567890", supplier.Success, supplier.Success},
	{"081234560000", supplier.Failed, supplier.Failed},
	{"081234569999", supplier.Pending, supplier.Pending},
	{"081234565555", 0, supplier.Success},
}

func TestDeterministicOutcomes(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 21, 1, 0, 0, 0, time.UTC)
	s := New(Config{PendingFor: time.Minute, Now: func() time.Time { return now }})
	for i, c := range outcomes {
		ref := "TRX" + c.customer
		r, err := s.Submit(ctx, supplier.Order{Reference: ref, Customer: c.customer})
		if c.submit == 0 {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("%d: want a timeout, got %v %v", i, r, err)
			}
		} else if err != nil || r.Outcome != c.submit {
			t.Fatalf("%d %s: submit = %v, %v; want %v", i, c.customer, r.Outcome, err, c.submit)
		}
		if st, err := s.Status(ctx, ref); err != nil || st.Outcome != c.status {
			t.Fatalf("%d %s: status = %v, %v; want %v", i, c.customer, st.Outcome, err, c.status)
		}
		if r.Outcome == supplier.Success && !regexp.MustCompile(`^R261121\d{11}$`).MatchString(r.SN) {
			t.Fatalf("SN %q is not shaped like the reference's", r.SN)
		}
	}
	now = now.Add(time.Minute)
	if st, _ := s.Status(ctx, "TRX081234569999"); st.Outcome != supplier.Success || st.SN == "" {
		t.Fatalf("pending order after PendingFor: %+v", st)
	}
	if st, _ := s.Status(ctx, "TRX-never"); st.Outcome != supplier.NotFound {
		t.Fatalf("unknown reference: %+v", st)
	}
}

func TestSubmitIsIdempotentAndCounted(t *testing.T) {
	ctx := context.Background()
	s := New(Config{})
	o := supplier.Order{Reference: "TRX1", Customer: "12345"}
	a, _ := s.Submit(ctx, o)
	b, _ := s.Submit(ctx, o)
	if a.SN != b.SN || s.Submissions("TRX1") != 2 || s.Submissions("TRX2") != 0 {
		t.Fatalf("resubmission delivered again or was not counted: %q %q %d", a.SN, b.SN, s.Submissions("TRX1"))
	}
	if r, _ := New(Config{FailAll: true}).Submit(ctx, o); r.Outcome != supplier.Failed {
		t.Fatalf("FailAll: %v", r.Outcome)
	}
}

func TestLatencyHonoursDeadline(t *testing.T) {
	s := New(Config{Latency: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := s.Submit(ctx, supplier.Order{Reference: "X", Customer: "1"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	if s.Submissions("X") != 0 {
		t.Fatal("a submission that never arrived was recorded")
	}
}
