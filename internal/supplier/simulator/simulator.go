// Package simulator is a supplier without a network, deterministic by the
// customer number so that tests and demos can ask for any outcome:
//
//   - a customer number ending in 0000 fails (nothing delivered);
//   - one ending in 9999 stays pending for Config.PendingFor, then succeeds;
//   - one ending in 5555 is delivered but its first submission answers with
//     a timeout, so kios must learn the outcome by asking for the status;
//   - anything else succeeds with a serial number.
//
// Inquiries (supplier.Inquirer) find every account except one whose number
// ends in 4040 ("no such account"); the holder's name is made up from the
// number, the same every time.
//
// Submissions are idempotent by reference, as the contract requires, and
// counted so tests can prove an order was submitted exactly once.
package simulator

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"kios/internal/reference"
	"kios/internal/supplier"
)

// Config tunes a simulator.
type Config struct {
	// Latency is how long every call takes.
	Latency time.Duration
	// PendingFor is how long a ...9999 order stays pending (default 2s).
	PendingFor time.Duration
	// FailAll makes every submission fail: a supplier that is down, for
	// demonstrating failover.
	FailAll bool
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Simulator is an in-memory supplier. The zero value is not usable; call New.
type Simulator struct {
	cfg Config

	mu     sync.Mutex
	orders map[string]*order
}

type order struct {
	outcome     supplier.Outcome
	sn          string
	submissions int
	readyAt     time.Time // a pending order succeeds from then on
}

var (
	_ supplier.Supplier = (*Simulator)(nil)
	_ supplier.Inquirer = (*Simulator)(nil)
)

// New returns a simulator with cfg.
func New(cfg Config) *Simulator {
	if cfg.PendingFor <= 0 {
		cfg.PendingFor = 2 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Simulator{cfg: cfg, orders: map[string]*order{}}
}

// ErrTimeout is the simulated timeout of a ...5555 order's first submission.
var ErrTimeout = fmt.Errorf("simulator: %w", context.DeadlineExceeded)

// Submit takes an order; see the package comment for the outcomes.
func (s *Simulator) Submit(ctx context.Context, o supplier.Order) (supplier.Result, error) {
	if err := s.wait(ctx); err != nil {
		return supplier.Result{}, err
	}
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if prev, ok := s.orders[o.Reference]; ok {
		prev.submissions++
		return s.result(prev, now), nil
	}
	st := &order{submissions: 1}
	s.orders[o.Reference] = st
	switch {
	case s.cfg.FailAll || strings.HasSuffix(o.Customer, "0000"):
		st.outcome = supplier.Failed
	case strings.HasSuffix(o.Customer, "9999"):
		st.outcome = supplier.Pending
		st.readyAt = now.Add(s.cfg.PendingFor)
		st.sn = serial(now.Add(s.cfg.PendingFor))
	case strings.HasSuffix(o.Customer, "5555"):
		st.outcome = supplier.Success
		st.sn = serial(now)
		return supplier.Result{}, ErrTimeout
	default:
		st.outcome = supplier.Success
		st.sn = serial(now)
	}
	return s.result(st, now), nil
}

// Status reports an order's outcome; a reference never submitted is NotFound.
func (s *Simulator) Status(ctx context.Context, ref string) (supplier.Result, error) {
	if err := s.wait(ctx); err != nil {
		return supplier.Result{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.orders[ref]
	if !ok {
		return supplier.Result{Outcome: supplier.NotFound, Message: "reference tidak dikenal"}, nil
	}
	return s.result(st, s.cfg.Now()), nil
}

// Submissions returns how many times ref was submitted.
func (s *Simulator) Submissions(ref string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.orders[ref]; ok {
		return st.submissions
	}
	return 0
}

func (s *Simulator) result(st *order, now time.Time) supplier.Result {
	switch {
	case st.outcome == supplier.Pending && !now.Before(st.readyAt):
		st.outcome = supplier.Success
		fallthrough
	case st.outcome == supplier.Success:
		return supplier.Result{Outcome: supplier.Success, SN: st.sn, Message: "sukses"}
	case st.outcome == supplier.Failed:
		return supplier.Result{Outcome: supplier.Failed, Message: "nomor tujuan tidak valid"}
	}
	return supplier.Result{Outcome: supplier.Pending, Message: "sedang diproses"}
}

func (s *Simulator) wait(ctx context.Context) error {
	if s.cfg.Latency <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(s.cfg.Latency)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// serial makes an SN shaped like the reference providers': R, the date,
// then digits.
func serial(now time.Time) string {
	return fmt.Sprintf("R%s%011d", now.In(reference.WIB).Format("060102"), rand.Int64N(1e11))
}
