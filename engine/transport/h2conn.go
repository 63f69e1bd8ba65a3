package transport

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/ntx-dev/ntx/engine/metrics"
)

// HTTP/2 runs on the goroutine of the request, as HTTP/1.1 does: a
// user's connection is never shared and its user sends one request at a
// time, so a connection has at most one stream open and needs no read
// loop of its own. x/net's ClientConn hands every request to its
// connection's reader goroutine and the answer back, two hand-offs that
// cost more than the request's own work; here the request writes its
// HEADERS (and DATA) and reads frames until its stream ends, answering
// the connection's SETTINGS, PINGs and flow control on the way.
//
// x/net's Framer does the framing and hpack the header compression; this
// file is the state machine of one client connection around them. The
// answer's header block goes to hpack's decoder frame by frame, into
// fields the connection keeps from one answer to the next: the Framer's
// ReadMetaHeaders would do the same with a frame, a closure, four
// variables and a growing slice of fields made anew for every answer,
// more than half of what a request allocated.

// The windows and sizes this client announces and enforces.
const (
	// h2StreamWindow is the receive window of each stream
	// (SETTINGS_INITIAL_WINDOW_SIZE). Data is read as it comes, so the
	// window costs no memory here: it is how much the server may send
	// before waiting for a WINDOW_UPDATE.
	h2StreamWindow = 1 << 20
	// h2ConnWindow is the connection's receive window.
	h2ConnWindow = 8 << 20
	// h2MaxReadFrame is the largest frame read: the protocol's default
	// SETTINGS_MAX_FRAME_SIZE, which this client does not raise, so that
	// a frame costs at most 16 KiB of buffer.
	h2MaxReadFrame = 16 << 10
	// h2MaxInterim bounds the 1xx answers skipped before the final one.
	h2MaxInterim = 8
)

// Frames are read and written through buffers held only while a request
// runs; an idle connection keeps a read buffer only when it still holds
// bytes of frames not yet read.
var (
	h2Readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4096) }}
	h2Writers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 4096) }}
)

// h2conn is a user's HTTP/2 client connection over one of ntx's sockets.
// Only the goroutine of the request in progress touches its state;
// close, which may come from anywhere (the user ending, the run's end),
// only closes the socket.
type h2conn struct {
	c  *conn
	fr *http2.Framer
	br *bufio.Reader // the framer's input while held (see h2Readers)
	bw *bufio.Writer // the framer's output while held

	enc   *hpack.Encoder
	dec   *hpack.Decoder
	blk   h2block      // the header block being read
	block bytes.Buffer // the last header block encoded
	// last are the fields of that block, and indexedOnly says it is all
	// indexed fields (see encode).
	last        []hpack.HeaderField
	indexedOnly bool
	fields      []hpack.HeaderField // the request's fields, before encoding
	raw         []byte              // the response's header block being written
	lower       map[string]string   // header names lowered, by name as given

	preface  bool   // the client preface is still to be sent
	settings bool   // the server's SETTINGS (its preface) arrived
	nextID   uint32 // the next stream's identifier
	// What the server's SETTINGS allow.
	maxFrame      uint32 // the largest frame written: what it reads, up to 16 KiB
	maxHeaderList uint32 // the largest header list it takes; 0: no limit
	initWindow    int64  // a new stream's send window
	// sendWindow is what the connection may send; recvWindow what the
	// server may still send before a WINDOW_UPDATE, and recvUnacked
	// what was read and not yet given back.
	sendWindow, recvWindow, recvUnacked int64

	// idleSince is when the last request ended; idleTimeout the
	// transport's IdleTimeout.
	idleSince   time.Time
	idleTimeout time.Duration

	goAway   bool      // the server said it takes no more streams
	broken   bool      // an I/O or protocol error: no more requests
	deadline time.Time // the deadline set on the socket, not set again while unchanged
}

// newH2 starts HTTP/2 on a connection just made (h2 by ALPN, or h2c).
// Nothing is written yet: the preface leaves with the first request's
// HEADERS, in the same packet.
func (s *Source) newH2(c *conn) (*h2conn, error) {
	hc := &h2conn{
		c:           c,
		preface:     true,
		nextID:      1,
		maxFrame:    16384,
		initWindow:  65535,
		sendWindow:  65535,
		recvWindow:  h2ConnWindow,
		deadline:    aLongTimeAgo, // unknown: the first request sets its own
		idleTimeout: s.t.opts.IdleTimeout,
	}
	hc.fr = http2.NewFramer(h2Out{hc}, h2In{hc})
	hc.fr.SetReuseFrames()
	hc.fr.SetMaxReadFrameSize(h2MaxReadFrame)
	hc.dec = hpack.NewDecoder(4096, hc.emit)
	hc.dec.SetMaxStringLength(MaxHeaderBytes)
	hc.enc = hpack.NewEncoder(&hc.block)
	return hc, nil
}

