package mllp

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestServerFraming(t *testing.T) {
	m1, m2 := vxu("A1"), vxu("A2")
	big := append(vxu("BIG"), bytes.Repeat([]byte("OBX|1|TX|NOTE||synthetic note text\r"), 5000)...) // ~180 KB
	tests := []struct {
		name      string
		writes    [][]byte // written one after the other
		replies   [][]byte // the messages answered, in order
		discarded int
	}{
		{name: "one frame", writes: [][]byte{frame(m1)}, replies: [][]byte{m1}},
		{name: "split byte by byte", writes: split(frame(m1), 1), replies: [][]byte{m1}},
		{name: "split in odd pieces", writes: split(frame(m1), 13), replies: [][]byte{m1}},
		{name: "two messages in one write", writes: [][]byte{append(frame(m1), frame(m2)...)}, replies: [][]byte{m1, m2}},
		{name: "second message split across writes", writes: split(append(frame(m1), frame(m2)...), 100), replies: [][]byte{m1, m2}},
		{name: "garbage before start block", writes: [][]byte{append([]byte("GET / HTTP/1.0\r\n\r\n"), frame(m1)...)}, replies: [][]byte{m1}, discarded: 18},
		{name: "end block without carriage return", writes: [][]byte{append(append([]byte{StartBlock}, m1...), EndBlock), frame(m2)}, replies: [][]byte{m1, m2}},
		{name: "large message spanning many reads", writes: split(append(frame(big), frame(m1)...), 50_000), replies: [][]byte{big, m1}},
		{name: "empty frame ignored", writes: [][]byte{{StartBlock, EndBlock, CarriageReturn}, frame(m1)}, replies: [][]byte{m1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &echo{}
			rec := newRecorder()
			addr, _ := serve(t, &Server{Handler: h, Observer: rec})
			c := dialRaw(t, addr)
			for _, w := range tt.writes {
				c.write(t, w)
			}
			for _, m := range tt.replies {
				c.expectReply(t, m)
			}
			c.Close()
			rec.waitFor(t, EventConnClosed, 1)
			if got := h.calls.Load(); got != int64(len(tt.replies)) {
				t.Errorf("handler called %d times, want %d", got, len(tt.replies))
			}
			if got := rec.sum(EventDiscarded); got != tt.discarded {
				t.Errorf("discarded %d bytes, want %d", got, tt.discarded)
			}
		})
	}
}

// split cuts b into pieces of n bytes.
func split(b []byte, n int) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		k := min(n, len(b))
		out = append(out, b[:k])
		b = b[k:]
	}
	return out
}

// TestServerEndBlockWithoutCR: a sender that ends its frame with 0x1C
// alone, then waits, is answered at once (the server does not wait for the
// carriage return); a late carriage return is not garbage.
func TestServerEndBlockWithoutCR(t *testing.T) {
	rec := newRecorder()
	addr, _ := serve(t, &Server{Handler: &echo{}, Observer: rec})
	c := dialRaw(t, addr)
	m1, m2 := vxu("NOCR1"), vxu("NOCR2")
	c.write(t, append(append([]byte{StartBlock}, m1...), EndBlock))
	c.expectReply(t, m1)
	c.write(t, append([]byte{CarriageReturn}, frame(m2)...))
	c.expectReply(t, m2)
	c.Close()
	rec.waitFor(t, EventConnClosed, 1)
	if n := rec.sum(EventDiscarded); n != 0 {
		t.Errorf("%d bytes discarded, want 0", n)
	}
}

// TestServerSlowSender: a frame trickling in within the read timeout is
// answered.
func TestServerSlowSender(t *testing.T) {
	h := &echo{}
	addr, _ := serve(t, &Server{Handler: h, ReadTimeout: 10 * time.Second})
	c := dialRaw(t, addr)
	m := vxu("SLOW")
	for _, piece := range split(frame(m), 40) {
		c.write(t, piece)
		time.Sleep(20 * time.Millisecond)
	}
	c.expectReply(t, m)
}

// TestServerSlowlorisSender: progress does not extend the read timeout; a
// frame trickling in for longer than ReadTimeout is cut off.
func TestServerSlowlorisSender(t *testing.T) {
	h := &echo{}
	rec := newRecorder()
	addr, _ := serve(t, &Server{Handler: h, Observer: rec, ReadTimeout: 300 * time.Millisecond})
	c := dialRaw(t, addr)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		c.Write([]byte{StartBlock})
		for {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			if _, err := c.Write([]byte("A")); err != nil {
				return
			}
		}
	}()
	c.expectClosed(t)
	if e := rec.waitFor(t, EventConnClosed, 1); !errors.Is(e.Err, ErrReadTimeout) {
		t.Errorf("closed with %v, want ErrReadTimeout", e.Err)
	}
	if h.calls.Load() != 0 {
		t.Errorf("handler called for a partial frame")
	}
}

