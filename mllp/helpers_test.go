package mllp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// wait bounds how long a test waits for something that should happen; it
// is a guard against hangs, not a timing assertion.
const wait = 20 * time.Second

// vxu builds a small synthetic VXU message with control id id.
func vxu(id string) []byte {
	return []byte("MSH|^~\\&|TESTEHR|TESTCLINIC|IIS|IIS|20250101120000||VXU^V04^VXU_V04|" + id + "|P|2.5.1|||ER|AL|||||Z22^CDCPHINVS\r" +
		"PID|1||TEST" + id + "^^^TESTCLINIC^MR||SYNTHETIC^PATIENT^A||20240101|F\r" +
		"ORC|RE||" + id + "^TESTCLINIC\r" +
		"RXA|0|1|20250101||08^HepB ped^CVX|0.5|mL^mL^UCUM||00^New record^NIP001\r")
}

// ackFor is the test handlers' reply: it names the message it answers.
func ackFor(msg []byte) []byte {
	return append([]byte("MSH|^~\\&|IIS|IIS\rMSA|AA|"), msg...)
}

// echo answers every message with ackFor and counts the calls.
type echo struct{ calls atomic.Int64 }

func (e *echo) ServeHL7(ctx context.Context, msg []byte) []byte {
	e.calls.Add(1)
	return ackFor(msg)
}

// recorder is an Observer that keeps the events and lets a test wait for
// one.
type recorder struct {
	mu     sync.Mutex
	events []Event
	cond   chan struct{}
}

func newRecorder() *recorder { return &recorder{cond: make(chan struct{})} }

func (r *recorder) Observe(e Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	close(r.cond)
	r.cond = make(chan struct{})
	r.mu.Unlock()
}

// waitFor waits for the n-th event (1-based) of kind and returns it.
func (r *recorder) waitFor(t *testing.T, kind EventKind, n int) Event {
	t.Helper()
	deadline := time.After(wait)
	for {
		r.mu.Lock()
		seen := 0
		for _, e := range r.events {
			if e.Kind == kind {
				seen++
				if seen == n {
					r.mu.Unlock()
					return e
				}
			}
		}
		ch := r.cond
		r.mu.Unlock()
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("no %v event #%d", kind, n)
		}
	}
}

func (r *recorder) count(kind EventKind) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.events {
		if e.Kind == kind {
			n++
		}
	}
	return n
}

func (r *recorder) sum(kind EventKind) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.events {
		if e.Kind == kind {
			n += e.Bytes
		}
	}
	return n
}

// quietLog discards log lines.
var quietLog = slog.New(slog.DiscardHandler)

// serve starts srv on a loopback port and returns its address; the server
// is closed when the test ends. serveErr receives Serve's result.
func serve(t testing.TB, srv *Server) (addr string, serveErr <-chan error) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if srv.ErrorLog == nil {
		srv.ErrorLog = quietLog
	}
	ch := make(chan error, 1)
	go func() { ch <- srv.Serve(l) }()
	t.Cleanup(func() { srv.Close() })
	return l.Addr().String(), ch
}

// rawConn is a plain TCP connection to a server, for writing arbitrary
// bytes and reading framed replies.
type rawConn struct {
	net.Conn
	r *Reader
}

func dialRaw(t testing.TB, addr string) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(wait))
	return &rawConn{Conn: c, r: NewReader(c, 0)}
}

func (c *rawConn) write(t testing.TB, b []byte) {
	t.Helper()
	if _, err := c.Write(b); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// expectReply reads one reply and checks it answers msg.
func (c *rawConn) expectReply(t testing.TB, msg []byte) {
	t.Helper()
	got, err := c.r.ReadMessage()
	if err != nil {
		t.Fatalf("reading reply: %v", err)
	}
	if want := ackFor(msg); string(got) != string(want) {
		t.Fatalf("reply = %q, want %q", got, want)
	}
}

// expectClosed checks that the server closes the connection without
// sending anything more.
func (c *rawConn) expectClosed(t testing.TB) {
	t.Helper()
	msg, err := c.r.ReadMessage()
	if err == nil {
		t.Fatalf("got a reply %q, want the connection closed", msg)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("connection still open: %v", err)
	}
	if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !isReset(err) {
		t.Fatalf("read error %v, want end of stream", err)
	}
}

func isReset(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == "read"
}

func frame(msg []byte) []byte { return appendFrame(nil, msg) }

func ids(n int) []string {
	s := make([]string, n)
	for i := range s {
		s[i] = fmt.Sprintf("MSG%05d", i)
	}
	return s
}

// testingProcs is GOMAXPROCS, as RunParallel uses it.
func testingProcs() int { return runtime.GOMAXPROCS(0) }
