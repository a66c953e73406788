// Package prepaid is the prepaid supplier: an HTTP client for an upstream
// that speaks the prepaid wire format (shared/spec/10-prepaid-api.md), such
// as the providers of the reference documents or another kios. It places
// orders with our reference as partner_reference, reads their status,
// lists the upstream's catalog for import, and keeps the configuration of
// such suppliers (their keys sealed at rest) and the references they gave
// our orders.
package prepaid

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"kios/internal/catalog"
	"kios/internal/supplier"
)

// Body limits of the upstream's answers.
const (
	maxCallBody    = 1 << 20  // an order or status answer
	maxCatalogBody = 32 << 20 // a provider or product list
)

// ErrUnknown wraps every error that leaves an order's outcome unknown: the
// caller must ask for its status again, never submit it as new.
var ErrUnknown = errors.New("prepaid supplier: outcome unknown")

// Client is one prepaid supplier. It is safe for concurrent use.
type Client struct {
	cfg  Config
	hc   *http.Client
	refs *References
	now  func() time.Time
}

var _ supplier.Supplier = (*Client)(nil)

// New returns the client of the supplier cfg. refs, when not nil, records
// the supplier's reference of every order it accepts (its webhooks may name
// only that one); hc is the HTTP client (a default with a 30 s timeout when
// nil); now is the clock of signed requests (time.Now when nil).
func New(cfg Config, refs *References, hc *http.Client, now func() time.Time) *Client {
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	if now == nil {
		now = time.Now
	}
	return &Client{cfg: cfg, hc: hc, refs: refs, now: now}
}

// envelope is every answer of the wire format: status and data on success,
// status, message and (from kios) error otherwise.
type envelope struct {
	Status  int             `json:"status"`
	Message string          `json:"message"`
	Error   string          `json:"error"`
	Data    json.RawMessage `json:"data"`
}

// transaction is the data of an order or status answer.
type transaction struct {
	Reference        string `json:"reference"`
	PartnerReference string `json:"partner_reference"`
	Status           string `json:"status"`
	SN               string `json:"sn"`
	Note             string `json:"note"`
}

