package transport

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"syscall"

	"github.com/ntx-dev/ntx/engine/metrics"
)

// TooLargeError is an answer that crossed a read limit: max_response for
// a body or a socket reply, MaxHeaderBytes for a response header block.
// What came after the limit was not read.
type TooLargeError struct {
	What  string // "response body", "response headers", "reply"
	Limit int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%s larger than %d bytes (max_response)", e.What, e.Limit)
}

// ProtocolError is an answer that is not valid HTTP/1.1.
type ProtocolError struct{ Err error }

func (e *ProtocolError) Error() string { return "invalid HTTP response: " + e.Err.Error() }
func (e *ProtocolError) Unwrap() error { return e.Err }

// Classify names the kind of a failed call's error, for the error
// counters. Errors of the run's own ending are KindCancelled; a caller
// that knows the run ended should say so whatever the error.
func Classify(err error) metrics.Kind {
	var ne net.Error
	var dns *net.DNSError
	var tlsVerify *tls.CertificateVerificationError
	var tlsRecord tls.RecordHeaderError
	var tlsAlert tls.AlertError
	var unknownAuth x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var tooLarge *TooLargeError
	var proto *ProtocolError
	var decode *DecodeError
	var proxy *ProxyError
	var tlsErr *TLSError
	var op *net.OpError
	switch {
	case err == nil:
		return metrics.KindNone
	case errors.As(err, &tooLarge):
		return metrics.KindTooLarge
	case errors.As(err, &decode):
		return metrics.KindDecode
	case errors.As(err, &proxy):
		return metrics.KindProxy
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return metrics.KindTimeout
	case errors.Is(err, context.Canceled):
		return metrics.KindCancelled
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		return metrics.KindFDLimit
	case errors.Is(err, syscall.ECONNREFUSED):
		return metrics.KindRefused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ECONNABORTED):
		return metrics.KindReset
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return metrics.KindBind
	case errors.As(err, &dns):
		return metrics.KindDNS
	case errors.As(err, &tlsErr), errors.As(err, &op) && (op.Op == "remote error" || op.Op == "local error"):
		return metrics.KindTLS
	case errors.As(err, &tlsVerify), errors.As(err, &tlsRecord), errors.As(err, &tlsAlert),
		errors.As(err, &unknownAuth), errors.As(err, &hostname):
		return metrics.KindTLS
	case errors.As(err, &proto):
		return metrics.KindProtocol
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return metrics.KindEOF
	case errors.As(err, &ne) && ne.Timeout():
		return metrics.KindTimeout
	}
	return metrics.KindOther
}

// Describe turns a network error into the message a user should see. A
// source address missing from the host gets the fix spelled out.
func Describe(err error, src netip.Addr) string {
	if errors.Is(err, syscall.EADDRNOTAVAIL) && src.IsValid() {
		bits := 32
		if src.Is6() {
			bits = 128
		}
		return fmt.Sprintf("source address %s is not on this host: add it with `ip addr add %s/%d dev lo`", src, src, bits)
	}
	if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
		return "out of file descriptors (raise `ulimit -n`, or run fewer users): " + err.Error()
	}
	return err.Error()
}