// h2block is a header block being read: HEADERS and its CONTINUATION
// frames, decoded as they come (hpack's decoder keeps a field cut
// between two frames for the next).
type h2block struct {
	stream    uint32
	endStream bool // the HEADERS frame ends the stream
	fields    []hpack.HeaderField
	size      int64 // the list's size, as SETTINGS_MAX_HEADER_LIST_SIZE counts it
	wire      int64 // the block's bytes so far
	regular   bool  // a regular field came: no pseudo-field may follow
	over      bool  // the list went past MaxHeaderBytes: its fields are dropped
	err       error // the first malformed field
}

// emit takes a field from the decoder: checked, counted, and kept unless
// the list is over its limit or malformed (RFC 9113 §8.2, §8.3).
func (hc *h2conn) emit(hf hpack.HeaderField) {
	b := &hc.blk
	if b.over || b.err != nil {
		return
	}
	if b.size += int64(hf.Size()); b.size > MaxHeaderBytes {
		b.over = true
		clear(b.fields)
		b.fields = b.fields[:0]
		return
	}
	switch {
	case !httpguts.ValidHeaderFieldValue(hf.Value):
		b.err = fmt.Errorf("invalid value in header field %q", hf.Name)
	case hf.IsPseudo():
		if b.regular || hf.Name != ":status" || len(b.fields) > 0 {
			b.err = fmt.Errorf("pseudo-header field %q misplaced or not of an answer", hf.Name)
		}
	default:
		b.regular = true
		if !validFieldName(hf.Name) {
			b.err = fmt.Errorf("invalid header field name %q", hf.Name)
		}
	}
	if b.err == nil {
		b.fields = append(b.fields, hf)
	}
}

// validFieldName reports whether an HTTP/2 field name is a token in
// lower case.
func validFieldName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; 'A' <= c && c <= 'Z' || !httpguts.IsTokenRune(rune(c)) {
			return false
		}
	}
	return true
}

// h2In and h2Out are the framer's reader and writer: the connection's
// buffers of the moment, which the framer cannot be given once for all.
type (
	h2In  struct{ hc *h2conn }
	h2Out struct{ hc *h2conn }
)

func (r h2In) Read(p []byte) (int, error)   { return r.hc.br.Read(p) }
func (w h2Out) Write(p []byte) (int, error) { return w.hc.bw.Write(p) }

// usable reports whether the connection can take another request.
func (hc *h2conn) usable() bool {
	if hc.broken || hc.goAway || hc.nextID >= 1<<31 {
		return false
	}
	if hc.idleSince.IsZero() {
		return true // not used yet
	}
	switch idle := time.Since(hc.idleSince); {
	case idle >= hc.idleTimeout:
		return false // as an idle HTTP/1.1 connection is closed
	case idle >= h2IdleCheck && hc.br == nil && hc.c.peeker != nil:
		// A server closes a connection left idle, with a GOAWAY first or
		// not: either waits on the socket. Found now, it costs no failed
		// attempt; back-to-back requests do not pay the look. Any other
		// frame waiting (a PING, a late WINDOW_UPDATE) also retires the
		// connection, at the price of a new one: over TLS the bytes
		// cannot be told apart without reading them. The last request's deadline, long past
		// for a user that thought longer than its timeout, would fail
		// the look: it goes first.
		if !hc.deadline.IsZero() {
			_ = hc.c.sock.SetDeadline(time.Time{})
			hc.deadline = time.Time{}
		}
		return hc.c.peeker.intact()
	}
	return true
}

// maxControlFrames is how many PING, SETTINGS and unknown frames one
// request reads before the connection is given up (ENHANCE_YOUR_CALM):
// far more than a server sends, few enough to end a flood at once.
const maxControlFrames = 1000

// h2IdleCheck is how long a connection sits idle before it is looked at
// (a non-blocking peek at its socket) before the next request.
const h2IdleCheck = time.Second

func (hc *h2conn) close() { hc.c.close() }

// acquire gives the connection its buffers for a request.
func (hc *h2conn) acquire() {
	if hc.br == nil {
		hc.br = h2Readers.Get().(*bufio.Reader)
		hc.br.Reset(hc.c)
	}
	hc.bw = h2Writers.Get().(*bufio.Writer)
	hc.bw.Reset(hc.c)
}

// release gives the buffers back after a request, and notes when it
// ended. The read buffer stays when it holds the start of frames the
// next request will read.
func (hc *h2conn) release(clock *PhaseClock) {
	hc.bw.Reset(nil)
	h2Writers.Put(hc.bw)
	hc.bw = nil
	if hc.broken || hc.br.Buffered() == 0 {
		hc.br.Reset(nil)
		h2Readers.Put(hc.br)
		hc.br = nil
	}
	clear(hc.fields)
	hc.fields = hc.fields[:0]
	clear(hc.blk.fields)
	hc.blk.fields = hc.blk.fields[:0]
	if cap(hc.raw) > 4096 {
		hc.raw = nil // a large header block is not kept for the next
	}
	if hc.idleSince.Before(clock.last) {
		hc.idleSince = time.Now() // the request failed: ended now
	}
}