// call sends one request and decodes the envelope. An error means no
// usable answer arrived (transport failure, 5xx, 429, an answer that is
// not the wire format): it wraps ErrUnknown. HTTP 200 and 400 answers come
// back with their status.
func (c *Client) call(ctx context.Context, method, path string, body []byte, signed bool, limit int64) (int, envelope, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.cfg.BaseURL+path, rd)
	if err != nil {
		return 0, envelope{}, fmt.Errorf("%w: %s: %v", ErrUnknown, c.cfg.Name, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.cfg.APIKey)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if signed {
		req.Header.Set("Signature", c.signature(body))
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		// The URL and the error carry no secret: keys travel in headers.
		return 0, envelope{}, fmt.Errorf("%w: %s %s: %v", ErrUnknown, method, path, unwrapURL(err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return resp.StatusCode, envelope{}, fmt.Errorf("%w: %s %s: reading the answer: %v", ErrUnknown, method, path, err)
	}
	if int64(len(raw)) > limit {
		return resp.StatusCode, envelope{}, fmt.Errorf("%w: %s %s: answer larger than %d bytes", ErrUnknown, method, path, limit)
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusBadRequest {
		return resp.StatusCode, envelope{}, fmt.Errorf("%w: %s %s: HTTP %d", ErrUnknown, method, path, resp.StatusCode)
	}
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil || env.Status == 0 {
		return resp.StatusCode, envelope{}, fmt.Errorf("%w: %s %s: HTTP %d with an answer that is not the prepaid format", ErrUnknown, method, path, resp.StatusCode)
	}
	return resp.StatusCode, env, nil
}

// unwrapURL drops *url.Error's "Post <url>:" prefix, which repeats the path.
func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// signature is the Signature header of a call with body: the secret key
// itself as the reference clients send it, or, with SignedForm,
// t=<unix seconds>,v1=<hex HMAC-SHA256(secret key, "<t>.<body>")>.
func (c *Client) signature(body []byte) string {
	if !c.cfg.SignedForm {
		return c.cfg.SecretKey
	}
	t := strconv.FormatInt(c.now().Unix(), 10)
	m := hmac.New(sha256.New, []byte(c.cfg.SecretKey))
	m.Write([]byte(t))
	m.Write([]byte{'.'})
	m.Write(body)
	return "t=" + t + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// Submit places o with the supplier: target_product_code is o.SKU,
// partner_reference our reference, and every form value its own property.
// The upstream keeps partner_reference unique, so submitting again never
// orders twice. A refusal (HTTP 400: product unknown or inactive, bad form
// value, balance short, keys refused) is a definite failure; a duplicate
// partner_reference, a rate limit, a 5xx or no answer leave the outcome
// unknown.
func (c *Client) Submit(ctx context.Context, o supplier.Order) (supplier.Result, error) {
	payload := make(map[string]string, len(o.Form)+2)
	for k, v := range o.Form {
		payload[k] = v
	}
	payload["target_product_code"] = o.SKU
	payload["partner_reference"] = o.Reference
	body, err := json.Marshal(payload)
	if err != nil {
		return supplier.Result{}, err
	}
	code, env, err := c.call(ctx, http.MethodPost, "/api/prepaid/transaction/create", body, true, maxCallBody)
	if err != nil {
		return supplier.Result{}, err
	}
	if code == http.StatusOK && env.Status == http.StatusOK {
		return c.transaction(ctx, o.Reference, env.Data)
	}
	switch env.Error {
	case "duplicate_partner_reference", "rate_limited", "internal_error":
		return supplier.Result{}, fmt.Errorf("%w: create: %s", ErrUnknown, env.Message)
	}
	if env.Status == http.StatusBadRequest {
		return supplier.Result{Outcome: supplier.Failed, Message: env.Message}, nil
	}
	return supplier.Result{}, fmt.Errorf("%w: create: status %d: %s", ErrUnknown, env.Status, env.Message)
}

// Status asks for the order with our reference: by the supplier's own
// reference when it gave one, else by partner_reference (a kios upstream
// answers that). "Transaksi tidak ditemukan" is supplier.NotFound.
func (c *Client) Status(ctx context.Context, reference string) (supplier.Result, error) {
	path := "/api/prepaid/transaction?partner_reference=" + url.QueryEscape(reference)
	if c.refs != nil {
		theirs, ok, err := c.refs.Theirs(ctx, c.cfg.Name, reference)
		if err != nil {
			return supplier.Result{}, fmt.Errorf("%w: %v", ErrUnknown, err)
		}
		if ok {
			path = "/api/prepaid/transaction/" + url.PathEscape(theirs)
		}
	}
	code, env, err := c.call(ctx, http.MethodGet, path, nil, false, maxCallBody)
	if err != nil {
		return supplier.Result{}, err
	}
	if code == http.StatusOK && env.Status == http.StatusOK {
		return c.transaction(ctx, reference, env.Data)
	}
	if env.Error == "not_found" || strings.HasPrefix(env.Message, "Transaksi tidak ditemukan") {
		return supplier.Result{Outcome: supplier.NotFound, Message: env.Message}, nil
	}
	return supplier.Result{}, fmt.Errorf("%w: status: %d %s", ErrUnknown, env.Status, env.Message)
}

// transaction reads an order's data, records the supplier's reference for
// ours, and maps its status.
func (c *Client) transaction(ctx context.Context, ours string, data json.RawMessage) (supplier.Result, error) {
	var t transaction
	if err := json.Unmarshal(data, &t); err != nil || t.Reference == "" {
		return supplier.Result{}, fmt.Errorf("%w: an answer without a transaction", ErrUnknown)
	}
	if t.PartnerReference != "" && t.PartnerReference != ours {
		return supplier.Result{}, fmt.Errorf("%w: the answer is about partner_reference %q, not %q", ErrUnknown, t.PartnerReference, ours)
	}
	if c.refs != nil {
		if err := c.refs.Remember(ctx, c.cfg.Name, ours, t.Reference); err != nil {
			return supplier.Result{}, fmt.Errorf("%w: %v", ErrUnknown, err)
		}
	}
	res, ok := Outcome(t.Status, t.SN)
	if !ok {
		return supplier.Result{}, fmt.Errorf("%w: status %q", ErrUnknown, t.Status)
	}
	res.Message = Text(t.Note)
	return res, nil
}

// Text makes a supplier's free text (a serial number, a note) storable as
// text on both databases: valid UTF-8 without NUL, which PostgreSQL
// refuses.
func Text(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return strings.ReplaceAll(s, "\x00", "")
}

// Outcome maps a status of the wire format to a supplier answer: success
// (with sn), failed, expired and refund are definite; processing and
// unpaid are pending. ok is false for anything else.
func Outcome(status, sn string) (res supplier.Result, ok bool) {
	switch status {
	case "success":
		return supplier.Result{Outcome: supplier.Success, SN: Text(sn)}, true
	case "failed", "expired", "refund":
		return supplier.Result{Outcome: supplier.Failed}, true
	case "processing", "unpaid", "pending":
		return supplier.Result{Outcome: supplier.Pending}, true
	}
	return supplier.Result{}, false
}

// flag is the reference's 1/0 for a boolean; true and false are taken too.
type flag bool

func (f *flag) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case "1", "true", `"1"`:
		*f = true
	case "0", "false", `"0"`, "null":
		*f = false
	default:
		return fmt.Errorf("not a flag: %s", b)
	}
	return nil
}

type remoteProvider struct {
	Code   string          `json:"code"`
	Name   string          `json:"name"`
	Active flag            `json:"active"`
	Icon   string          `json:"icon"`
	Forms  []catalog.Field `json:"forms"`
}

type remoteProduct struct {
	Code   string `json:"code"`
	Name   string `json:"name"`
	Active flag   `json:"active"`
	Price  int64  `json:"price"`
}

// Catalog lists the supplier's providers, with their order forms, and each
// provider's products with the price the supplier charges us as cost.
func (c *Client) Catalog(ctx context.Context) ([]catalog.ImportProvider, error) {
	var provs []remoteProvider
	if err := c.list(ctx, "/api/prepaid/provider", &provs); err != nil {
		return nil, err
	}
	out := make([]catalog.ImportProvider, 0, len(provs))
	for _, p := range provs {
		var prods []remoteProduct
		if err := c.list(ctx, "/api/prepaid/product?provider="+url.QueryEscape(p.Code), &prods); err != nil {
			return nil, err
		}
		ip := catalog.ImportProvider{Code: p.Code, Name: p.Name, Active: bool(p.Active), Icon: p.Icon, Forms: p.Forms}
		for _, q := range prods {
			ip.Products = append(ip.Products, catalog.ImportProduct{Code: q.Code, Name: q.Name, Active: bool(q.Active), Cost: q.Price})
		}
		out = append(out, ip)
	}
	return out, nil
}

// list GETs a catalog list into dst.
func (c *Client) list(ctx context.Context, path string, dst any) error {
	code, env, err := c.call(ctx, http.MethodGet, path, nil, false, maxCatalogBody)
	if err != nil {
		return err
	}
	if code != http.StatusOK || env.Status != http.StatusOK {
		return fmt.Errorf("prepaid supplier %s: GET %s: %d %s", c.cfg.Name, path, env.Status, env.Message)
	}
	if err := json.Unmarshal(env.Data, dst); err != nil {
		return fmt.Errorf("prepaid supplier %s: GET %s: %v", c.cfg.Name, path, err)
	}
	return nil
}
