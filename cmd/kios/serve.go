package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"kios/internal/catalog"
	"kios/internal/config"
	"kios/internal/db"
	"kios/internal/demo"
	"kios/internal/funding"
	"kios/internal/incoming"
	"kios/internal/ledger"
	"kios/internal/member"
	"kios/internal/operator"
	"kios/internal/order"
	"kios/internal/payment"
	"kios/internal/ratelimit"
	"kios/internal/server"
	"kios/internal/session"
	"kios/internal/supplier"
	"kios/internal/supplier/prepaid"
	"kios/internal/supplier/simulator"
	"kios/internal/webhook"
)

func serveCmd(ctx context.Context, args []string, e env) error {
	cfg, err := parseFlags("serve", "Run the kios server: the four HTTP faces, health, metrics and the background workers.", args, e, true, nil)
	if err != nil {
		return err
	}
	logger := newLogger(cfg, e.stderr)
	a, err := start(ctx, cfg, logger)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "kios: listening on %s\n", a.addr)
	select {
	case err := <-a.serveErr:
		a.stop(cfg.ShutdownTimeout)
		return err
	case <-ctx.Done():
	}
	return a.stop(cfg.ShutdownTimeout)
}

// app is a running kios: its database, services, HTTP server and workers.
type app struct {
	addr     string // a URL a local client can reach
	baseURL  string
	db       *db.DB
	members  *member.Store
	catalog  *catalog.Store
	orders   *order.Service
	funds    *funding.Service
	hooks    *webhook.Service
	logger   *slog.Logger
	serveErr chan error
	stop     func(timeout time.Duration) error
}

// start opens the database, prepares the data (and the demo, when asked),
// starts the HTTP server and the background workers, and returns them
// running. kios serve and kios bench both run kios through it.
func start(ctx context.Context, cfg config.Config, logger *slog.Logger) (*app, error) {
	metrics := server.NewMetrics()
	d, applied, err := openDB(ctx, cfg, db.Options{OnBatch: metrics.ObserveWriteBatch})
	if err != nil {
		return nil, err
	}
	a := &app{db: d, logger: logger, serveErr: make(chan error, 1)}
	ok := false
	defer func() {
		if !ok {
			d.Close()
		}
	}()
	for _, m := range applied {
		logger.Info("migration applied", "migration", m)
	}
	if err := d.Write(ctx, func(tx *db.Tx) error { return ledger.EnsureSystem(tx, time.Now()) }); err != nil {
		return nil, fmt.Errorf("create system accounts: %w", err)
	}

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, err
	}
	a.addr = listenURL(ln.Addr())
	a.baseURL = cfg.BaseURL
	if a.baseURL == "" {
		a.baseURL = a.addr
	}

	a.members = member.NewStore(d, time.Now)
	operators := operator.NewStore(d, time.Now)
	a.catalog = catalog.NewStore(d, time.Now)
	if cfg.Demo {
		path := filepath.Join(cfg.DataDir, "demo.json")
		if _, err := demo.Ensure(ctx, demo.Deps{DB: d, Members: a.members, Operators: operators, Catalog: a.catalog, Stores: payment.NewStores(d, time.Now), Now: time.Now}, path, a.baseURL); err != nil {
			ln.Close()
			return nil, fmt.Errorf("demo: %w", err)
		}
		logger.Info("demo data ready", "file", path)
	}
	// The webhook service exists before anything commits (below, before the
	// server and the workers start), so the funding service may poke it.
	if a.funds, err = newFunding(ctx, d, cfg, logger, func() { a.hooks.Poke() }); err != nil {
		ln.Close()
		return nil, err
	}
	keys, err := openKeyring(cfg, logger)
	if err != nil {
		ln.Close()
		return nil, err
	}
	// The instance names this process in its deliveries' User-Agent, so
	// that webhooks from several processes on one database can be told
	// apart.
	instance := newInstanceID()
	logger.Info("webhook deliveries", "instance", instance)
	a.hooks = webhook.NewService(d, keys, time.Now, logger, webhook.ClientOptions{AllowPrivate: cfg.WebhookAllowPrivate,
		UserAgent: webhook.UserAgent(instance)})
	a.hooks.OnDelivered = webhookSent(a.funds)
	a.catalog.Notify = a.hooks.Poke
	supplierConfigs := prepaid.NewConfigs(d, keys, time.Now)
	supplierRefs := prepaid.NewReferences(d, time.Now)
	sups, err := configuredSuppliers(ctx, supplierConfigs, supplierRefs, logger)
	if err != nil {
		ln.Close()
		return nil, err
	}
	a.orders = order.NewService(d, a.catalog, sups, time.Now, logger, order.Config{Notify: a.hooks.Poke})
	stores := payment.NewStores(d, time.Now)
	payments, err := payment.New(d, stores, payment.Options{Now: time.Now,
		CodeMin: cfg.PaymentCodeMin, CodeMax: cfg.PaymentCodeMax, Grace: paymentGrace(cfg.PaymentGrace), Hooks: a.hooks, Logger: logger})
	if err != nil {
		ln.Close()
		return nil, err
	}
	funds := incoming.New(d, payments, a.funds, time.Now, logger)

	handler := server.New(server.Deps{
		Logger:         logger,
		DB:             d,
		Members:        a.members,
		Limiter:        ratelimit.New(cfg.RatePerSec, cfg.RateBurst, time.Now),
		Metrics:        metrics,
		TrustedProxies: cfg.TrustedProxies,
		Now:            time.Now,
		BaseURL:        a.baseURL,
		Catalog:        a.catalog,
		Funding:        a.funds,
		Orders:         a.orders,
		Operators:      operators,
		Webhooks:       a.hooks,
		Payments:       payments,
		Incoming:       funds,
		PPOBWait:       cfg.PPOBWait,
		Sessions:       session.NewStore(d, cfg.SessionLifetime, time.Now),
		Stores:         stores,
		SecureCookies:  strings.HasPrefix(a.baseURL, "https://"),

		SupplierConfigs: supplierConfigs,
		SupplierImport: supplierImporter{prepaid.Importer{Configs: supplierConfigs, References: supplierRefs,
			Catalog: a.catalog, Now: time.Now}},
		SupplierRefs: supplierRefs,
	})
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	go func() { a.serveErr <- srv.Serve(ln) }()

	// Background workers run until the HTTP server has drained, then stop
	// and are waited for before the database closes.
	workCtx, stopWorkers := context.WithCancel(context.WithoutCancel(ctx))
	var workers sync.WaitGroup
	workers.Go(func() { a.funds.RunExpiry(workCtx, depositExpiryEvery) })
	workers.Go(func() { a.orders.Run(workCtx) })
	workers.Go(func() { a.hooks.Run(workCtx) })
	workers.Go(func() { payments.RunExpiry(workCtx, depositExpiryEvery) })
	workers.Go(func() { funds.RunResume(workCtx, time.Minute) })
	logger.Info("listening", "addr", ln.Addr().String(), "base_url", a.baseURL, "database", d.Dialect().String())

	a.stop = func(timeout time.Duration) error {
		logger.Info("shutting down: no new connections; finishing in-flight requests")
		shutCtx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		err := srv.Shutdown(shutCtx)
		// Now the background workers (fulfilment, deposit expiry) stop;
		// fulfilment finishes the supplier calls in flight first.
		stopWorkers()
		workers.Wait()
		d.Close()
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("shutdown: %w", err)
		}
		logger.Info("stopped")
		return nil
	}
	ok = true
	return a, nil
}