// h2stream is the state of the one stream of a request.
type h2stream struct {
	id         uint32
	control    int    // PING, SETTINGS and unknown frames read during the request
	body       []byte // of the request, left to send
	sendWindow int64
	// recvWindow is what the server may still send on the stream,
	// recvUnacked what was read and not yet given back.
	recvWindow, recvUnacked int64
	sentEnd                 bool // the request is all sent (END_STREAM)
	sendMarked              bool // the send phase is timed
	head                    bool // a HEAD request: no body comes
	interim                 int  // 1xx answers skipped
	gotHeaders              bool // the final answer's HEADERS came
	ended                   bool // the answer is whole (END_STREAM)

	// The answer's body.
	length int64 // content-length; -1 when not given
	limit  int64
	keep   bool
	got    int64
	kept   chunked
	buf    *[]byte // the request's Buf, when the body went into its room
	inBuf  bool
}

// roundTrip2 sends h on hc and reads the answer into resp. arrived says
// whether any of the answer came; hc.broken says whether the connection
// must be closed.
func (s *Source) roundTrip2(ctx context.Context, hc *h2conn, req *Request, h *hop, deadline time.Time, resp *Response) (arrived bool, err error) {
	sock := hc.c.sock
	if !deadline.Equal(hc.deadline) {
		_ = sock.SetDeadline(deadline)
		hc.deadline = deadline
	}
	if ctx.Done() != nil && ctx != s.t.closesWith {
		// The end of ctx interrupts the exchange (see roundTrip).
		stop := context.AfterFunc(ctx, func() { _ = sock.SetDeadline(aLongTimeAgo) })
		defer func() {
			if !stop() {
				hc.broken = true // its deadline is in the past now
			}
		}()
	}
	var clock PhaseClock
	clock.Start(&resp.Timings)
	hc.acquire()
	defer hc.release(&clock)

	st := h2stream{id: hc.nextID, body: h.body, sendWindow: hc.initWindow, recvWindow: h2StreamWindow,
		head: h.method == http.MethodHead, length: -1, limit: req.MaxResponse, keep: keepBody(req), buf: &req.Buf}
	if st.limit <= 0 {
		st.limit = DefaultMaxResponse
	}
	if err := hc.writeHeaders(s, req, h, &st); err != nil {
		return false, err
	}
	for {
		if !st.sentEnd && !st.ended {
			hc.writeBody(&st)
		}
		if hc.bw.Buffered() > 0 {
			if err := hc.bw.Flush(); err != nil {
				hc.broken = true
				return st.gotHeaders, err
			}
		}
		if st.sentEnd && !st.sendMarked {
			st.sendMarked = true
			clock.Mark(metrics.PhaseSend)
		}
		if st.ended {
			break
		}
		err := hc.next(&st, resp, req, &clock)
		if err != nil {
			if !hc.broken && !st.ended {
				// Only the stream failed: the server is told to stop it
				// and the connection goes on.
				_ = hc.fr.WriteRSTStream(st.id, http2.ErrCodeCancel)
			}
			if hc.bw.Buffered() > 0 && hc.bw.Flush() != nil {
				hc.broken = true
			}
			return st.gotHeaders, err
		}
	}
	if !st.sentEnd {
		// The answer came whole before the body was all sent: the rest
		// is not needed (RFC 9113 §8.1).
		_ = hc.fr.WriteRSTStream(st.id, http2.ErrCodeCancel)
	}
	// Frames that came with the answer (a GOAWAY, a PING, SETTINGS) are
	// handled now, while they cost no wait: a GOAWAY found here spares
	// the next request a failed attempt on this connection.
	for hc.frameBuffered() {
		if err := hc.next(&st, resp, req, &clock); err != nil && hc.broken {
			break
		}
	}
	if hc.bw.Buffered() > 0 && hc.bw.Flush() != nil {
		hc.broken = true
	}
	if st.keep {
		resp.Body = st.kept.bytes()
		if resp.Body == nil {
			resp.Body = []byte{}
		}
		if st.inBuf {
			*st.buf = (*st.buf)[:len(*st.buf)+len(resp.Body)]
		}
	}
	resp.BodySize = st.got
	hc.idleSince = clock.Mark(metrics.PhaseReceive)
	return true, nil
}

// next reads and handles one frame.
func (hc *h2conn) next(st *h2stream, resp *Response, req *Request, clock *PhaseClock) error {
	f, err := hc.fr.ReadFrame()
	if err != nil {
		return hc.readError(err, st)
	}
	return hc.process(f, st, resp, req, clock)
}

