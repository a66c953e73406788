// Package db opens kios's database (embedded SQLite or PostgreSQL), applies the
// embedded migrations, and provides the only way to write: Write, which on SQLite
// group-commits many callers' functions into one durable transaction and on
// PostgreSQL runs each call in its own transaction with retries.
//
// SQL is written once, with '?' placeholders, in the subset both databases share;
// the package rebinds placeholders for PostgreSQL and maps driver errors to the
// small set of errors callers may test for (ErrConflict, ErrNotFound).
package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"modernc.org/sqlite"
)

// Dialect names the database engine behind a DB.
type Dialect int

// The two supported dialects.
const (
	SQLite Dialect = iota + 1
	Postgres
)

// String returns the dialect's short name, as used in test names and logs.
func (d Dialect) String() string {
	switch d {
	case SQLite:
		return "sqlite"
	case Postgres:
		return "postgres"
	}
	return "unknown"
}

// Errors callers may test for with errors.Is. Driver errors never leave this
// package unwrapped into these kinds; other failures are returned as they are.
var (
	// ErrConflict reports a unique or primary-key violation.
	ErrConflict = errors.New("db: conflict")
	// ErrNotFound reports that a row that must exist does not.
	ErrNotFound = errors.New("db: not found")
	// ErrClosed reports a write attempted after Close.
	ErrClosed = errors.New("db: closed")
)

// Options tunes Open. The zero value is usable.
type Options struct {
	// MaxBatch bounds how many Write calls one SQLite commit carries (default 256).
	MaxBatch int
	// Linger bounds how long the SQLite writer, about to start a batch, waits
	// for the callers its last commit answered to send their next writes
	// (default 200µs; negative: never wait). Without it, concurrent callers
	// split into two groups that take turns, each committing while the other
	// queues, and every commit, whose fsync is most of its cost, carries half
	// of them. The writer waits only while fewer writes have arrived since
	// its last answers than that commit answered, so a lone caller never
	// waits.
	Linger time.Duration
	// ReadConns bounds the SQLite read pool (default 8).
	ReadConns int
	// MaxConns bounds the PostgreSQL pool (default 32).
	MaxConns int
	// OnBatch, when set, is told the size of every committed SQLite batch
	// (used for the write-batch metric).
	OnBatch func(n int)
}

// DB is an open kios database. It is safe for concurrent use.
type DB struct {
	dialect Dialect
	url     string // the URL it was opened with (a path for SQLite)

	read  *sql.DB // SQLite: read-only pool; PostgreSQL: the pool
	write *sql.DB // SQLite: the single writer's pool; PostgreSQL: the pool

	// SQLite group commit.
	reqs      chan *request
	stop      chan struct{}
	exited    chan struct{}
	writerWG  sync.WaitGroup
	closeOnce sync.Once
	maxBatch  int
	linger    time.Duration
	onBatch   func(int)
	wconn     *sql.Conn
	wstmts    map[string]*sql.Stmt
	// submitted counts the requests sent to the writer; answered is how
	// many callers its last commit answered, when submitted stood at
	// answeredAt (both owned by the writer goroutine).
	submitted  atomic.Int64
	answered   int
	answeredAt int64

	rebound sync.Map // query → PostgreSQL form

	// PostgreSQL: one token per write holding a connection (see
	// openPostgres).
	turns chan struct{}

	// SQLite: the read pool's prepared statements by query text (see
	// readStmt), and how many there are.
	rstmts sync.Map
	rcount atomic.Int64
}

// maxReadStmts bounds the read statements kept prepared: queries built with
// varying text beyond that many run unprepared, as before.
const maxReadStmts = 512

// Open opens the database named by dsn: a postgres:// or postgresql:// URL, or
// the path of a SQLite file (optionally prefixed by "sqlite:" or "file:"). It
// does not apply migrations; call Migrate.
func Open(ctx context.Context, dsn string, opt Options) (*DB, error) {
	if opt.MaxBatch <= 0 {
		opt.MaxBatch = 256
	}
	if opt.ReadConns <= 0 {
		opt.ReadConns = 8
	}
	if opt.MaxConns <= 0 {
		opt.MaxConns = 32
	}
	if opt.Linger == 0 {
		opt.Linger = 200 * time.Microsecond
	}
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		return openPostgres(ctx, dsn, opt)
	}
	return openSQLite(ctx, dsn, opt)
}