// newInstanceID returns a random name for this process: eight hex digits.
func newInstanceID() string {
	var b [4]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// webhookSent returns the webhook worker's OnDelivered: it marks
// webhook_sent on the deposit or withdrawal, or else the order, whose
// status the delivered message reported.
func webhookSent(funds *funding.Service) func(tx *db.Tx, reference string) error {
	return func(tx *db.Tx, reference string) error {
		if funds.Owns(reference) {
			return funding.MarkWebhookSent(tx, reference)
		}
		return order.MarkWebhookSent(tx, reference)
	}
}

// openKeyring returns the keyring that seals webhook secrets: the master
// key from --master-key, or else a key file generated once in the data
// directory (with a warning: whoever can read that directory can open the
// secrets).
func openKeyring(cfg config.Config, logger *slog.Logger) (*webhook.Keyring, error) {
	if cfg.MasterKey != "" {
		key, err := webhook.ParseMasterKey(cfg.MasterKey)
		if err != nil {
			return nil, fmt.Errorf("--master-key: %w", err)
		}
		return webhook.NewKeyring(key)
	}
	path := filepath.Join(cfg.DataDir, "master.key")
	key, created, err := webhook.LoadOrCreateKeyFile(path)
	if err != nil {
		return nil, err
	}
	if created {
		logger.Warn("no --master-key given: generated a key file to seal webhook secrets; keep it with backups and out of reach", "file", path)
	}
	return webhook.NewKeyring(key)
}

// suppliers returns the suppliers orders are fulfilled through: the built-in
// simulator, and simulator-b, a second one the demo catalog fails over to.
func suppliers() supplier.Set {
	return supplier.Set{
		"simulator":   simulator.New(simulator.Config{}),
		"simulator-b": simulator.New(simulator.Config{}),
	}
}

// listenURL turns a listener's address into a URL a local client can use:
// an unspecified host (":8080") becomes 127.0.0.1.
func listenURL(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return "http://" + a.String()
	}
	host := tcp.IP.String()
	if tcp.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, fmt.Sprint(tcp.Port))
}

// paymentGrace turns --payment-grace into payment.Options.Grace, where 0
// means the default: a configured 0 means no grace period at all.
func paymentGrace(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}