// TestServerClosesConnection covers the cases where the server must close
// the connection without calling the handler for the broken message.
func TestServerClosesConnection(t *testing.T) {
	good := vxu("OK1")
	tests := []struct {
		name       string
		srv        func(*Server)
		send       []byte
		peerCloses bool // the client closes its side after sending
		wantErr    error
	}{
		{
			name:    "missing end block",
			srv:     func(s *Server) { s.ReadTimeout = 200 * time.Millisecond },
			send:    append([]byte{StartBlock}, vxu("PARTIAL")...),
			wantErr: ErrReadTimeout,
		},
		{
			name:    "oversize frame",
			srv:     func(s *Server) { s.MaxMessageSize = 1000 },
			send:    frame(bytes.Repeat([]byte("OBX|1|ST|X||Y\r"), 200)),
			wantErr: ErrMessageTooLarge,
		},
		{
			name:       "abrupt close mid-message",
			send:       append([]byte{StartBlock}, vxu("CUT")[:50]...),
			peerCloses: true,
			wantErr:    ErrIncompleteFrame,
		},
		{
			name:    "idle connection",
			srv:     func(s *Server) { s.IdleTimeout = time.Second },
			send:    []byte("\r\n"), // garbage does not keep it open
			wantErr: ErrIdleTimeout,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &echo{}
			rec := newRecorder()
			srv := &Server{Handler: h, Observer: rec}
			if tt.srv != nil {
				tt.srv(srv)
			}
			addr, _ := serve(t, srv)
			c := dialRaw(t, addr)
			c.write(t, frame(good))
			c.expectReply(t, good)
			c.write(t, tt.send)
			if tt.peerCloses {
				c.Close()
			} else {
				c.expectClosed(t)
			}
			e := rec.waitFor(t, EventConnClosed, 1)
			if !errors.Is(e.Err, tt.wantErr) {
				t.Errorf("connection closed with %v, want %v", e.Err, tt.wantErr)
			}
			if got := h.calls.Load(); got != 1 {
				t.Errorf("handler called %d times, want 1 (the good message only)", got)
			}
		})
	}
}

// TestServerOversizeNotBuffered: a huge frame is cut off at the limit; the
// server does not read it all.
func TestServerOversizeNotBuffered(t *testing.T) {
	rec := newRecorder()
	addr, _ := serve(t, &Server{Handler: &echo{}, Observer: rec, MaxMessageSize: 64 << 10})
	c := dialRaw(t, addr)
	done := make(chan error, 1)
	go func() {
		// Up to 256 MiB of frame body, 64 KiB at a time, until the server
		// closes the connection.
		chunk := bytes.Repeat([]byte("A"), 64<<10)
		chunk[0] = StartBlock
		for range 4096 {
			if _, err := c.Write(chunk); err != nil {
				done <- err
				return
			}
			chunk[0] = 'A'
		}
		done <- nil
	}()
	e := rec.waitFor(t, EventConnClosed, 1)
	if !errors.Is(e.Err, ErrMessageTooLarge) {
		t.Fatalf("closed with %v, want ErrMessageTooLarge", e.Err)
	}
	if err := <-done; err == nil {
		t.Errorf("the whole 256 MiB frame was accepted by the server")
	}
}

func TestServerManyMessagesInOrder(t *testing.T) {
	h := &echo{}
	addr, _ := serve(t, &Server{Handler: h})
	c := dialRaw(t, addr)
	msgs := ids(2000)
	go func() {
		// Pipelined: all frames written without waiting for replies.
		var buf []byte
		for _, id := range msgs {
			buf = appendFrame(buf, vxu(id))
		}
		c.Write(buf)
	}()
	for _, id := range msgs {
		c.expectReply(t, vxu(id))
	}
	if got := h.calls.Load(); got != int64(len(msgs)) {
		t.Errorf("handler called %d times, want %d", got, len(msgs))
	}
}

