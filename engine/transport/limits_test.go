package transport_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ntx-dev/ntx/engine/metrics"
	"github.com/ntx-dev/ntx/engine/transport"
)

func TestHeaderLimit(t *testing.T) {
	tgt := startTarget(t)
	src := newTransport(t, transport.Options{}).Source(unbound)
	for _, tc := range []struct {
		size int
		want metrics.Kind
	}{
		{100, metrics.KindNone},
		{5000, metrics.KindNone}, // over the 4 KiB that once failed every request
		{transport.MaxHeaderBytes, metrics.KindNone},
		{transport.MaxHeaderBytes + 1, metrics.KindTooLarge},
		{1 << 20, metrics.KindTooLarge},
	} {
		r := get(t, src, fmt.Sprintf("http://%s/hdr/%d", tgt.HTTPAddr(), tc.size))
		if got := transport.Classify(r.Err); got != tc.want {
			t.Errorf("%d bytes of headers: %v (%q), want %q", tc.size, r.Err, got, tc.want)
			continue
		}
		if r.Err == nil && (len(r.RawHeader) != tc.size || r.Status != 200) {
			t.Errorf("%d bytes of headers: got %d bytes, status %d", tc.size, len(r.RawHeader), r.Status)
		}
	}
}

func TestBodyLimit(t *testing.T) {
	tgt := startTarget(t)
	sized, _ := startHTTP(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		w.Write(make([]byte, 1000))
	}))
	src := newTransport(t, transport.Options{}).Source(unbound)
	for _, tc := range []struct {
		url     string
		limit   int64
		discard bool
		want    metrics.Kind
	}{
		{sized.URL, 1000, false, metrics.KindNone},
		{sized.URL, 999, false, metrics.KindTooLarge},
		{sized.URL, 999, true, metrics.KindTooLarge},
		{"http://" + tgt.HTTPAddr() + "/endless", 1 << 20, false, metrics.KindTooLarge},
		{"http://" + tgt.HTTPAddr() + "/endless", 1 << 20, true, metrics.KindTooLarge},
	} {
		r := src.Do(context.Background(), &transport.Request{URL: mustURL(t, tc.url), MaxResponse: tc.limit, DiscardBody: tc.discard, Timeout: 10 * time.Second})
		if got := transport.Classify(r.Err); got != tc.want {
			t.Errorf("%s with max %d: %v (%q), want %q", tc.url, tc.limit, r.Err, got, tc.want)
		}
		if r.Err != nil && r.Body != nil {
			t.Errorf("%s: a body is kept after %v", tc.url, r.Err)
		}
		// Enforced while reading: what was read stops at the limit
		// (and the read buffer that crossed it).
		if r.BodySize > tc.limit+64<<10 {
			t.Errorf("%s: read %d body bytes with a limit of %d", tc.url, r.BodySize, tc.limit)
		}
	}
	r := src.Do(context.Background(), &transport.Request{URL: mustURL(t, sized.URL), DiscardBody: true, Timeout: 10 * time.Second})
	if r.Err != nil || r.Body != nil || r.BodySize != 1000 || r.Received < 1000 {
		t.Errorf("discarded body: err %v, body %d bytes kept, size %d, received %d", r.Err, len(r.Body), r.BodySize, r.Received)
	}
}

