package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"kios/internal/face/admin"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"kios/internal/catalog"
	"kios/internal/config"
	"kios/internal/db"
	"kios/internal/supplier"
	"kios/internal/supplier/prepaid"
)

// configuredSuppliers returns the built-in suppliers plus every prepaid
// supplier configured in the database (kios supplier add). A supplier added
// later is used for orders from the next start of kios serve on.
func configuredSuppliers(ctx context.Context, configs *prepaid.Configs, refs *prepaid.References, logger *slog.Logger) (supplier.Set, error) {
	set := suppliers()
	list, err := configs.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("configured suppliers: %w", err)
	}
	for _, c := range list {
		if _, ok := set[c.Name]; ok {
			logger.Warn("a configured supplier has the name of a built-in one and is not used", "supplier", c.Name)
			continue
		}
		set[c.Name] = prepaid.New(c, refs, nil, time.Now)
		logger.Info("supplier configured", "supplier", c)
	}
	return set, nil
}

// supplierStores opens the database and the supplier configuration for a
// command.
func supplierStores(ctx context.Context, name, synopsis string, args []string, e env, extra func(fs *flag.FlagSet)) (config.Config, *prepaid.Configs, *db.DB, error) {
	cfg, err := parseFlags(name, synopsis, args, e, false, extra)
	if err != nil {
		return cfg, nil, nil, err
	}
	keys, err := openKeyring(cfg, newLogger(cfg, e.stderr))
	if err != nil {
		return cfg, nil, nil, err
	}
	d, _, err := openDB(ctx, cfg, db.Options{})
	if err != nil {
		return cfg, nil, nil, err
	}
	return cfg, prepaid.NewConfigs(d, keys, time.Now), d, nil
}

func supplierAddCmd(ctx context.Context, args []string, e env) error {
	var c prepaid.Config
	var kind, ips string
	_, configs, d, err := supplierStores(ctx, "supplier add", "Configure an upstream supplier (or replace the one with that name). Its keys are sealed with the master key.", args, e, func(fs *flag.FlagSet) {
		fs.StringVar(&c.Name, "name", "", "the supplier's name, as catalog SKUs name it (required)")
		fs.StringVar(&kind, "kind", prepaid.Kind, "the kind of supplier: prepaid (the prepaid wire format over HTTP)")
		fs.StringVar(&c.BaseURL, "base-url", "", "the supplier's base URL, e.g. https://supplier.example (required)")
		fs.StringVar(&c.APIKey, "api-key", "", "our API key at the supplier (required)")
		fs.StringVar(&c.SecretKey, "secret-key", "", "our secret key at the supplier (required)")
		fs.BoolVar(&c.SignedForm, "signed-form", false, "sign orders as t=…,v1=<HMAC> instead of sending the secret key (for a kios upstream)")
		fs.StringVar(&ips, "webhook-ips", "", "comma-separated addresses or CIDR ranges the supplier's webhooks come from")
		fs.StringVar(&c.SignatureSecret, "signature-secret", "", "the whsec_… secret the supplier signs its webhooks with")
	})
	if err != nil {
		return err
	}
	defer d.Close()
	if kind != prepaid.Kind {
		return fmt.Errorf("supplier add: --kind %q: only %q is supported", kind, prepaid.Kind)
	}
	if _, ok := suppliers()[c.Name]; ok {
		return fmt.Errorf("supplier add: %q is the name of a built-in supplier", c.Name)
	}
	if c.WebhookIPs, err = prepaid.ParseIPs(strings.Split(ips, ",")); err != nil {
		return fmt.Errorf("supplier add: %w", err)
	}
	if err := configs.Put(ctx, c); err != nil {
		return fmt.Errorf("supplier add: %w", err)
	}
	fmt.Fprintf(e.stdout, "supplier %s saved; its webhooks go to <base-url>/hooks/supplier/%s; restart kios serve to order through it\n", c, c.Name)
	if len(c.WebhookIPs) == 0 && c.SignatureSecret == "" {
		fmt.Fprintln(e.stdout, "warning: with neither --webhook-ips nor --signature-secret, every webhook of this supplier is refused")
	}
	return nil
}

func supplierListCmd(ctx context.Context, args []string, e env) error {
	_, configs, d, err := supplierStores(ctx, "supplier list", "List the configured suppliers (never their keys).", args, e, nil)
	if err != nil {
		return err
	}
	defer d.Close()
	list, err := configs.List(ctx)
	if err != nil {
		return err
	}
	for _, c := range list {
		fmt.Fprintln(e.stdout, c)
	}
	return nil
}