// frameBuffered reports whether a whole frame is in the read buffer.
func (hc *h2conn) frameBuffered() bool {
	b, err := hc.br.Peek(min(hc.br.Buffered(), 9))
	if err != nil || len(b) < 9 {
		return false
	}
	if (b[3] == byte(http2.FrameHeaders) || b[3] == byte(http2.FramePushPromise)) && b[4]&byte(http2.FlagHeadersEndHeaders) == 0 {
		return false // its CONTINUATION frames may not be here yet
	}
	n := int(b[0])<<16 | int(b[1])<<8 | int(b[2])
	return hc.br.Buffered() >= 9+n
}

// ours reports whether a frame of stream id belongs to st's answer, and
// fails the connection when the server sends on a stream that was never
// opened (it may not open any: push is off).
func (hc *h2conn) ours(id uint32, st *h2stream) (bool, error) {
	if id == st.id && !st.ended {
		return true, nil
	}
	if id%2 == 0 || id >= hc.nextID {
		return false, hc.connError(http2.ErrCodeProtocol, fmt.Sprintf("a frame on stream %d, which was never opened", id))
	}
	return false, nil // a stream given up or ended earlier
}

// writeHeaders writes the preface when the connection is new, then the
// request's HEADERS (and CONTINUATION) frames, opening st's stream.
func (hc *h2conn) writeHeaders(s *Source, req *Request, h *hop, st *h2stream) error {
	fields, size := hc.requestFields(s, req, h)
	if hc.maxHeaderList > 0 && size > int64(hc.maxHeaderList) {
		return &ProtocolError{fmt.Errorf("the request's header list (%d bytes) is over the server's SETTINGS_MAX_HEADER_LIST_SIZE (%d)", size, hc.maxHeaderList)}
	}
	if hc.preface {
		hc.preface = false
		_, _ = hc.bw.WriteString(http2.ClientPreface)
		_ = hc.fr.WriteSettings(
			http2.Setting{ID: http2.SettingEnablePush, Val: 0},
			http2.Setting{ID: http2.SettingInitialWindowSize, Val: h2StreamWindow},
			http2.Setting{ID: http2.SettingMaxHeaderListSize, Val: MaxHeaderBytes},
		)
		_ = hc.fr.WriteWindowUpdate(0, h2ConnWindow-65535)
	}
	block := hc.encode(fields)
	hc.nextID += 2
	first := block[:min(len(block), int(hc.maxFrame))]
	block = block[len(first):]
	st.sentEnd = len(st.body) == 0
	err := hc.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: st.id, BlockFragment: first, EndStream: st.sentEnd, EndHeaders: len(block) == 0})
	for err == nil && len(block) > 0 {
		frag := block[:min(len(block), int(hc.maxFrame))]
		block = block[len(frag):]
		err = hc.fr.WriteContinuation(st.id, len(block) == 0, frag)
	}
	if err != nil {
		hc.broken = true
	}
	return err
}

// encode returns the request's header block. A user repeats its
// requests, and once the encoder's table holds their fields, each field
// is one byte naming its entry, and such a block leaves the table as it
// was: the block of fields the same as the last block's, which was all
// such bytes, is that block again, without the encoder's searches.
func (hc *h2conn) encode(fields []hpack.HeaderField) []byte {
	if hc.indexedOnly && len(fields) == len(hc.last) {
		same := true
		for i, f := range fields {
			if f.Name != hc.last[i].Name || f.Value != hc.last[i].Value {
				same = false
				break
			}
		}
		if same {
			return hc.block.Bytes()
		}
	}
	hc.block.Reset()
	for _, f := range fields {
		_ = hc.enc.WriteField(f)
	}
	block := hc.block.Bytes()
	// An indexed field (RFC 7541 §6.1) of an index below 127 is one byte
	// with its high bit set; every other representation is longer.
	hc.indexedOnly = len(block) == len(fields)
	for _, b := range block {
		if b&0x80 == 0 {
			hc.indexedOnly = false
			break
		}
	}
	clear(hc.last)
	hc.last = append(hc.last[:0], fields...)
	return block
}

