package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"kios/internal/catalog"
	"kios/internal/db"
	"kios/internal/demo"
	"kios/internal/ledger"
	"kios/internal/member"
	"kios/internal/operator"
	"kios/internal/order"
	"kios/internal/ratelimit"
	"kios/internal/server"
	"kios/internal/supplier"
	"kios/internal/supplier/simulator"
)

func serveCmd(ctx context.Context, args []string, e env) error {
	cfg, err := parseFlags("serve", "Run the kios server: the four HTTP faces, health, metrics and the background workers.", args, e, true, nil)
	if err != nil {
		return err
	}
	logger := newLogger(cfg, e.stderr)
	metrics := server.NewMetrics()
	d, applied, err := openDB(ctx, cfg, db.Options{OnBatch: metrics.ObserveWriteBatch})
	if err != nil {
		return err
	}
	defer d.Close()
	for _, m := range applied {
		logger.Info("migration applied", "migration", m)
	}
	if err := d.Write(ctx, func(tx *db.Tx) error { return ledger.EnsureSystem(tx, time.Now()) }); err != nil {
		return fmt.Errorf("create system accounts: %w", err)
	}

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	addr := listenURL(ln.Addr())
	baseURL := cfg.BaseURL
	if baseURL == "" {
		baseURL = addr
	}

	members := member.NewStore(d, time.Now)
	operators := operator.NewStore(d, time.Now)
	cat := catalog.NewStore(d, time.Now)
	if cfg.Demo {
		path := filepath.Join(cfg.DataDir, "demo.json")
		if _, err := demo.Ensure(ctx, demo.Deps{DB: d, Members: members, Operators: operators, Catalog: cat, Now: time.Now}, path, baseURL); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		logger.Info("demo data ready", "file", path)
	}
	funds, err := newFunding(ctx, d, cfg, logger)
	if err != nil {
		return err
	}
	orders := order.NewService(d, cat, suppliers(), time.Now, logger, order.Config{})

	handler := server.New(server.Deps{
		Logger:         logger,
		DB:             d,
		Members:        members,
		Limiter:        ratelimit.New(cfg.RatePerSec, cfg.RateBurst, time.Now),
		Metrics:        metrics,
		TrustedProxies: cfg.TrustedProxies,
		Now:            time.Now,
		BaseURL:        baseURL,
		Catalog:        cat,
		Funding:        funds,
		Orders:         orders,
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

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	// Background workers run until the HTTP server has drained, then stop
	// and are waited for before the database closes.
	workCtx, stopWorkers := context.WithCancel(context.WithoutCancel(ctx))
	var workers sync.WaitGroup
	defer func() { stopWorkers(); workers.Wait() }()
	workers.Go(func() { funds.RunExpiry(workCtx, depositExpiryEvery) })
	workers.Go(func() { orders.Run(workCtx) })
	logger.Info("listening", "addr", ln.Addr().String(), "base_url", baseURL, "database", d.Dialect().String())
	fmt.Fprintf(e.stdout, "kios: listening on %s\n", addr)

	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down: no new connections; finishing in-flight requests")
	shutCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	err = srv.Shutdown(shutCtx)
	// Now the background workers (deposit expiry, …) stop.
	stopWorkers()
	workers.Wait()
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	logger.Info("stopped")
	return nil
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