func openPostgres(ctx context.Context, dsn string, opt Options) (*DB, error) {
	pool, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", redact(err, dsn))
	}
	pool.SetMaxOpenConns(opt.MaxConns)
	pool.SetMaxIdleConns(opt.MaxConns)
	pool.SetConnMaxIdleTime(5 * time.Minute)
	if err := pool.PingContext(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to postgres: %w", redact(err, dsn))
	}
	// Writes take a turn from turns before a connection from the pool:
	// database/sql hands a released connection to a random waiter, which
	// under load leaves some writes waiting many turns (a long latency
	// tail), while a channel serves its waiters in order. A quarter of the
	// connections stay for reads.
	turns := make(chan struct{}, max(1, opt.MaxConns-opt.MaxConns/4))
	return &DB{dialect: Postgres, url: dsn, read: pool, write: pool, turns: turns}, nil
}

// redact removes a password that a driver error might quote from the DSN.
func redact(err error, dsn string) error {
	u, perr := url.Parse(dsn)
	if perr != nil || u.User == nil {
		return err
	}
	if pw, ok := u.User.Password(); ok && pw != "" && strings.Contains(err.Error(), pw) {
		return errors.New(strings.ReplaceAll(err.Error(), pw, "xxxxx"))
	}
	return err
}

func sqlitePath(dsn string) string {
	p := strings.TrimPrefix(dsn, "sqlite://")
	p = strings.TrimPrefix(p, "sqlite:")
	p = strings.TrimPrefix(p, "file:")
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	return p
}

// writerConn opens the writer's connection. Two processes opening a new
// file at the same moment can meet SQLITE_BUSY while one of them turns it
// to WAL, a moment SQLite's busy handler does not cover; the open is then
// tried again for up to ten seconds.
func writerConn(ctx context.Context, w *sql.DB) (*sql.Conn, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := w.Conn(ctx)
		if err == nil || time.Now().After(deadline) || !(strings.Contains(err.Error(), "SQLITE_BUSY") || strings.Contains(err.Error(), "database is locked")) {
			return c, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Duration(5+rand.IntN(20)) * time.Millisecond):
		}
	}
}