// requestFields lists the request's header fields, pseudo-fields first,
// and the size of the list as SETTINGS_MAX_HEADER_LIST_SIZE counts it.
// The hop's headers are sent as given, less those HTTP/2 does not carry
// (RFC 9113 §8.2.2) and those the transport writes itself.
func (hc *h2conn) requestFields(s *Source, req *Request, h *hop) ([]hpack.HeaderField, int64) {
	fields := hc.fields[:0]
	add := func(name, value string) { fields = append(fields, hpack.HeaderField{Name: name, Value: value}) }
	host := h.host
	if host == "" {
		host = h.url.Host
	}
	path := h.url.Opaque
	if path == "" {
		path = h.url.EscapedPath()
		if path == "" {
			path = "/"
		}
	}
	if h.url.RawQuery != "" || h.url.ForceQuery {
		path += "?" + h.url.RawQuery
	}
	add(":method", h.method)
	add(":scheme", h.url.Scheme)
	add(":authority", host)
	add(":path", path)
	ua := false
	from := len(fields)
	for k, vs := range h.header { // checked by Request.Check
		switch {
		case asciiEqualFold(k, "Host"), asciiEqualFold(k, "Content-Length"), asciiEqualFold(k, "Transfer-Encoding"),
			asciiEqualFold(k, "Connection"), asciiEqualFold(k, "Keep-Alive"), asciiEqualFold(k, "Proxy-Connection"),
			asciiEqualFold(k, "Upgrade"):
			continue
		case asciiEqualFold(k, "Te"):
			// Only "trailers" may be sent (RFC 9113 §8.2.2).
			for _, v := range vs {
				if asciiEqualFold(strings.TrimSpace(v), "trailers") {
					add("te", "trailers")
					break
				}
			}
			continue
		case asciiEqualFold(k, "User-Agent"):
			ua = true
		case h.cookie != "" && asciiEqualFold(k, "Cookie"):
			continue // sent below, with the jar's
		}
		name := hc.lowerName(k)
		for _, v := range vs {
			add(name, v)
		}
	}
	if len(h.header) > 1 {
		// In one order whatever the map's: a request like the last one
		// has the last one's block (see encode). Values of one name
		// keep their order.
		slices.SortStableFunc(fields[from:], func(a, b hpack.HeaderField) int { return strings.Compare(a.Name, b.Name) })
	}
	if h.cookie != "" {
		add("cookie", h.cookie)
	}
	if !ua {
		add("user-agent", s.userAgent(req))
	}
	if len(h.body) > 0 || h.method == http.MethodPost || h.method == http.MethodPut || h.method == http.MethodPatch {
		add("content-length", strconv.Itoa(len(h.body)))
	}
	var size int64
	for _, f := range fields {
		size += int64(f.Size())
	}
	hc.fields = fields
	return fields, size
}

// lowerName returns a header name in lower case, as HTTP/2 sends them:
// the names a user sends are few, so each is lowered once per connection.
func (hc *h2conn) lowerName(k string) string {
	lower := true
	for i := 0; i < len(k); i++ {
		if 'A' <= k[i] && k[i] <= 'Z' {
			lower = false
			break
		}
	}
	if lower {
		return k
	}
	if v, ok := hc.lower[k]; ok {
		return v
	}
	v := strings.ToLower(k)
	if hc.lower == nil {
		hc.lower = map[string]string{}
	}
	if len(hc.lower) < 64 { // names made up per request are not kept
		hc.lower[k] = v
	}
	return v
}

// writeBody writes as much of the request body as the send windows and
// the server's frame size allow.
func (hc *h2conn) writeBody(st *h2stream) {
	for len(st.body) > 0 {
		n := min(int64(len(st.body)), int64(hc.maxFrame), hc.sendWindow, st.sendWindow)
		if n <= 0 {
			return // until a WINDOW_UPDATE
		}
		last := n == int64(len(st.body))
		if err := hc.fr.WriteData(st.id, last, st.body[:n]); err != nil {
			return // the writer's error comes back at its flush
		}
		hc.sendWindow -= n
		st.sendWindow -= n
		st.body = st.body[n:]
		st.sentEnd = last
	}
}

// process handles one frame read while st is open. It returns the error
// that ends the request, with hc.broken set when it ends the connection
// too.
func (hc *h2conn) process(f http2.Frame, st *h2stream, resp *Response, req *Request, clock *PhaseClock) error {
	if !hc.settings {
		if sf, ok := f.(*http2.SettingsFrame); !ok || sf.IsAck() {
			return hc.connError(http2.ErrCodeProtocol, "the server's first frame is not SETTINGS")
		}
		hc.settings = true
	}
	switch f.(type) {
	case *http2.PingFrame, *http2.SettingsFrame, *http2.UnknownFrame:
		// Each PING and SETTINGS asks for an answer written back: a
		// server that floods them would hold the request in a loop of
		// writes until its deadline.
		if st.control++; st.control > maxControlFrames {
			return hc.connError(http2.ErrCodeEnhanceYourCalm, fmt.Sprintf("the server sent more than %d PING, SETTINGS or unknown frames during one request", maxControlFrames))
		}
	}
	switch f := f.(type) {
	case *http2.DataFrame:
		return hc.data(f, st)
	case *http2.HeadersFrame:
		hc.blk = h2block{stream: f.StreamID, endStream: f.StreamEnded(), fields: hc.blk.fields[:0]}
		return hc.fragment(f.HeaderBlockFragment(), f.HeadersEnded(), st, resp, req, clock)
	case *http2.ContinuationFrame: // the Framer checks it follows its HEADERS
		return hc.fragment(f.HeaderBlockFragment(), f.HeadersEnded(), st, resp, req, clock)
	case *http2.SettingsFrame:
		if f.IsAck() {
			return nil
		}
		if err := f.ForeachSetting(func(set http2.Setting) error { return hc.apply(set, st) }); err != nil {
			return err
		}
		_ = hc.fr.WriteSettingsAck()
	case *http2.WindowUpdateFrame:
		inc := int64(f.Increment)
		switch f.StreamID {
		case 0:
			if hc.sendWindow += inc; hc.sendWindow > 1<<31-1 {
				return hc.connError(http2.ErrCodeFlowControl, "the server's WINDOW_UPDATE overflows the connection's window")
			}
		case st.id:
			if st.ended {
				break
			}
			if st.sendWindow += inc; st.sendWindow > 1<<31-1 {
				return &ProtocolError{errors.New("the server's WINDOW_UPDATE overflows the stream's window")}
			}
		}
	case *http2.PingFrame:
		if !f.IsAck() {
			_ = hc.fr.WritePing(true, f.Data)
		}
	case *http2.GoAwayFrame:
		hc.goAway = true
		if st.id > f.LastStreamID && !st.ended {
			// The server did not and will not process the request: it
			// may be sent again, on another connection.
			hc.broken = true
			return &h2Unprocessed{fmt.Errorf("%w: the server sent GOAWAY (%v, last stream %d%s) before answering stream %d",
				io.EOF, f.ErrCode, f.LastStreamID, goAwayDebug(f.DebugData()), st.id)}
		}
		// The stream goes on; the connection ends with it.
	case *http2.RSTStreamFrame:
		if mine, err := hc.ours(f.StreamID, st); !mine {
			return err
		}
		st.ended = true
		reset := &streamReset{http2.StreamError{StreamID: f.StreamID, Code: f.ErrCode}}
		if f.ErrCode == http2.ErrCodeRefusedStream {
			return &h2Unprocessed{reset}
		}
		return reset
	case *http2.PushPromiseFrame:
		return hc.connError(http2.ErrCodeProtocol, "the server sent PUSH_PROMISE with push disabled")
	}
	return nil
}

