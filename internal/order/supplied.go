package order

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"kios/internal/db"
	"kios/internal/fault"
	"kios/internal/supplier"
)

// supplyWait is the pause between tries while a worker holds an order's job.
const supplyWait = 25 * time.Millisecond

// Supplied feeds a supplier's own report about one of our orders (its
// webhook) into the path the worker's polls take: success settles the
// order, a definite failure fails over to the next SKU or refunds the
// member. A pending report changes nothing.
//
// The report counts only while the order is still placed with that
// supplier: a repeat of a report already taken, or a report about an order
// that has since settled or moved on to another supplier, changes nothing
// and is not an error. An unknown reference is fault.NotFound.
//
// While a worker is asking the supplier about the same order, Supplied
// waits for it (the worker's answer may settle the order first); if ctx
// ends before the worker lets go, it returns nil and the polls settle the
// order.
func (s *Service) Supplied(ctx context.Context, supplierName, reference string, res supplier.Result) error {
	if res.Outcome != supplier.Success && res.Outcome != supplier.Failed {
		if _, err := s.ByReference(ctx, reference); err != nil {
			return err
		}
		return nil
	}
	for {
		j, state, err := s.take(ctx, supplierName, reference)
		if err != nil {
			return err
		}
		switch state {
		case jobGone:
			return nil
		case jobBusy:
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(supplyWait):
				continue
			}
		}
		if res.Outcome == supplier.Success {
			return s.settleSuccess(ctx, j, res)
		}
		return s.failOver(ctx, j, res)
	}
}

// The states take finds an order's job in.
const (
	jobTaken = iota // leased to the caller
	jobGone         // settled, or with another supplier now
	jobBusy         // leased to a worker
)

// take leases the fulfilment job of the order with reference to the caller,
// as claim does, if it is with supplierName and no worker holds it.
func (s *Service) take(ctx context.Context, supplierName, reference string) (job, int, error) {
	var j job
	state := jobGone
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		j, state = job{}, jobGone
		now := s.now()
		var orderID int64
		if err := tx.QueryRow("SELECT id FROM orders WHERE reference = ?", reference).Scan(&orderID); err != nil {
			if errors.Is(err, db.ErrNotFound) {
				return fault.New(fault.NotFound, "no order %s", reference)
			}
			return err
		}
		var form string
		err := tx.QueryRow(`SELECT j.order_id, j.phase, j.supplier, j.sku, j.cost, j.attempt, j.polls,
			o.reference, o.product_code, o.customer, o.form, o.price, o.member_id, o.partner_reference, m.account_id, j.base, o.inflight
			FROM fulfilment_jobs j JOIN orders o ON o.id = j.order_id JOIN members m ON m.id = o.member_id
			WHERE j.order_id = ?`, orderID).Scan(&j.orderID, &j.phase, &j.supplier, &j.sku, &j.cost, &j.attempt, &j.polls,
			&j.reference, &j.product, &j.customer, &form, &j.price, &j.member, &j.partner, &j.account, &j.base, &j.inflight)
		if errors.Is(err, db.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if j.supplier != supplierName {
			return nil
		}
		json.Unmarshal([]byte(form), &j.form)
		n, err := tx.ExecAffected("UPDATE fulfilment_jobs SET phase = 'poll', lease_until = ? WHERE order_id = ? AND lease_until <= ? AND supplier = ?",
			now.Add(s.cfg.Lease).UnixMicro(), orderID, now.UnixMicro(), supplierName)
		if err != nil {
			return err
		}
		state = jobBusy
		if n == 1 {
			state = jobTaken
		}
		return nil
	})
	return j, state, err
}