// markups is a repeatable --markup flag: level=basis points[+flat rupiah].
type markups []catalog.Rule

func (m *markups) String() string { return "" }

func (m *markups) Set(v string) error {
	level, rest, ok := strings.Cut(v, "=")
	if !ok || level == "" {
		return errors.New("want level=basis points[+flat], e.g. reseller=300+50")
	}
	bp, flat, _ := strings.Cut(rest, "+")
	r := catalog.Rule{Level: strings.TrimSpace(level)}
	var err error
	if r.PercentBP, err = strconv.ParseInt(strings.TrimSpace(bp), 10, 64); err != nil {
		return fmt.Errorf("%q: basis points must be a whole number", v)
	}
	if flat != "" {
		if r.Flat, err = strconv.ParseInt(strings.TrimSpace(flat), 10, 64); err != nil {
			return fmt.Errorf("%q: the flat markup must be whole rupiah", v)
		}
	}
	*m = append(*m, r)
	return nil
}

func supplierImportCmd(ctx context.Context, args []string, e env) error {
	var name, prefix string
	var rules markups
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	_, configs, d, err := supplierStores(ctx, "supplier import", "Import a prepaid supplier's providers and products into the catalog: kios supplier import NAME [flags]. "+
		"New products are priced by the levels' markup rules over the supplier's price; products we already have get the supplier's SKU, and new costs for its SKUs.", args, e, func(fs *flag.FlagSet) {
		fs.StringVar(&prefix, "prefix", "", "put before the supplier's provider and product codes to make ours")
		fs.Var(&rules, "markup", "set a level's markup rule first: level=basis points[+flat rupiah], e.g. reseller=300 (repeatable)")
	})
	if err != nil {
		return err
	}
	defer d.Close()
	if name == "" {
		return errors.New("supplier import: the supplier's name is required: kios supplier import NAME")
	}
	if _, err := configs.Get(ctx, name); err != nil {
		return fmt.Errorf("supplier import: %w", err)
	}
	cat := catalog.NewStore(d, time.Now)
	for _, r := range rules {
		if err := cat.SetRule(ctx, r.Level, r.PercentBP, r.Flat); err != nil {
			return fmt.Errorf("supplier import: --markup %s: %w", r.Level, err)
		}
	}
	im := prepaid.Importer{Configs: configs, References: prepaid.NewReferences(d, time.Now), Catalog: cat, Now: time.Now}
	rep, err := im.Import(ctx, name, prefix)
	if err != nil {
		return fmt.Errorf("supplier import: %w", err)
	}
	res, costs := rep.ImportResult, rep.Costs
	fmt.Fprintf(e.stdout, "imported from %s: %d providers and %d products added, %d SKUs added to existing products, %d costs changed, %d unchanged\n",
		name, res.ProvidersAdded, res.ProductsAdded, res.SKUsAdded, len(res.Costs), res.Unchanged)
	for _, s := range res.Skipped {
		fmt.Fprintf(e.stdout, "skipped %s\n", s)
	}
	if len(costs.Deactivated) > 0 {
		fmt.Fprintf(e.stdout, "switched off (cost above a selling price): %s\n", strings.Join(costs.Deactivated, ", "))
	}
	have, err := cat.Rules(ctx)
	if err != nil {
		return err
	}
	if len(have) == 0 {
		fmt.Fprintln(e.stdout, "warning: no level has a markup rule, so imported products have no price; set one with --markup level=basis points")
	}
	return nil
}

// supplierImporter lets the operator API's catalog import use the prepaid
// supplier's Importer, translating its report into the API's answer.
type supplierImporter struct{ prepaid.Importer }

func (s supplierImporter) ImportSupplier(ctx context.Context, name, prefix string) (admin.SupplierImport, error) {
	rep, err := s.Import(ctx, name, prefix)
	if err != nil {
		return admin.SupplierImport{}, err
	}
	return admin.SupplierImport{ProvidersAdded: rep.ProvidersAdded, ProductsAdded: rep.ProductsAdded, SKUsAdded: rep.SKUsAdded,
		CostsChanged: len(rep.ImportResult.Costs), Unchanged: rep.Unchanged, Skipped: rep.Skipped, Deactivated: rep.Costs.Deactivated}, nil
}