// apply applies one of the server's settings.
func (hc *h2conn) apply(set http2.Setting, st *h2stream) error {
	if err := set.Valid(); err != nil {
		return hc.connError(http2.ErrCodeProtocol, err.Error())
	}
	switch set.ID {
	case http2.SettingMaxFrameSize:
		// Frames are written no larger than 16 KiB whatever the server
		// takes: a TLS record holds no more, and the framer keeps the
		// buffer of the largest frame it wrote.
		hc.maxFrame = min(set.Val, 16384)
	case http2.SettingMaxHeaderListSize:
		hc.maxHeaderList = set.Val
	case http2.SettingHeaderTableSize:
		hc.enc.SetMaxDynamicTableSizeLimit(set.Val)
		hc.indexedOnly = false // the next block starts with the table's new size
	case http2.SettingInitialWindowSize:
		// The open stream's window moves by the change (RFC 9113 §6.9.2).
		delta := int64(set.Val) - hc.initWindow
		hc.initWindow = int64(set.Val)
		if st.sendWindow += delta; st.sendWindow > 1<<31-1 {
			return hc.connError(http2.ErrCodeFlowControl, "SETTINGS_INITIAL_WINDOW_SIZE overflows the stream's window")
		}
	}
	return nil
}

// data handles a DATA frame: it is counted against the receive windows
// whatever its stream, and its bytes go to the answer when it is st's.
func (hc *h2conn) data(f *http2.DataFrame, st *h2stream) error {
	n := int64(f.Length) // padding included: flow control counts it
	if n > hc.recvWindow {
		return hc.connError(http2.ErrCodeFlowControl, "the server sent more DATA than the connection's window")
	}
	hc.recvWindow -= n
	hc.recvUnacked += n
	if hc.recvUnacked >= h2ConnWindow/2 {
		// Given back in batches, not per frame.
		_ = hc.fr.WriteWindowUpdate(0, uint32(hc.recvUnacked))
		hc.recvWindow += hc.recvUnacked
		hc.recvUnacked = 0
	}
	if mine, err := hc.ours(f.StreamID, st); !mine {
		return err // nil for the rest of an answer given up earlier
	}
	if !st.gotHeaders {
		return hc.connError(http2.ErrCodeProtocol, "DATA before the answer's HEADERS")
	}
	if n > st.recvWindow {
		return hc.connError(http2.ErrCodeFlowControl, "the server sent more DATA than the stream's window")
	}
	st.recvWindow -= n
	st.recvUnacked += n
	b := f.Data()
	st.got += int64(len(b))
	switch {
	case st.got > st.limit:
		return &TooLargeError{What: "response body", Limit: st.limit}
	case st.length >= 0 && st.got > st.length || st.head && st.got > 0:
		return &ProtocolError{fmt.Errorf("the server sent more body than its content-length (%d)", st.length)}
	}
	if st.keep {
		st.kept.write(b)
	}
	if f.StreamEnded() {
		return hc.end(st)
	}
	if st.recvUnacked >= h2StreamWindow/2 {
		_ = hc.fr.WriteWindowUpdate(st.id, uint32(st.recvUnacked))
		st.recvWindow += st.recvUnacked
		st.recvUnacked = 0
	}
	return nil
}

