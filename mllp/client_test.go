package mllp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func send(t *testing.T, cl *Client, id string) {
	t.Helper()
	m := vxu(id)
	reply, err := cl.Send(context.Background(), m)
	if err != nil {
		t.Fatalf("Send %s: %v", id, err)
	}
	if !bytes.Equal(reply, ackFor(m)) {
		t.Fatalf("Send %s: reply %q", id, reply)
	}
}

// TestClientReconnect: after the server closes the connection, the next
// Send reconnects, without an error and without resending anything.
func TestClientReconnect(t *testing.T) {
	h := &echo{}
	rec := newRecorder()
	addr, _ := serve(t, &Server{Handler: h, Observer: rec, IdleTimeout: 300 * time.Millisecond})
	cl, err := Dial(context.Background(), addr, &ClientOptions{MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	send(t, cl, "R1")
	rec.waitFor(t, EventConnClosed, 1) // the server closed it (idle)
	send(t, cl, "R2")
	if n := rec.count(EventConnAccepted); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}
	if n := h.calls.Load(); n != 2 {
		t.Errorf("handler called %d times, want 2", n)
	}
}

// TestClientServerRestart: the server goes away and comes back on the same
// address; the client reconnects.
func TestClientServerRestart(t *testing.T) {
	l := mustListen(t)
	addr := l.Addr().String()
	srv1 := &Server{Handler: &echo{}, ErrorLog: quietLog}
	go srv1.Serve(l)
	cl, err := Dial(context.Background(), addr, &ClientOptions{Backoff: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	send(t, cl, "B1")
	if err := srv1.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	l2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen again on %s: %v", addr, err)
	}
	srv2 := &Server{Handler: &echo{}, ErrorLog: quietLog}
	go srv2.Serve(l2)
	defer srv2.Close()
	// If the first server's close has not reached the client yet, B2 goes
	// out on the dead connection: the client must say so (ErrUnconfirmed,
	// never a silent resend); the next message goes over a new connection.
	if _, err := cl.Send(context.Background(), vxu("B2")); err != nil && !errors.Is(err, ErrUnconfirmed) {
		t.Fatalf("Send B2: %v", err)
	}
	send(t, cl, "B3")
}

// closingServer accepts connections, reads one frame on each and closes
// the connection without replying; it counts the frames.
func closingServer(t *testing.T) (addr string, frames *atomic.Int64) {
	l := mustListen(t)
	t.Cleanup(func() { l.Close() })
	frames = new(atomic.Int64)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if _, err := NewReader(c, 0).ReadMessage(); err == nil {
					frames.Add(1)
				}
			}()
		}
	}()
	return l.Addr().String(), frames
}

// TestClientNoSilentResend: a message that may have been delivered is not
// resent unless asked.
func TestClientNoSilentResend(t *testing.T) {
	tests := []struct {
		resend     bool
		maxRetries int
		wantFrames int64
	}{
		{resend: false, maxRetries: 3, wantFrames: 1},
		{resend: true, maxRetries: 3, wantFrames: 4},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("resend=%v", tt.resend), func(t *testing.T) {
			addr, frames := closingServer(t)
			cl, err := Dial(context.Background(), addr, &ClientOptions{Resend: tt.resend, MaxRetries: tt.maxRetries, Backoff: time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			_, err = cl.Send(context.Background(), vxu("ONCE"))
			if !errors.Is(err, ErrUnconfirmed) {
				t.Fatalf("Send error %v, want ErrUnconfirmed", err)
			}
			if n := frames.Load(); n != tt.wantFrames {
				t.Errorf("server received %d copies, want %d", n, tt.wantFrames)
			}
		})
	}
}

func TestClientContextTimeout(t *testing.T) {
	release := make(chan struct{})
	var h HandlerFunc = func(ctx context.Context, msg []byte) []byte {
		if bytes.Contains(msg, []byte("|STUCK|")) {
			<-release
		}
		return ackFor(msg)
	}
	addr, _ := serve(t, &Server{Handler: h})
	defer close(release)
	cl, err := Dial(context.Background(), addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = cl.Send(ctx, vxu("STUCK"))
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ErrUnconfirmed) {
		t.Fatalf("Send error %v, want DeadlineExceeded and ErrUnconfirmed", err)
	}

	// Cancellation without a deadline interrupts too.
	ctx2, cancel2 := context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel2() }()
	if _, err = cl.Send(ctx2, vxu("STUCK")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Send error %v, want Canceled", err)
	}

	// The client recovers on a fresh connection.
	send(t, cl, "AFTER")

	// The Timeout option bounds a Send on its own.
	cl2, err := Dial(context.Background(), addr, &ClientOptions{Timeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer cl2.Close()
	if _, err := cl2.Send(context.Background(), vxu("STUCK")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Send with Timeout: %v, want DeadlineExceeded", err)
	}
}

// TestClientConcurrentSends: one client shared by many goroutines; every
// caller gets the reply to its own message.
func TestClientConcurrentSends(t *testing.T) {
	addr, _ := serve(t, &Server{Handler: &echo{}})
	cl, err := Dial(context.Background(), addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				m := vxu(fmt.Sprintf("G%dM%d", g, i))
				reply, err := cl.Send(context.Background(), m)
				if err != nil || !bytes.Equal(reply, ackFor(m)) {
					t.Errorf("goroutine %d message %d: %q, %v", g, i, reply, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestClientErrors(t *testing.T) {
	addr, _ := serve(t, &Server{Handler: &echo{}})
	cl, err := Dial(context.Background(), addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Send(context.Background(), []byte("MSH|\x1c")); !errors.Is(err, ErrInvalidMessage) {
		t.Errorf("unframeable message: %v, want ErrInvalidMessage", err)
	}
	cl.Close()
	if _, err := cl.Send(context.Background(), vxu("CLOSED")); !errors.Is(err, ErrClientClosed) {
		t.Errorf("Send after Close: %v, want ErrClientClosed", err)
	}

	// Nobody listening: Dial fails.
	l := mustListen(t)
	dead := l.Addr().String()
	l.Close()
	if _, err := Dial(context.Background(), dead, nil); err == nil {
		t.Errorf("Dial to a closed port succeeded")
	}
}

// TestClientOutOfStep: a server that sends an unsolicited extra frame
// after a reply does not make the next Send return that frame as its
// reply; the client moves to a fresh connection.
func TestClientOutOfStep(t *testing.T) {
	l := mustListen(t)
	t.Cleanup(func() { l.Close() })
	var accepted atomic.Int64
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			go func() {
				defer c.Close()
				r := NewReader(c, 0)
				for {
					msg, err := r.ReadMessage()
					if err != nil {
						return
					}
					out := append(frame(ackFor(msg)), frame([]byte("MSA|AA|UNSOLICITED"))...)
					if _, err := c.Write(out); err != nil {
						return
					}
				}
			}()
		}
	}()
	cl, err := Dial(context.Background(), l.Addr().String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for _, id := range []string{"S1", "S2", "S3"} {
		send(t, cl, id)
	}
	if n := accepted.Load(); n < 2 {
		t.Errorf("%d connections, want a fresh one after the unsolicited frame", n)
	}
}
