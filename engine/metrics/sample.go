package metrics

import (
	"net/netip"
	"strconv"
	"time"
)

// Kind says why a measured call failed. The empty Kind means it did not.
// Kinds are the keys of an action's "errors" in the results, so their
// spelling is part of the output format.
type Kind string

// The error kinds. Transports classify network errors into the first
// group; the built-ins add the ones about answers and scripts.
const (
	// KindNone is the Kind of a call that succeeded.
	KindNone Kind = ""

	KindRefused  Kind = "refused"   // the peer refused the connection
	KindReset    Kind = "reset"     // the connection was reset or broken
	KindTimeout  Kind = "timeout"   // a deadline passed
	KindEOF      Kind = "eof"       // the peer closed before answering
	KindProtocol Kind = "protocol"  // the answer did not parse
	KindTLS      Kind = "tls"       // the handshake or a certificate failed
	KindDNS      Kind = "dns"       // a name did not resolve
	KindTooLarge Kind = "too_large" // the answer exceeded a read limit
	KindDecode   Kind = "decode"    // the body did not decode by its Content-Encoding
	KindProxy    Kind = "proxy"     // the HTTP proxy refused or failed the request
	KindFDLimit  Kind = "fd_limit"  // the process ran out of file descriptors
	KindBind     Kind = "bind"      // the source address could not be bound
	KindOther    Kind = "other"     // a network error of no known kind

	KindStatus4xx Kind = "status_4xx" // an HTTP answer with a 4xx status
	KindStatus5xx Kind = "status_5xx" // an HTTP answer with a 5xx status
	KindStatus    Kind = "status"     // a status other than the one expected
	KindAssert    Kind = "assert"     // an assertion on the answer failed
	KindExpect    Kind = "expect"     // a socket answer lacked what was expected
	KindError     Kind = "error"      // a custom action raised an error
	KindNotOK     Kind = "not_ok"     // a custom action returned a failed result

	// KindNoAddress: the call was never made, for want of a source
	// address. It is counted, but has no latency.
	KindNoAddress Kind = "no-address"
	// KindCancelled: the run ended while the call was in flight. It is
	// counted, but its latency says nothing about the target.
	KindCancelled Kind = "cancelled"
)

// StatusKind is the Kind of an HTTP answer counted as failed because of
// its status class: status_4xx, status_5xx (or status_3xx for a redirect
// that was not followed).
func StatusKind(code int) Kind {
	switch code / 100 {
	case 4:
		return KindStatus4xx
	case 5:
		return KindStatus5xx
	}
	return Kind("status_" + strconv.Itoa(code/100) + "xx")
}

// Measured reports whether a failure of this kind has a latency worth
// recording: a call never made, or cut short by the end of the run, has
// none.
func (k Kind) Measured() bool { return k != KindNoAddress && k != KindCancelled }

// Sample is one measured call.
type Sample struct {
	Name      string // the metric name: name=, else the action id, else "METHOD /path"
	Kind      string // the call: http, tcp, udp or custom
	Source    netip.Addr
	Start     time.Time
	Latency   time.Duration
	Status    int    // HTTP status, 0 otherwise
	OK        bool   //
	ErrKind   Kind   // KindNone when OK
	Err       string // the error text, for the first few of each kind
	BytesSent int64
	BytesRecv int64
	// Timed says Timings holds the phases of this call (HTTP); a phase
	// that did not happen (no DNS lookup, a reused connection) is 0.
	Timed   bool
	Timings [NumPhases]time.Duration
}

// Phase is one timing phase of an HTTP call.
type Phase int

// The timing phases of an HTTP call, in the order they happen.
const (
	PhaseDNS Phase = iota
	PhaseConnect
	PhaseTLS
	PhaseSend
	PhaseWait // from the request sent to the first byte of the answer
	PhaseReceive
	NumPhases
)

// Phases are the phases' names, as thresholds and the results spell them.
var Phases = [NumPhases]string{"dns", "connect", "tls", "send", "wait", "receive"}

// Sink receives Samples and check results. It must be safe for
// concurrent use: every user's thread calls it. Record must not keep s
// after it returns: the caller reuses it.
type Sink interface {
	Record(s *Sample)
	Check(name string, ok bool)
}