// end closes st's answer: the body must be as long as announced.
func (hc *h2conn) end(st *h2stream) error {
	st.ended = true
	if st.length >= 0 && st.got < st.length && !st.head {
		return fmt.Errorf("%w: the stream ended after %d of the %d bytes of its content-length", io.ErrUnexpectedEOF, st.got, st.length)
	}
	return nil
}

// fragment decodes a piece of the header block, and handles the block
// when it is whole. A block that goes on far past the limit ends the
// connection: its end, which the decoder needs, may never come.
func (hc *h2conn) fragment(frag []byte, end bool, st *h2stream, resp *Response, req *Request, clock *PhaseClock) error {
	b := &hc.blk
	// A frame's 9-byte header counts too: a flood of empty
	// CONTINUATION frames reaches the limit like a long block.
	if b.wire += 9 + int64(len(frag)); b.wire > 2*MaxHeaderBytes {
		hc.broken = true
		hc.goingAway(http2.ErrCodeProtocol)
		return &TooLargeError{What: "response headers", Limit: MaxHeaderBytes}
	}
	if _, err := hc.dec.Write(frag); err != nil {
		return hc.connError(http2.ErrCodeCompression, err.Error())
	}
	if !end {
		return nil
	}
	if err := hc.dec.Close(); err != nil {
		return hc.connError(http2.ErrCodeCompression, err.Error())
	}
	return hc.headers(st, resp, req, clock)
}

// headers handles a whole header block: the answer's (after any 1xx), or
// its trailers, or one of a stream given up earlier (decoded, for the
// header table, and dropped). A block over the limit or malformed fails
// the stream alone: it was decoded to its end.
func (hc *h2conn) headers(st *h2stream, resp *Response, req *Request, clock *PhaseClock) error {
	b := &hc.blk
	if mine, err := hc.ours(b.stream, st); !mine {
		return err
	}
	switch {
	case b.over:
		return &TooLargeError{What: "response headers", Limit: MaxHeaderBytes}
	case b.err != nil:
		return &ProtocolError{b.err}
	}
	fields := b.fields
	if st.gotHeaders { // trailers: they end the stream, and are not kept
		if !b.endStream || len(fields) > 0 && fields[0].IsPseudo() {
			return &ProtocolError{errors.New("trailers without END_STREAM, or with a pseudo-header field")}
		}
		return hc.end(st)
	}
	if len(fields) == 0 || fields[0].Name != ":status" {
		return &ProtocolError{errors.New("an answer without :status")}
	}
	status, err := strconv.Atoi(fields[0].Value)
	if err != nil || status < 100 || status > 999 {
		return &ProtocolError{fmt.Errorf("invalid :status %q", fields[0].Value)}
	}
	fields = fields[1:]
	if status < 200 && status != http.StatusSwitchingProtocols {
		// An interim answer (100 Continue, 103 Early Hints): the real
		// one follows.
		if st.interim++; st.interim > h2MaxInterim || b.endStream {
			return &ProtocolError{fmt.Errorf("%d interim answers without a final one", st.interim)}
		}
		return nil
	}
	st.gotHeaders = true
	if !st.sendMarked { // answered before the request was all sent
		st.sendMarked = true
		clock.Mark(metrics.PhaseSend)
	}
	clock.Mark(metrics.PhaseWait)
	resp.Status = status
	resp.Proto = "HTTP/2.0"
	raw := append(hc.raw[:0], "HTTP/2.0 "...)
	raw = strconv.AppendInt(raw, int64(status), 10)
	raw = append(raw, ' ')
	raw = append(raw, http.StatusText(status)...)
	raw = append(raw, "\r\n"...)
	for _, hf := range fields {
		raw = appendCanonical(raw, hf.Name)
		raw = append(raw, ": "...)
		raw = append(raw, hf.Value...)
		raw = append(raw, "\r\n"...)
		if hf.Name == "content-length" {
			n, err := strconv.ParseInt(hf.Value, 10, 64)
			if err != nil || n < 0 {
				return &ProtocolError{fmt.Errorf("invalid content-length %q", hf.Value)}
			}
			st.length = n
		}
	}
	raw = append(raw, "\r\n"...)
	hc.raw = raw
	resp.RawHeader = keepBytes(&req.Buf, raw)
	if st.head || status == http.StatusNoContent || status == http.StatusNotModified {
		st.length = -1 // announces the body a GET would have had
		st.head = true
	}
	if st.length > st.limit {
		return &TooLargeError{What: "response body", Limit: st.limit}
	}
	if st.keep && st.length > 0 {
		// One buffer of the announced size, in the request's room when
		// it fits: a length announced is not memory spent beyond 256 KiB
		// until the bytes come.
		if room := *st.buf; int64(cap(room)-len(room)) >= st.length {
			st.kept.cur = room[len(room) : len(room) : len(room)+int(st.length)]
			st.inBuf = true
		} else {
			st.kept.first = min(st.length, 256<<10)
		}
	}
	if b.endStream {
		return hc.end(st)
	}
	return nil
}