func TestSocketLimits(t *testing.T) {
	tgt := startTarget(t)
	src := newTransport(t, transport.Options{}).Source(unbound)
	for _, tc := range []struct {
		name string
		req  transport.SocketRequest
		want metrics.Kind
	}{
		{"line", transport.SocketRequest{Send: []byte("hello\n"), Read: transport.ReadLine}, metrics.KindNone},
		{"line flood", transport.SocketRequest{Send: []byte("flood\n"), Read: transport.ReadLine}, metrics.KindTooLarge},
		{"until flood", transport.SocketRequest{Send: []byte("flood\n"), Read: transport.ReadUntil, Until: "END"}, metrics.KindTooLarge},
		{"close flood", transport.SocketRequest{Send: []byte("flood\n"), Read: transport.ReadClose}, metrics.KindTooLarge},
		{"bytes over the limit", transport.SocketRequest{Send: []byte("hello\n"), Read: transport.ReadBytes, N: 1 << 21}, metrics.KindTooLarge},
		{"bytes", transport.SocketRequest{Send: []byte("hello\n"), Read: transport.ReadBytes, N: 3}, metrics.KindNone},
	} {
		req := tc.req
		req.Address, req.MaxResponse, req.Timeout = tgt.TCPAddr(), 1<<20, 10*time.Second
		r := src.TCP(context.Background(), &req)
		if got := transport.Classify(r.Err); got != tc.want {
			t.Errorf("%s: %v (%q), want %q", tc.name, r.Err, got, tc.want)
		}
		if r.Received > 1<<20+64<<10 {
			t.Errorf("%s: read %d bytes with a limit of 1 MiB", tc.name, r.Received)
		}
		if tc.want == metrics.KindNone && (r.Sent != int64(len(req.Send)) || r.Received == 0) {
			t.Errorf("%s: sent %d, received %d", tc.name, r.Sent, r.Received)
		}
	}
	big := strings.Repeat("d", 2000)
	r := src.UDP(context.Background(), &transport.SocketRequest{Address: tgt.UDPAddr(), Send: []byte(big), Reply: true, MaxResponse: 1000, Timeout: 5 * time.Second})
	if transport.Classify(r.Err) != metrics.KindTooLarge || r.Reply != nil {
		t.Errorf("udp datagram over the limit: %v", r.Err)
	}
	r = src.UDP(context.Background(), &transport.SocketRequest{Address: tgt.UDPAddr(), Send: []byte(big), Reply: true, Timeout: 5 * time.Second})
	if r.Err != nil || string(r.Reply) != big || r.Sent != 2000 || r.Received != 2000 {
		t.Errorf("udp echo: %v, %d bytes, sent %d received %d", r.Err, len(r.Reply), r.Sent, r.Received)
	}
}

// TestOutOfFileDescriptors runs in a child process whose open-file limit
// is lowered until a connection cannot be made: the failure is fd_limit.
func TestOutOfFileDescriptors(t *testing.T) {
	if os.Getenv("NTX_FD_CHILD") != "" {
		fdChild(t)
		return
	}
	tgt := startTarget(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestOutOfFileDescriptors$", "-test.count=1")
	cmd.Env = append(os.Environ(), "NTX_FD_CHILD=1", "NTX_FD_TARGET="+tgt.HTTPAddr())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "kind=fd_limit") {
		t.Errorf("child output:\n%s", out)
	}
}

func fdChild(t *testing.T) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	rl.Cur = uint64(len(entries) + 8)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		t.Fatal(err)
	}
	if w := transport.FDWarning(100); !strings.Contains(w, "ulimit -n") {
		t.Errorf("no warning for 100 users with %d descriptors: %q", rl.Cur, w)
	}
	tr := transport.New(transport.Options{})
	defer tr.Close()
	for i := 0; i < 50; i++ {
		// Each source keeps its connection idle: descriptors run out.
		r := get(t, tr.Source(mustAddr(fmt.Sprintf("127.0.1.%d", i+1))), "http://"+os.Getenv("NTX_FD_TARGET")+"/health")
		if r.Err != nil {
			fmt.Printf("kind=%s err=%s\n", transport.Classify(r.Err), transport.Describe(r.Err, unbound))
			return
		}
	}
	t.Error("50 connections were made with a limit of a few descriptors")
}

// TestAnnouncedLengthIsNotMemory: a server that announces a large body
// and sends little of it costs what it sent, not what it announced.
func TestAnnouncedLengthIsNotMemory(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 4096)
				_, _ = c.Read(buf)
				_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 60000000\r\n\r\nonly this")
			}()
		}
	}()
	src := newTransport(t, transport.Options{}).Source(unbound)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	r := src.Do(context.Background(), &transport.Request{URL: mustURL(t, "http://"+ln.Addr().String()+"/"), Timeout: 5 * time.Second})
	runtime.ReadMemStats(&after)
	if transport.Classify(r.Err) != metrics.KindEOF || r.BodySize != int64(len("only this")) {
		t.Errorf("a body cut short: %v, %d bytes", r.Err, r.BodySize)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 4<<20 {
		t.Errorf("%d bytes allocated for a 9-byte body announced as 60 MB", n)
	}
}
