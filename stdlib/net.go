package stdlib

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/ntx-dev/ntx/engine/metrics"
)

// Net hands out HTTP clients and dialers bound to source addresses. Each
// source address gets its own http.Transport, because Go pools
// connections by destination only: a shared transport would send one
// user's request over another user's connection, from the wrong address.
type Net struct {
	// MaxIdlePerAddr sizes each transport's idle pool: the number of
	// users that may share one source address.
	MaxIdlePerAddr int

	mu         sync.Mutex
	transports map[transportKey]http.RoundTripper
	clients    map[clientKey]*retryablehttp.Client
	std        []*http.Transport
	fast       []*fastTransport
	conns      connSet
}

type transportKey struct {
	src       netip.Addr
	tlsVerify bool
}

type clientKey struct {
	transportKey
	retries int
}

// NewNet returns an empty set of transports.
func NewNet() *Net {
	return &Net{MaxIdlePerAddr: 1024, transports: map[transportKey]http.RoundTripper{}, clients: map[clientKey]*retryablehttp.Client{}}
}

// Dialer returns a dialer bound to src (unbound for the zero address).
func Dialer(src netip.Addr) *net.Dialer {
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: bindControl}
	if src.IsValid() {
		d.LocalAddr = &net.TCPAddr{IP: src.AsSlice()}
	}
	return d
}

// Client returns the retryablehttp client for src with retries set up
// for load: no logging, no retries unless asked, and every attempt's
// response kept (see attemptPolicy).
func (n *Net) Client(src netip.Addr, retries int, tlsVerify bool) *retryablehttp.Client {
	key := clientKey{transportKey{src, tlsVerify}, retries}
	n.mu.Lock()
	defer n.mu.Unlock()
	if c, ok := n.clients[key]; ok {
		return c
	}
	t, ok := n.transports[key.transportKey]
	if !ok {
		fast := newFastTransport(src, n.MaxIdlePerAddr, &n.conns)
		n.fast = append(n.fast, fast)
		t = &schemeTransport{plain: fast, secure: func() http.RoundTripper { return n.secure(src, tlsVerify) }}
		n.transports[key.transportKey] = t
	}
	c := &retryablehttp.Client{
		HTTPClient: &http.Client{Transport: t, CheckRedirect: nil},
		Logger:     nil,
		RetryMax:   retries,
		// A load test measures each attempt; retries, when asked for, come
		// quickly rather than backing off for seconds.
		RetryWaitMin: 10 * time.Millisecond,
		RetryWaitMax: 200 * time.Millisecond,
		CheckRetry:   attemptPolicy,
		Backoff:      retryablehttp.DefaultBackoff,
		// Keep the last response (and its status) instead of an opaque
		// "giving up" error.
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
	}
	n.clients[key] = c
	return c
}

// secure makes the net/http transport for HTTPS from src. It is made on
// the first HTTPS request only: most runs have none, and a transport and
// its TLS settings per source address add up at thousands of addresses.
func (n *Net) secure(src netip.Addr, tlsVerify bool) http.RoundTripper {
	t := &http.Transport{
		DialContext:         Dialer(src).DialContext,
		MaxIdleConnsPerHost: n.MaxIdlePerAddr,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		// Force HTTP/1.1: with h2 every user would share one connection.
		TLSNextProto:          map[string]func(string, *tls.Conn) http.RoundTripper{},
		TLSClientConfig:       &tls.Config{InsecureSkipVerify: !tlsVerify}, //nolint:gosec // the scenario asked for it
		ExpectContinueTimeout: time.Second,
	}
	n.mu.Lock()
	n.std = append(n.std, t)
	n.mu.Unlock()
	return t
}

// Close closes every connection: requests still in flight fail at once.
// The runtime calls it when a run's in-flight work is cancelled.
func (n *Net) Close() {
	n.conns.closeAll()
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, t := range n.std {
		t.CloseIdleConnections()
	}
	for _, t := range n.fast {
		t.closeIdle()
	}
}

// attempts tracks one request's attempts through go-retryablehttp, which
// otherwise reports only the last one.
type attempts struct {
	max     int // retries allowed
	done    int
	start   time.Time
	onRetry func(resp *http.Response, err error, latency time.Duration)
}

type attemptsKey struct{}

// attemptPolicy is the CheckRetry of every client: the default policy,
// but it also records each attempt that will be retried, and says "stop"
// on the last allowed attempt so that retryablehttp does not treat a
// final 5xx as a failure and close every idle connection of the transport.
func attemptPolicy(ctx context.Context, resp *http.Response, err error) (bool, error) {
	a, _ := ctx.Value(attemptsKey{}).(*attempts)
	if a == nil || a.done >= a.max {
		return false, nil
	}
	retry, perr := retryablehttp.DefaultRetryPolicy(ctx, resp, err)
	if !retry || perr != nil {
		return false, nil
	}
	a.done++
	if a.onRetry != nil {
		a.onRetry(resp, err, time.Since(a.start))
	}
	a.start = time.Now()
	return true, nil
}

// classify names the kind of a network error, for the error counters.
func classify(err error) metrics.Kind {
	var ne net.Error
	var dns *net.DNSError
	var tlsErr *tls.CertificateVerificationError
	var rec tls.RecordHeaderError
	switch {
	case err == nil:
		return metrics.KindNone
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return metrics.KindTimeout
	case errors.Is(err, context.Canceled):
		return metrics.KindCancelled
	case errors.Is(err, syscall.ECONNREFUSED):
		return metrics.KindRefused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ECONNABORTED):
		return metrics.KindReset
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return metrics.KindBind
	case errors.As(err, &dns):
		return metrics.KindDNS
	case errors.As(err, &tlsErr), errors.As(err, &rec):
		return metrics.KindTLS
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return metrics.KindEOF
	case errors.As(err, &ne) && ne.Timeout():
		return metrics.KindTimeout
	case errors.As(err, new(*protocolError)), strings.Contains(err.Error(), "malformed HTTP"):
		return metrics.KindProtocol
	}
	return metrics.KindOther
}

// describe turns a network error into the message a user should see. A
// source address missing from the host gets the fix spelled out.
func describe(err error, src netip.Addr) string {
	if errors.Is(err, syscall.EADDRNOTAVAIL) && src.IsValid() {
		bits := 32
		if src.Is6() {
			bits = 128
		}
		return fmt.Sprintf("source address %s is not on this host: add it with `ip addr add %s/%d dev lo`", src, src, bits)
	}
	return err.Error()
}
