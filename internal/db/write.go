package db

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"
)

// Write runs fn in a write transaction and returns once its effects are
// durable, or with the error that undid them.
//
// On SQLite one writer goroutine runs the functions of many concurrent callers
// in one transaction, each inside its own savepoint: a function that fails
// rolls back alone, and one fsync'd commit then answers every caller (group
// commit). Before it starts a batch the writer may wait, up to
// Options.Linger, for the callers it has just answered, so that concurrent
// callers share commits rather than take turns. fn runs on the writer
// goroutine, so it must be quick and must not call Write itself.
//
// On PostgreSQL each call is its own READ COMMITTED transaction, run again
// from the start when PostgreSQL reports a serialization failure or deadlock;
// fn must therefore have no effects outside tx.
//
// A caller whose ctx ends before its function has started gets ctx.Err() and
// nothing is written; once the function has started, Write waits for the
// outcome, so a nil error always means committed.
func (d *DB) Write(ctx context.Context, fn func(tx *Tx) error) error {
	if d.dialect == Postgres {
		return d.writePostgres(ctx, fn)
	}
	return d.writeSQLite(ctx, fn)
}

// turn waits for a write's turn at the PostgreSQL pool; the returned
// function gives it back.
func (d *DB) turn(ctx context.Context) (func(), error) {
	select {
	case d.turns <- struct{}{}:
		return func() { <-d.turns }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (d *DB) writePostgres(ctx context.Context, fn func(tx *Tx) error) error {
	done, err := d.turn(ctx)
	if err != nil {
		return err
	}
	defer done()
	for attempt := 1; ; attempt++ {
		stx, err := d.write.BeginTx(ctx, nil)
		if err != nil {
			return mapErr(err)
		}
		tx := &Tx{d: d, ctx: ctx, q: stx}
		err, p := call(fn, tx)
		if p != nil {
			stx.Rollback()
			panic(p)
		}
		if err == nil {
			err = mapErr(stx.Commit())
		} else {
			stx.Rollback()
		}
		if err == nil {
			for _, f := range tx.after {
				f()
			}
			return nil
		}
		if !retryable(err) || attempt >= 20 {
			return err
		}
		if err := backOff(ctx, attempt); err != nil {
			return err
		}
	}
}

// backOff pauses before another attempt at a statement PostgreSQL aborted
// for a concurrent one: a little, with jitter, so that the contenders
// spread out. It returns ctx's error if ctx ends first.
func backOff(ctx context.Context, attempt int) error {
	wait := time.Duration(rand.Int64N(int64(attempt) * int64(time.Millisecond)))
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(wait):
		return nil
	}
}

// WriteRows runs q, a single statement, as a transaction of its own,
// calls fn with each row it returns, and returns once the statement's
// effects are durable, or with the error that undid them.
//
// On PostgreSQL the statement runs outside BEGIN … COMMIT, in the implicit
// transaction PostgreSQL gives a lone statement: one round trip where a
// Write needs one for BEGIN, one per statement and one for COMMIT. The
// driver reads to the end of the exchange (past the commit) before the rows
// are done, so a nil error means committed; fn may have seen rows of a
// statement that then failed and was undone. A statement that PostgreSQL
// aborts for a concurrent one (deadlock, serialization) runs again, and fn
// is called again from the first row. As with Write, a caller whose ctx
// ends before the statement is sent gets ctx.Err() and nothing is written;
// once it is sent, WriteRows waits for the outcome (a cancelled statement
// could have committed without its caller knowing). On SQLite it is a
// Write of that one statement, committed with the other writers' (group
// commit).
func (d *DB) WriteRows(ctx context.Context, q string, args []any, fn func(*sql.Rows) error) error {
	each := func(rows *sql.Rows, err error) error {
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if err := fn(rows); err != nil {
				return err
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		return rows.Close()
	}
	if d.dialect != Postgres {
		return d.Write(ctx, func(tx *Tx) error { return each(tx.Query(q, args...)) })
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	done, err := d.turn(ctx)
	if err != nil {
		return err
	}
	defer done()
	q = d.Rebind(q)
	sent := context.WithoutCancel(ctx)
	for attempt := 1; ; attempt++ {
		err := mapErr(each(d.write.QueryContext(sent, q, args...)))
		if err == nil || !retryable(err) || attempt >= 20 {
			return err
		}
		if err := backOff(ctx, attempt); err != nil {
			return err
		}
	}
}

// request is one caller's function waiting for the SQLite writer.
type request struct {
	fn    func(tx *Tx) error
	state atomic.Int32 // reqPending → reqTaken or reqCancelled
	err   error
	panic any
	after []func()
	done  chan struct{}
}

const (
	reqPending int32 = iota
	reqTaken
	reqCancelled
)

func (d *DB) writeSQLite(ctx context.Context, fn func(tx *Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r := &request{fn: fn, done: make(chan struct{})}
	select {
	case <-d.stop:
		return ErrClosed
	default:
	}
	d.submitted.Add(1)
	select {
	case d.reqs <- r:
	case <-d.stop:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-r.done:
	case <-ctx.Done():
		if r.state.CompareAndSwap(reqPending, reqCancelled) {
			return ctx.Err()
		}
		<-r.done // already running: the outcome is on its way
	case <-d.exited:
		if r.state.CompareAndSwap(reqPending, reqCancelled) {
			return ErrClosed // queued after the writer's last look
		}
		<-r.done
	}
	if r.panic != nil {
		panic(r.panic)
	}
	if r.err == nil {
		for _, f := range r.after {
			f()
		}
	}
	return r.err
}

// writer is the single goroutine that owns the SQLite write connection.
func (d *DB) writer() {
	defer d.writerWG.Done()
	defer close(d.exited)
	batch := make([]*request, 0, d.maxBatch)
	var wait *time.Timer
	if d.linger > 0 {
		wait = time.NewTimer(d.linger)
		wait.Stop()
	}
	for {
		select {
		case r := <-d.reqs:
			batch = append(batch[:0], r)
		case <-d.stop:
			// Finish what was queued before Close, then refuse the rest.
			for {
				select {
				case r := <-d.reqs:
					d.runBatch([]*request{r})
				default:
					return
				}
			}
		}
		batch = d.fill(batch, wait)
		d.runBatch(batch)
		clear(batch)
	}
}

// fill adds the queued requests to batch, up to MaxBatch. While fewer
// requests have arrived since the last commit answered its callers than it
// answered, it also waits, for at most Options.Linger in all, for more: under
// load those callers are about to send their next writes, and they had
// better share this commit than queue behind it for the next one.
func (d *DB) fill(batch []*request, wait *time.Timer) []*request {
	waiting := false
	defer func() {
		if waiting {
			wait.Stop()
		}
	}()
	for len(batch) < d.maxBatch {
		select {
		case r := <-d.reqs:
			batch = append(batch, r)
			continue
		default:
		}
		if wait == nil || d.submitted.Load()-d.answeredAt >= int64(d.answered) {
			return batch
		}
		if !waiting {
			wait.Reset(d.linger)
			waiting = true
		}
		select {
		case r := <-d.reqs:
			batch = append(batch, r)
		case <-wait.C:
			waiting = false
			return batch
		case <-d.stop:
			return batch
		}
	}
	return batch
}

// runBatch runs the batch's functions in one transaction, each in its own
// savepoint, commits once, and answers every caller.
func (d *DB) runBatch(batch []*request) {
	ctx := context.Background()
	finish := func(err error) {
		d.answered, d.answeredAt = 0, d.submitted.Load()
		for _, r := range batch {
			if r.state.Load() == reqTaken {
				if r.err == nil && r.panic == nil {
					r.err = err
				}
				close(r.done)
				d.answered++
			}
		}
	}
	if err := d.exec(ctx, "BEGIN IMMEDIATE"); err != nil {
		for _, r := range batch {
			r.state.CompareAndSwap(reqPending, reqTaken)
		}
		finish(fmt.Errorf("db: begin: %w", err))
		return
	}
	ran := 0
	for _, r := range batch {
		if !r.state.CompareAndSwap(reqPending, reqTaken) {
			continue // the caller gave up before its turn
		}
		ran++
		if err := d.exec(ctx, "SAVEPOINT w"); err != nil {
			d.abort(ctx)
			finish(fmt.Errorf("db: savepoint: %w", err))
			return
		}
		tx := &Tx{d: d, ctx: ctx, q: d.wconn}
		r.err, r.panic = call(r.fn, tx)
		if r.err != nil || r.panic != nil {
			if err := d.exec(ctx, "ROLLBACK TO w"); err != nil {
				d.abort(ctx)
				finish(fmt.Errorf("db: rollback to savepoint: %w", err))
				return
			}
		} else {
			r.after = tx.after
		}
		if err := d.exec(ctx, "RELEASE w"); err != nil {
			d.abort(ctx)
			finish(fmt.Errorf("db: release savepoint: %w", err))
			return
		}
	}
	if err := d.exec(ctx, "COMMIT"); err != nil {
		d.abort(ctx)
		for _, r := range batch {
			r.after = nil
		}
		finish(fmt.Errorf("db: commit: %w", err))
		return
	}
	if d.onBatch != nil && ran > 0 {
		d.onBatch(ran)
	}
	finish(nil)
}

func (d *DB) exec(ctx context.Context, q string) error {
	s, ok := d.wstmts[q]
	if !ok {
		var err error
		if s, err = d.wconn.PrepareContext(ctx, q); err != nil {
			return err
		}
		d.wstmts[q] = s
	}
	_, err := s.ExecContext(ctx)
	return err
}

// abort rolls back the whole batch after a failure of the transaction itself.
func (d *DB) abort(ctx context.Context) {
	d.wconn.ExecContext(ctx, "ROLLBACK")
}

// call runs fn, turning a panic into a value the caller re-raises.
func call(fn func(tx *Tx) error, tx *Tx) (err error, p any) {
	defer func() {
		if v := recover(); v != nil {
			p = v
		}
	}()
	return fn(tx), nil
}