func TestServerConcurrentConnections(t *testing.T) {
	h := &echo{}
	addr, _ := serve(t, &Server{Handler: h})
	const conns, perConn = 20, 100
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl, err := Dial(context.Background(), addr, nil)
			if err != nil {
				errs <- err
				return
			}
			defer cl.Close()
			for j := range perConn {
				m := vxu(strings.Repeat("X", i%5) + string(rune('A'+i)) + "-" + string(rune('a'+j%26)))
				reply, err := cl.Send(context.Background(), m)
				if err != nil {
					errs <- err
					return
				}
				if !bytes.Equal(reply, ackFor(m)) {
					errs <- errors.New("reply does not answer the message sent")
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := h.calls.Load(); got != conns*perConn {
		t.Errorf("handler called %d times, want %d", got, conns*perConn)
	}
}

func TestServerMaxConnections(t *testing.T) {
	rec := newRecorder()
	addr, _ := serve(t, &Server{Handler: &echo{}, Observer: rec, MaxConnections: 2})
	m := vxu("MAX")
	a, b := dialRaw(t, addr), dialRaw(t, addr)
	for _, c := range []*rawConn{a, b} {
		c.write(t, frame(m))
		c.expectReply(t, m) // both are being served
	}
	over := dialRaw(t, addr)
	over.expectClosed(t)
	rec.waitFor(t, EventConnRejected, 1)

	a.Close()
	rec.waitFor(t, EventConnClosed, 1) // a rejected connection has no closed event
	again := dialRaw(t, addr)
	again.write(t, frame(m))
	again.expectReply(t, m)
}

func TestServerPeer(t *testing.T) {
	got := make(chan Peer, 1)
	h := HandlerFunc(func(ctx context.Context, msg []byte) []byte {
		p, ok := PeerFromContext(ctx)
		if !ok {
			t.Error("no peer in the handler's context")
		}
		got <- p
		return ackFor(msg)
	})
	addr, _ := serve(t, &Server{Handler: h, Name: "mllp-test"})
	c := dialRaw(t, addr)
	m := vxu("PEER")
	c.write(t, frame(m))
	c.expectReply(t, m)
	p := <-got
	if p.Listener != "mllp-test" {
		t.Errorf("Listener = %q, want mllp-test", p.Listener)
	}
	if p.RemoteAddr.String() != c.LocalAddr().String() || p.LocalAddr.String() != addr {
		t.Errorf("peer %v -> %v, want %v -> %v", p.RemoteAddr, p.LocalAddr, c.LocalAddr(), addr)
	}
	if p.TLS != nil || p.Certificate() != nil {
		t.Errorf("TLS state on a plain connection")
	}
}

// TestServerHandlerMisbehaves: nil replies send nothing; a panic or an
// unframeable reply closes that connection only.
func TestServerHandlerMisbehaves(t *testing.T) {
	h := HandlerFunc(func(ctx context.Context, msg []byte) []byte {
		switch {
		case bytes.Contains(msg, []byte("|SILENT|")):
			return nil
		case bytes.Contains(msg, []byte("|PANIC|")):
			panic("test panic")
		case bytes.Contains(msg, []byte("|BADREPLY|")):
			return []byte("MSA|AA\x1c")
		}
		return ackFor(msg)
	})
	rec := newRecorder()
	addr, _ := serve(t, &Server{Handler: h, Observer: rec})

	c := dialRaw(t, addr)
	silent, next := vxu("SILENT"), vxu("NEXT")
	c.write(t, append(frame(silent), frame(next)...))
	c.expectReply(t, next) // nothing for SILENT

	for i, id := range []string{"PANIC", "BADREPLY"} {
		c := dialRaw(t, addr)
		c.write(t, frame(vxu(id)))
		c.expectClosed(t)
		if e := rec.waitFor(t, EventConnClosed, i+1); e.Err == nil {
			t.Errorf("%s: connection closed without an error", id)
		}
	}
	c.write(t, frame(next)) // the first connection is unaffected
	c.expectReply(t, next)
}

func TestServerObserverMessage(t *testing.T) {
	rec := newRecorder()
	addr, _ := serve(t, &Server{Handler: &echo{}, Observer: rec})
	c := dialRaw(t, addr)
	m := vxu("OBS")
	c.write(t, frame(m))
	c.expectReply(t, m)
	e := rec.waitFor(t, EventMessage, 1)
	if e.Bytes != len(m) || e.ReplyBytes != len(ackFor(m)) {
		t.Errorf("message event %d/%d bytes, want %d/%d", e.Bytes, e.ReplyBytes, len(m), len(ackFor(m)))
	}
	if rec.count(EventConnAccepted) != 1 {
		t.Errorf("%d accepted events, want 1", rec.count(EventConnAccepted))
	}
}

func TestShutdownFinishesInFlight(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	var h HandlerFunc = func(ctx context.Context, msg []byte) []byte {
		if bytes.Contains(msg, []byte("|SLOW|")) {
			close(started)
			<-release
		}
		return ackFor(msg)
	}
	rec := newRecorder()
	srv := &Server{Handler: h, Observer: rec}
	addr, serveErr := serve(t, srv)

	idle := dialRaw(t, addr)
	warm := vxu("WARM")
	idle.write(t, frame(warm))
	idle.expectReply(t, warm)

	cl, err := Dial(context.Background(), addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	slow := vxu("SLOW")
	replyCh := make(chan []byte, 1)
	errCh := make(chan error, 1)
	go func() {
		r, err := cl.Send(context.Background(), slow)
		replyCh <- r
		errCh <- err
	}()
	<-started

	shutdownErr := make(chan error, 1)
	go func() { shutdownErr <- srv.Shutdown(context.Background()) }()

	if err := <-serveErr; !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve returned %v, want ErrServerClosed", err)
	}
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Errorf("a new connection was accepted during shutdown")
	}
	idle.expectClosed(t) // idle connections are closed at once

	select {
	case err := <-shutdownErr:
		t.Fatalf("Shutdown returned (%v) while a message was in flight", err)
	default:
	}
	close(release)
	if err := <-errCh; err != nil {
		t.Fatalf("in-flight Send: %v", err)
	}
	if r := <-replyCh; !bytes.Equal(r, ackFor(slow)) {
		t.Errorf("in-flight reply = %q", r)
	}
	if err := <-shutdownErr; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

func TestShutdownContextExpires(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	var h HandlerFunc = func(ctx context.Context, msg []byte) []byte {
		close(started)
		select {
		case <-release:
		case <-ctx.Done(): // Close cancels it
		}
		return ackFor(msg)
	}
	srv := &Server{Handler: h}
	addr, _ := serve(t, srv)
	c := dialRaw(t, addr)
	c.write(t, frame(vxu("STUCK")))
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want DeadlineExceeded", err)
	}
	if err := srv.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// The handler's context was cancelled; its reply may or may not make
	// it before the connection closes, but the connection does close.
	for {
		if _, err := c.r.ReadMessage(); err != nil {
			break
		}
	}
	if err := srv.Serve(mustListen(t)); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve after Close = %v, want ErrServerClosed", err)
	}
}

