package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// Defaults for ClientOptions.
const (
	DefaultTimeout  = 10 * time.Second
	DefaultKeepBody = 1024
	DefaultDrainMax = 64 << 10
	// DefaultUserAgent is the User-Agent of deliveries; see UserAgent.
	DefaultUserAgent = "kios-webhook/1"
)

// UserAgent returns the User-Agent of deliveries made by the kios process
// named instance: DefaultUserAgent followed by "(instance)", so that the
// receiver, and the operator reading its logs, can tell which of several
// processes sharing one database sent a webhook.
func UserAgent(instance string) string {
	return DefaultUserAgent + " (" + instance + ")"
}

// ErrUnsupportedScheme is returned, wrapped, for a webhook URL whose
// scheme is not http or https. Nothing is dialled.
var ErrUnsupportedScheme = errors.New("webhook: only http and https URLs are allowed")

// ErrInvalidURL is returned, wrapped, for a webhook URL that does not
// parse or has no host. Nothing is dialled.
var ErrInvalidURL = errors.New("webhook: invalid URL")

// ClientOptions configures a Client. The zero value is the production
// setting: private addresses refused, a 10 s timeout, the first 1 KiB of
// each answer kept.
type ClientOptions struct {
	// AllowPrivate turns the private-address check off
	// (--webhook-allow-private: tests and development only).
	AllowPrivate bool
	// Timeout bounds a whole delivery: dial, TLS, request, answer and
	// body. Zero means DefaultTimeout.
	Timeout time.Duration
	// KeepBody is how many bytes of the answer's body are kept for the
	// attempt record. Zero means DefaultKeepBody.
	KeepBody int
	// DrainMax is how many further bytes are read and discarded so the
	// connection can be reused; a longer body makes the client close the
	// connection instead. Zero means DefaultDrainMax.
	DrainMax int64
	// UserAgent is the User-Agent header of deliveries. Empty means
	// DefaultUserAgent.
	UserAgent string
	// TLSConfig, when set, is cloned for the transport (tests use it to
	// trust a test server's certificate). Nil means the system roots
	// with normal verification.
	TLSConfig *tls.Config
}

// Client posts webhook messages safely: http and https only, the dialer of
// NewDialer, no proxy, no redirects, a total timeout and bounded bodies.
// It is safe for concurrent use.
type Client struct {
	hc        *http.Client
	keepBody  int
	drainMax  int64
	userAgent string
}

// Response is what one delivery attempt got back.
type Response struct {
	// StatusCode is the HTTP status, or 0 when no answer arrived.
	StatusCode int
	// Latency runs from sending the request to the end of reading the
	// body (or to the failure).
	Latency time.Duration
	// Body holds at most the first KeepBody bytes of the answer.
	Body []byte
	// Truncated reports that the answer had more than Body holds.
	Truncated bool
}

// NewClient returns a Client configured by opts.
func NewClient(opts ClientOptions) *Client {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.KeepBody <= 0 {
		opts.KeepBody = DefaultKeepBody
	}
	if opts.DrainMax <= 0 {
		opts.DrainMax = DefaultDrainMax
	}
	if opts.UserAgent == "" {
		opts.UserAgent = DefaultUserAgent
	}
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	if opts.TLSConfig != nil {
		tlsConfig = opts.TLSConfig.Clone()
	}
	dialer := NewDialer(opts.AllowPrivate)
	transport := &http.Transport{
		Proxy:                  nil, // never a proxy from the environment
		DialContext:            dialer.DialContext,
		TLSClientConfig:        tlsConfig,
		ForceAttemptHTTP2:      true,
		TLSHandshakeTimeout:    opts.Timeout,
		ResponseHeaderTimeout:  opts.Timeout,
		MaxResponseHeaderBytes: 64 << 10,
		DisableCompression:     true, // keep the body as sent, no gzip bombs
		MaxIdleConns:           256,
		MaxIdleConnsPerHost:    64,
		IdleConnTimeout:        90 * time.Second,
	}
	return &Client{
		hc: &http.Client{
			Transport: transport,
			Timeout:   opts.Timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse // a 30x is the answer, not a hop
			},
		},
		keepBody:  opts.KeepBody,
		drainMax:  opts.DrainMax,
		userAgent: opts.UserAgent,
	}
}

// ValidateURL parses raw and checks that it is an absolute http or https
// URL with a host. It does not resolve or check the address: that happens
// at dial time.
func ValidateURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%w: %q", ErrUnsupportedScheme, u.Scheme)
	}
	if u.Host == "" || u.Hostname() == "" {
		return nil, fmt.Errorf("%w: no host in %q", ErrInvalidURL, raw)
	}
	return u, nil
}

// Post sends body to rawURL with the given headers and reads a bounded
// part of the answer. A non-2xx answer (including a redirect, which is not
// followed) is not an error: the caller judges StatusCode and Body. The
// error is non-nil when no complete answer arrived; a refused address
// gives an error wrapping *BlockedAddressError, a timeout one whose
// Timeout method reports true.
func (c *Client) Post(ctx context.Context, rawURL string, header http.Header, body []byte) (Response, error) {
	u, err := ValidateURL(rawURL)
	if err != nil {
		return Response{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return Response{}, fmt.Errorf("%w: %v", ErrInvalidURL, err)
	}
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", c.userAgent)
	}

	start := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		return Response{Latency: time.Since(start)}, err
	}
	defer resp.Body.Close()
	r := Response{StatusCode: resp.StatusCode}

	kept, err := io.ReadAll(io.LimitReader(resp.Body, int64(c.keepBody)))
	r.Body = kept
	if err != nil {
		r.Latency = time.Since(start)
		return r, err
	}
	if len(kept) == c.keepBody {
		// Discard a bounded remainder so the connection can be reused;
		// if there is still more, Close drops the connection.
		n, err := io.Copy(io.Discard, io.LimitReader(resp.Body, c.drainMax))
		r.Truncated = n > 0
		if err != nil {
			r.Latency = time.Since(start)
			return r, err
		}
	}
	r.Latency = time.Since(start)
	return r, nil
}
