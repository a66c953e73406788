// Package httpx is the HTTP plumbing shared by every face: request ids and
// the log handler that carries them, access logs, panic recovery, body
// limits, JSON encoding and the caller's IP address. It knows nothing of
// any wire format.
package httpx

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// MaxBody is the largest request body any face accepts.
const MaxBody = 64 << 10

// ErrBodyTooLarge reports a body over MaxBody.
var ErrBodyTooLarge = errors.New("request body is larger than 64 KiB")

type ctxKey int

const requestIDKey ctxKey = 1

// RequestID returns the request id stored in ctx, or "".
func RequestID(ctx context.Context) string {
	s, _ := ctx.Value(requestIDKey).(string)
	return s
}

// WithRequestID returns ctx carrying id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey, id)
}

// NewRequestID returns a fresh random request id.
func NewRequestID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// validRequestID accepts a caller's X-Request-Id only when it is short and
// plain, so that it cannot inject anything into logs.
func validRequestID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// LogHandler wraps a slog.Handler so that every record logged with a
// context carrying a request id gets a request_id attribute.
type LogHandler struct{ slog.Handler }

// Handle adds the request id from ctx, then passes the record on.
func (h LogHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

// WithAttrs keeps the wrapper around the derived handler.
func (h LogHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return LogHandler{h.Handler.WithAttrs(as)}
}

// WithGroup keeps the wrapper around the derived handler.
func (h LogHandler) WithGroup(name string) slog.Handler {
	return LogHandler{h.Handler.WithGroup(name)}
}

// StatusWriter records the status and size of a response.
type StatusWriter struct {
	http.ResponseWriter
	Status int
	Bytes  int64
}

// WriteHeader records the status.
func (w *StatusWriter) WriteHeader(code int) {
	if w.Status == 0 {
		w.Status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write records the size (and an implicit 200).
func (w *StatusWriter) Write(b []byte) (int, error) {
	if w.Status == 0 {
		w.Status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.Bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *StatusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Observer is told about every finished request: its route pattern (as
// matched by http.ServeMux, "" when none matched), status and duration.
type Observer func(route string, status int, d time.Duration)

// Middleware gives every request an id (the caller's X-Request-Id when it is
// plain, else a new one, echoed in the response), recovers panics as a
// generic 500, writes one access-log line without the query string (it may
// carry keys), and tells observe about the request.
func Middleware(logger *slog.Logger, observe Observer, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !validRequestID(id) {
			id = NewRequestID()
		}
		w.Header().Set("X-Request-Id", id)
		ctx := WithRequestID(r.Context(), id)
		r = r.WithContext(ctx)
		sw := &StatusWriter{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				logger.ErrorContext(ctx, "panic", "panic", v, "method", r.Method, "path", r.URL.Path)
				if sw.Status == 0 {
					WriteJSON(sw, http.StatusInternalServerError, map[string]any{"status": 500, "message": "Internal server error"})
				}
			}
			status := sw.Status
			if status == 0 {
				status = http.StatusOK
			}
			d := time.Since(start)
			if observe != nil {
				observe(r.Pattern, status, d)
			}
			logger.LogAttrs(ctx, slog.LevelInfo, "request",
				slog.String("method", r.Method), slog.String("path", r.URL.Path),
				slog.Int("status", status), slog.Int64("bytes", sw.Bytes),
				slog.Duration("duration", d))
		}()
		next.ServeHTTP(sw, r)
	})
}

// ReadBody reads the whole request body, refusing more than MaxBody with
// ErrBodyTooLarge.
func ReadBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, ErrBodyTooLarge
	}
	return b, err
}

// WriteJSON writes v as JSON with status, without escaping HTML characters
// (the wire formats we serve do not).
func WriteJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		http.Error(w, `{"status":500,"message":"Internal server error"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(bytes.TrimRight(buf.Bytes(), "\n"))
}

// ClientIP returns the caller's address: the connection's peer, or, when
// the peer is a trusted proxy, the right-most address in X-Forwarded-For
// that is not itself a trusted proxy.
func ClientIP(r *http.Request, trusted []netip.Prefix) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	peer = peer.Unmap()
	if !contains(trusted, peer) {
		return peer
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return peer
		}
		a = a.Unmap()
		if !contains(trusted, a) {
			return a
		}
	}
	return peer
}

func contains(ps []netip.Prefix, a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