func openSQLite(ctx context.Context, dsn string, opt Options) (*DB, error) {
	path := sqlitePath(dsn)
	if path == "" {
		return nil, errors.New("open sqlite: empty path")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	// synchronous(FULL) in WAL mode syncs the WAL on every commit: an
	// acknowledged write survives a power cut, not just a process crash.
	// temp_store(MEMORY) keeps the statement journals of the per-call
	// savepoints in memory; on file they cost a pwrite per page touched
	// (a quarter of the writer's time in the order bench).
	common := "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(FULL)&_pragma=temp_store(MEMORY)"
	// The writer checkpoints the WAL into the database file once it holds
	// 4000 pages (16 MiB at 4 KiB pages), not SQLite's default 1000: a
	// checkpoint runs inside the commit that triggers it, costs two fsyncs
	// and copies a page once however many times the WAL holds it, so fewer,
	// larger checkpoints cost the writer less (docs/performance.md).
	// busy_timeout comes first: pragmas apply in order, and switching a new
	// file to WAL must wait for another process opening it at the same time.
	w, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=wal_autocheckpoint(4000)&"+common)
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	wconn, err := writerConn(ctx, w)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	var mode string
	if err := wconn.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || !strings.EqualFold(mode, "wal") {
		wconn.Close()
		w.Close()
		if err == nil {
			err = fmt.Errorf("journal_mode is %q, want wal", mode)
		}
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	r, err := sql.Open("sqlite", "file:"+path+"?_pragma=query_only(1)&"+common)
	if err != nil {
		wconn.Close()
		w.Close()
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	r.SetMaxOpenConns(opt.ReadConns)
	r.SetMaxIdleConns(opt.ReadConns)
	r.SetConnMaxIdleTime(0)
	d := &DB{
		dialect:  SQLite,
		url:      path,
		read:     r,
		write:    w,
		reqs:     make(chan *request, 4096),
		stop:     make(chan struct{}),
		exited:   make(chan struct{}),
		maxBatch: opt.MaxBatch,
		linger:   opt.Linger,
		onBatch:  opt.OnBatch,
		wconn:    wconn,
		wstmts:   make(map[string]*sql.Stmt),
	}
	d.writerWG.Add(1)
	go d.writer()
	return d, nil
}

// Dialect reports which database engine d runs on.
func (d *DB) Dialect() Dialect { return d.dialect }

// Ping checks that the database answers.
func (d *DB) Ping(ctx context.Context) error { return d.read.PingContext(ctx) }

// Close stops the SQLite writer after the writes already queued, and closes
// the pools. Writes after Close fail with ErrClosed.
func (d *DB) Close() error {
	var err error
	d.closeOnce.Do(func() {
		if d.dialect == SQLite {
			close(d.stop)
			d.writerWG.Wait()
			for _, s := range d.wstmts {
				s.Close()
			}
			d.rstmts.Range(func(_, s any) bool {
				s.(*sql.Stmt).Close()
				return true
			})
			d.wconn.Close()
			err = errors.Join(d.write.Close(), d.read.Close())
			return
		}
		err = d.read.Close()
	})
	return err
}

// Rebind turns '?' placeholders into PostgreSQL's $1, $2, … when d runs on
// PostgreSQL. Queries must not contain a literal '?'.
func (d *DB) Rebind(q string) string {
	if d.dialect != Postgres {
		return q
	}
	if v, ok := d.rebound.Load(q); ok {
		return v.(string)
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteByte(q[i])
	}
	s := b.String()
	d.rebound.Store(q, s)
	return s
}

// QueryRow runs a read outside any write transaction. On SQLite it uses the
// read pool, so it never waits behind the writer.
func (d *DB) QueryRow(ctx context.Context, q string, args ...any) *Row {
	if s := d.readStmt(ctx, q); s != nil {
		return &Row{row: s.QueryRowContext(ctx, args...)}
	}
	return &Row{row: d.read.QueryRowContext(ctx, d.Rebind(q), args...)}
}

// Query runs a read outside any write transaction; see QueryRow.
func (d *DB) Query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if s := d.readStmt(ctx, q); s != nil {
		rows, err := s.QueryContext(ctx, args...)
		return rows, mapErr(err)
	}
	rows, err := d.read.QueryContext(ctx, d.Rebind(q), args...)
	return rows, mapErr(err)
}

// readStmt returns a statement prepared on the SQLite read pool, cached by
// query text, or nil on PostgreSQL (pgx keeps its own statement cache per
// connection) and when q cannot be cached. Unprepared, modernc.org/sqlite
// parses and plans a query on every call, which cost as much as running
// a point read (half the PPOB answer's balance read, docs/performance.md);
// a *sql.Stmt is prepared once on each connection of the pool that runs it.
func (d *DB) readStmt(ctx context.Context, q string) *sql.Stmt {
	if d.dialect != SQLite {
		return nil
	}
	if s, ok := d.rstmts.Load(q); ok {
		return s.(*sql.Stmt)
	}
	if d.rcount.Load() >= maxReadStmts {
		return nil
	}
	s, err := d.read.PrepareContext(ctx, q)
	if err != nil {
		return nil // run unprepared: the query reports its own error
	}
	if old, loaded := d.rstmts.LoadOrStore(q, s); loaded {
		s.Close()
		return old.(*sql.Stmt)
	}
	d.rcount.Add(1)
	return s
}

// Read runs fn in a read-only transaction, so that all its queries see one
// snapshot. On SQLite it uses the read pool and never waits for the writer.
func (d *DB) Read(ctx context.Context, fn func(tx *Tx) error) error {
	opts := &sql.TxOptions{ReadOnly: true}
	if d.dialect == Postgres {
		opts.Isolation = sql.LevelRepeatableRead
	}
	stx, err := d.read.BeginTx(ctx, opts)
	if err != nil {
		return mapErr(err)
	}
	defer stx.Rollback()
	tx := &Tx{d: d, ctx: ctx, q: stx}
	if err := fn(tx); err != nil {
		return err
	}
	return mapErr(stx.Commit())
}

// Row wraps *sql.Row so that Scan maps sql.ErrNoRows to ErrNotFound.
type Row struct {
	row *sql.Row
	err error
}

// Scan copies the row's columns into dest; a missing row is ErrNotFound.
func (r *Row) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	return mapErr(r.row.Scan(dest...))
}

// querier is what Tx needs of *sql.Tx and *sql.Conn.
type querier interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

// Tx is a transaction handed to the function given to Write or Read. It is
// valid only during that call and must not be shared with other goroutines.
type Tx struct {
	d     *DB
	ctx   context.Context
	q     querier
	after []func()
}

// Dialect reports which database engine the transaction runs on.
func (tx *Tx) Dialect() Dialect { return tx.d.dialect }

// Context returns the context the transaction's statements run under.
func (tx *Tx) Context() context.Context { return tx.ctx }

// stmt returns a prepared statement on the SQLite writer connection, cached by
// query text, or nil when statements are not cached for this transaction.
func (tx *Tx) stmt(q string) *sql.Stmt {
	if tx.d.dialect != SQLite || tx.q != querier(tx.d.wconn) {
		return nil
	}
	if s, ok := tx.d.wstmts[q]; ok {
		return s
	}
	s, err := tx.d.wconn.PrepareContext(tx.ctx, q)
	if err != nil {
		return nil
	}
	tx.d.wstmts[q] = s
	return s
}

// Exec runs a statement that returns no rows.
func (tx *Tx) Exec(q string, args ...any) (sql.Result, error) {
	if s := tx.stmt(q); s != nil {
		res, err := s.ExecContext(tx.ctx, args...)
		return res, mapErr(err)
	}
	res, err := tx.q.ExecContext(tx.ctx, tx.d.Rebind(q), args...)
	return res, mapErr(err)
}

// ExecAffected runs a statement and returns how many rows it changed.
func (tx *Tx) ExecAffected(q string, args ...any) (int64, error) {
	res, err := tx.Exec(q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// Query runs a statement that returns rows.
func (tx *Tx) Query(q string, args ...any) (*sql.Rows, error) {
	if s := tx.stmt(q); s != nil {
		rows, err := s.QueryContext(tx.ctx, args...)
		return rows, mapErr(err)
	}
	rows, err := tx.q.QueryContext(tx.ctx, tx.d.Rebind(q), args...)
	return rows, mapErr(err)
}

// QueryRow runs a statement that returns at most one row.
func (tx *Tx) QueryRow(q string, args ...any) *Row {
	if s := tx.stmt(q); s != nil {
		return &Row{row: s.QueryRowContext(tx.ctx, args...)}
	}
	return &Row{row: tx.q.QueryRowContext(tx.ctx, tx.d.Rebind(q), args...)}
}

// AfterCommit registers fn to run after the transaction has committed
// durably (never when it rolls back). Use it to wake workers.
func (tx *Tx) AfterCommit(fn func()) { tx.after = append(tx.after, fn) }

// mapErr turns driver errors into the package's error kinds, keeping the
// original in the chain for logs.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case 2067, 1555: // SQLITE_CONSTRAINT_UNIQUE, SQLITE_CONSTRAINT_PRIMARYKEY
			return fmt.Errorf("%w: %w", ErrConflict, err)
		}
		return err
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return fmt.Errorf("%w: %w", ErrConflict, err)
	}
	return err
}

// retryable reports whether a PostgreSQL transaction failed only because of
// a concurrent one (serialization failure or deadlock) and may run again.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}