// appendCanonical appends a header name in its canonical HTTP/1.1 form
// (content-type: Content-Type), as results show header names.
func appendCanonical(b []byte, name string) []byte {
	upper := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		if upper && 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		b = append(b, c)
		upper = c == '-'
	}
	return b
}

// readError gives a failed frame read its meaning: a stream error on
// st (its header block was malformed) fails the request alone, one on a
// stream given up earlier is ignored, and anything else ends the
// connection.
func (hc *h2conn) readError(err error, st *h2stream) error {
	var se http2.StreamError
	if errors.As(err, &se) {
		if se.StreamID != st.id || st.ended {
			return nil
		}
		return &ProtocolError{se}
	}
	hc.broken = true
	var ce http2.ConnectionError
	if errors.As(err, &ce) || errors.Is(err, http2.ErrFrameTooLarge) {
		code := http2.ErrCode(ce)
		if errors.Is(err, http2.ErrFrameTooLarge) {
			code = http2.ErrCodeFrameSize
		}
		if detail := hc.fr.ErrorDetail(); detail != nil {
			err = fmt.Errorf("%w: %v", err, detail)
		}
		hc.goingAway(code)
		return &ProtocolError{err}
	}
	return err
}

// connError ends the connection for a protocol error of the server's,
// telling it why (GOAWAY), and returns the request's error.
func (hc *h2conn) connError(code http2.ErrCode, why string) error {
	hc.broken = true
	hc.goingAway(code)
	return &ProtocolError{fmt.Errorf("HTTP/2 %v: %s", code, why)}
}

// goingAway writes a GOAWAY, flushed with the request's last writes.
func (hc *h2conn) goingAway(code http2.ErrCode) {
	_ = hc.fr.WriteGoAway(0, code, nil)
}

// goAwayDebug is the debug data of a GOAWAY, shortened, for a message.
func goAwayDebug(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return fmt.Sprintf(", %q", b[:min(len(b), 128)])
}

// h2Unprocessed is a request the server said it did not process (a
// GOAWAY naming an earlier last stream, or REFUSED_STREAM): it is sent
// once more whatever its method (RFC 9113 §8.7), after a GOAWAY on a
// new connection.
type h2Unprocessed struct{ err error }

func (e *h2Unprocessed) Error() string { return e.err.Error() }
func (e *h2Unprocessed) Unwrap() error { return e.err }

// exchange2 sends h over the HTTP/2 connection hc, keeping hc for the
// user's next requests unless the request asks for a connection of its
// own. It reports whether the request should be sent once more: the
// server did not process it, or a kept connection failed before any
// answer came (then on a new connection).
func (s *Source) exchange2(ctx context.Context, req *Request, h *hop, deadline time.Time, resp *Response, hc *h2conn, hk h2Key, resent bool) bool {
	reused := hc.c.reused
	sent0, recv0 := int64(0), int64(0)
	if reused {
		sent0, recv0 = hc.c.sock.sent.Load(), hc.c.sock.recv.Load()
	}
	arrived, err := s.roundTrip2(ctx, hc, req, h, deadline, resp)
	resp.Latency = hc.idleSince.Sub(h.start) // when the request ended
	resp.Sent, resp.Received = hc.c.sock.sent.Load()-sent0, hc.c.sock.recv.Load()-recv0
	if err != nil {
		resp.Err = h2Error(ctx, hc.c, err)
	}
	if err == nil || !hc.broken {
		// The connection goes on, even when only the stream failed.
		if !reused && (req.NoKeepAlive || !req.Conns.keep(hk, hc)) {
			hc.close()
		} else {
			hc.c.reused = true
		}
		if err == nil || !hc.usable() {
			return false
		}
	} else {
		req.Conns.drop(hk, hc)
		hc.close()
	}
	var unprocessed *h2Unprocessed
	if resent || ctx.Err() != nil || (!deadline.IsZero() && !time.Now().Before(deadline)) {
		return false
	}
	if !errors.As(err, &unprocessed) && (!reused || arrived || !idempotent(h.method) || !hc.broken) {
		return false
	}
	resp.Earlier = append(resp.Earlier, resp.Exchange)
	h.start = time.Now()
	return true
}

// h2Error gives a failed HTTP/2 exchange the meaning the error counters
// use: the run's end or the deadline as such, a limit, a protocol error
// or a stream the server reset as it is, and a failure of the
// connection as HTTP/1.1's are (see exchangeError).
func h2Error(ctx context.Context, c *conn, err error) error {
	var tooLarge *TooLargeError
	var proto *ProtocolError
	var reset *streamReset
	var unprocessed *h2Unprocessed
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.As(err, &tooLarge), errors.As(err, &proto), errors.As(err, &reset), errors.As(err, &unprocessed):
		return err
	case errors.Is(err, io.ErrUnexpectedEOF) && c.sock.firstErr() == nil:
		return err // a stream shorter than its content-length
	}
	return exchangeError(ctx, c, err)
}