func mustListen(t *testing.T) net.Listener {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestShutdownMidFrame: a frame half received when Shutdown begins is
// received in full, handled and answered.
func TestShutdownMidFrame(t *testing.T) {
	started := make(chan struct{}, 1)
	h := &echo{}
	srv := &Server{Handler: h, testFrameStarted: func() { started <- struct{}{} }}
	addr, _ := serve(t, srv)
	c := dialRaw(t, addr)
	m := vxu("HALF")
	f := frame(m)
	c.write(t, f[:len(f)/2])
	<-started

	shutdownErr := make(chan error, 1)
	go func() { shutdownErr <- srv.Shutdown(context.Background()) }()
	// A new connection is refused once Shutdown has begun; wait for that,
	// so that Shutdown has seen the half-received frame.
	for {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			break
		}
		nc.Close()
		time.Sleep(time.Millisecond)
	}
	select {
	case err := <-shutdownErr:
		t.Fatalf("Shutdown returned (%v) with a frame half received", err)
	default:
	}
	c.write(t, f[len(f)/2:])
	c.expectReply(t, m)
	c.expectClosed(t)
	if err := <-shutdownErr; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

func TestListenAndServeShutdown(t *testing.T) {
	srv := &Server{Addr: "127.0.0.1:0", Handler: &echo{}, ErrorLog: quietLog}
	errCh := make(chan error, 1)
	go func() { errCh <- srv.ListenAndServe() }()
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-errCh; !errors.Is(err, ErrServerClosed) {
		t.Errorf("ListenAndServe = %v, want ErrServerClosed", err)
	}
	if err := (&Server{}).Serve(mustListen(t)); err == nil {
		t.Errorf("Serve without a Handler succeeded")
	}
	if err := (&Server{Handler: &echo{}, TLSConfig: &tls.Config{}}).Serve(mustListen(t)); err == nil {
		t.Errorf("Serve with a certificate-less TLSConfig succeeded")
	}
}
