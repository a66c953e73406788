package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"kios/internal/db"
	"kios/internal/member"
	"kios/internal/webhook"
)

// webhookService opens the database and the webhook service for a command.
func webhookService(ctx context.Context, name, synopsis string, args []string, e env, extra func(fs *flag.FlagSet)) (*webhook.Service, *member.Store, *db.DB, error) {
	cfg, err := parseFlags(name, synopsis, args, e, false, extra)
	if err != nil {
		return nil, nil, nil, err
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	keys, err := openKeyring(cfg, newLogger(cfg, e.stderr))
	if err != nil {
		return nil, nil, nil, err
	}
	d, _, err := openDB(ctx, cfg, db.Options{})
	if err != nil {
		return nil, nil, nil, err
	}
	return webhook.NewService(d, keys, time.Now, logger, webhook.ClientOptions{}), member.NewStore(d, time.Now), d, nil
}

func webhookSetCmd(ctx context.Context, args []string, e env) error {
	var username, url string
	svc, members, d, err := webhookService(ctx, "webhook set", "Set a member's webhook URL (empty: stop sending) and print its signing secret.", args, e, func(fs *flag.FlagSet) {
		fs.StringVar(&username, "member", "", "the member's username (required)")
		fs.StringVar(&url, "url", "", "http(s) URL that receives the member's webhooks")
	})
	if err != nil {
		return err
	}
	defer d.Close()
	if username == "" {
		return errors.New("webhook set: --member is required")
	}
	m, err := members.ByUsername(ctx, username)
	if err != nil {
		return err
	}
	if err := svc.SetURL(ctx, m.ID, url); err != nil {
		return err
	}
	secret, err := svc.Secret(ctx, m.ID)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "webhook URL of %s: %q\nsigning secret: %s\n", m.Username, url, secret)
	return nil
}

func webhookTestCmd(ctx context.Context, args []string, e env) error {
	var username string
	svc, members, d, err := webhookService(ctx, "webhook test", "Queue a test webhook for a member; a running kios serve delivers it.", args, e, func(fs *flag.FlagSet) {
		fs.StringVar(&username, "member", "", "the member's username (required)")
	})
	if err != nil {
		return err
	}
	defer d.Close()
	if username == "" {
		return errors.New("webhook test: --member is required")
	}
	m, err := members.ByUsername(ctx, username)
	if err != nil {
		return err
	}
	id, err := svc.SendTest(ctx, m.ID)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "test webhook %s queued for %s\n", webhook.MessageID(id), m.Username)
	return nil
}
