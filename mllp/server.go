package mllp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// Default timeouts, used when the corresponding Server field is zero.
const (
	DefaultReadTimeout  = 30 * time.Second
	DefaultIdleTimeout  = 15 * time.Minute
	DefaultWriteTimeout = 30 * time.Second
)

// DefaultAddr is the listen address used when Server.Addr is empty: the
// port registered for HL7 over MLLP.
const DefaultAddr = ":2575"

var (
	// ErrServerClosed is returned by Serve and ListenAndServe after
	// Shutdown or Close.
	ErrServerClosed = errors.New("mllp: server closed")

	// ErrReadTimeout is reported (Event.Err) when a connection is closed
	// because a frame's end block did not arrive within ReadTimeout of its
	// start block.
	ErrReadTimeout = errors.New("mllp: no end block within the read timeout")

	// ErrIdleTimeout is reported (Event.Err) when a connection is closed
	// because no new frame started within IdleTimeout.
	ErrIdleTimeout = errors.New("mllp: connection idle too long")

	// errClosing aborts a frame whose start block arrived after Shutdown
	// had already closed its idle connection.
	errClosing = errors.New("mllp: connection closing")
)

// EventKind says what an Event reports.
type EventKind int

// Event kinds.
const (
	// EventConnAccepted: a connection was accepted (before any TLS
	// handshake).
	EventConnAccepted EventKind = iota + 1
	// EventConnRejected: a connection arrived while MaxConnections were
	// open and was closed at once. (Every accepted connection has exactly
	// one EventConnClosed; a rejected one has none.)
	EventConnRejected
	// EventHandshakeFailed: the TLS handshake failed (Err says why; a
	// client without a certificate when one is required lands here); the
	// connection is closed.
	EventHandshakeFailed
	// EventMessage: a message was handled; Bytes is its size, ReplyBytes
	// the reply's (0 if none was sent), Duration the time from the end of
	// the frame to the reply written.
	EventMessage
	// EventDiscarded: Bytes bytes outside any frame were dropped.
	EventDiscarded
	// EventConnClosed: a connection was closed; Duration is its lifetime,
	// Err why: nil when the peer closed between messages or the server
	// shut down, else ErrReadTimeout, ErrIdleTimeout, ErrMessageTooLarge,
	// ErrIncompleteFrame (peer closed inside a frame), or an I/O error.
	EventConnClosed
)

var eventKindNames = [...]string{
	EventConnAccepted:    "conn_accepted",
	EventConnRejected:    "conn_rejected",
	EventHandshakeFailed: "handshake_failed",
	EventMessage:         "message",
	EventDiscarded:       "discarded",
	EventConnClosed:      "conn_closed",
}

// String returns a short snake_case name for k, usable as a metric label.
func (k EventKind) String() string {
	if k > 0 && int(k) < len(eventKindNames) {
		return eventKindNames[k]
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// An Event reports something that happened on a server, for metrics.
type Event struct {
	Kind EventKind
	// Peer is the connection's peer: addresses and listener always, TLS
	// state once the handshake completed.
	Peer       Peer
	Bytes      int
	ReplyBytes int
	Duration   time.Duration
	Err        error
}

// An Observer receives a server's events. Observe is called synchronously
// from connection goroutines, concurrently: it must be quick and safe for
// concurrent use (incrementing Prometheus counters is).
type Observer interface {
	Observe(Event)
}

// ObserverFunc adapts a function to the Observer interface.
type ObserverFunc func(Event)

// Observe calls f(e).
func (f ObserverFunc) Observe(e Event) { f(e) }

// A Server serves HL7 messages over MLLP. Its exported fields must not
// change once it is serving. The zero value, with a Handler, is usable.
type Server struct {
	// Addr is the TCP address ListenAndServe listens on; empty means
	// DefaultAddr.
	Addr string
	// Name names the listener in Peer.Listener (e.g. "mllp" or
	// "mllp-tls"); empty means the listen address.
	Name string
	// Handler answers the messages. Required.
	Handler Handler

	// TLSConfig, if not nil, makes the server speak TLS with it (it must
	// hold a certificate). For mutual TLS set ClientAuth to
	// tls.RequireAndVerifyClientCert and ClientCAs to the CAs that sign
	// the facilities' certificates.
	TLSConfig *tls.Config

	// MaxMessageSize is the largest message content accepted, in bytes;
	// zero means DefaultMaxMessageSize. A larger frame is answered by the
	// Handler's ServeOversize if it is an OversizeHandler, and closes the
	// connection (see the package documentation).
	MaxMessageSize int
	// MaxOversizeDiscard bounds how many bytes of a frame over
	// MaxMessageSize the server reads and throws away, after answering it,
	// looking for its end block so that the sender reads the reply before
	// the connection closes. Zero means 32 times MaxMessageSize, at least
	// 128 MiB; negative, none. (The read timeout bounds the time.)
	MaxOversizeDiscard int64
	// ReadTimeout bounds the time from a frame's start block to its end
	// block, and the TLS handshake (IdleTimeout bounds the handshake if
	// ReadTimeout is disabled). Zero means DefaultReadTimeout, negative no
	// limit.
	ReadTimeout time.Duration
	// IdleTimeout bounds the wait for the next frame to start. Zero means
	// DefaultIdleTimeout, negative no limit.
	IdleTimeout time.Duration
	// WriteTimeout bounds the writing of one reply. Zero means
	// DefaultWriteTimeout, negative no limit.
	WriteTimeout time.Duration
	// MaxConnections, if positive, limits the connections served at once;
	// a connection beyond it is closed as soon as it is accepted.
	MaxConnections int

	// ErrorLog receives the server's log lines (connection errors, handler
	// panics); nil means slog.Default(). Lines never include message
	// content.
	ErrorLog *slog.Logger
	// Observer, if not nil, receives the server's events.
	Observer Observer
	// ConnContext, if not nil, derives the context that a connection's
	// messages are handled with from the one holding its Peer, once the
	// connection is established (after the TLS handshake): what the
	// handler would otherwise work out from the Peer for every message.
	ConnContext func(ctx context.Context, p Peer) context.Context

	// testFrameStarted, if set, is called when a connection sees a start
	// block (tests use it to act in the middle of a frame).
	testFrameStarted func()

	mu         sync.Mutex
	listeners  map[*net.Listener]struct{}
	conns      map[*conn]struct{}
	inShutdown atomic.Bool
	baseCtx    context.Context
	cancel     context.CancelFunc
}

func durationOr(d, def time.Duration) time.Duration {
	switch {
	case d == 0:
		return def
	case d < 0:
		return 0
	}
	return d
}

func (s *Server) readTimeout() time.Duration  { return durationOr(s.ReadTimeout, DefaultReadTimeout) }
func (s *Server) idleTimeout() time.Duration  { return durationOr(s.IdleTimeout, DefaultIdleTimeout) }
func (s *Server) writeTimeout() time.Duration { return durationOr(s.WriteTimeout, DefaultWriteTimeout) }

func (s *Server) logger() *slog.Logger {
	if s.ErrorLog != nil {
		return s.ErrorLog
	}
	return slog.Default()
}

func (s *Server) observe(e Event) {
	if s.Observer != nil {
		s.Observer.Observe(e)
	}
}

// initLocked sets up the server's state; s.mu must be held.
func (s *Server) initLocked() {
	if s.conns == nil {
		s.conns = make(map[*conn]struct{})
		s.listeners = make(map[*net.Listener]struct{})
		s.baseCtx, s.cancel = context.WithCancel(context.Background())
	}
}

// ListenAndServe listens on s.Addr and serves connections until Shutdown
// or Close; it then returns ErrServerClosed.
func (s *Server) ListenAndServe() error {
	if s.inShutdown.Load() {
		return ErrServerClosed
	}
	addr := s.Addr
	if addr == "" {
		addr = DefaultAddr
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("mllp: listen: %w", err)
	}
	return s.Serve(l)
}

// Serve accepts connections on l and serves each in its own goroutine,
// speaking TLS if s.TLSConfig is set. It closes l when it returns, which
// is after Shutdown or Close (returning ErrServerClosed) or on a listener
// error. Serve may be called on several listeners at once.
func (s *Server) Serve(l net.Listener) error {
	if s.Handler == nil {
		l.Close()
		return errors.New("mllp: Server.Handler is nil")
	}
	var tlsConfig *tls.Config
	if s.TLSConfig != nil {
		c := s.TLSConfig
		if len(c.Certificates) == 0 && c.GetCertificate == nil && c.GetConfigForClient == nil {
			l.Close()
			return errors.New("mllp: TLSConfig has no certificate")
		}
		tlsConfig = c.Clone()
	}
	name := s.Name
	if name == "" {
		name = l.Addr().String()
	}

	s.mu.Lock()
	s.initLocked()
	if s.inShutdown.Load() {
		s.mu.Unlock()
		l.Close()
		return ErrServerClosed
	}
	s.listeners[&l] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, &l)
		s.mu.Unlock()
		l.Close()
	}()

	var backoff time.Duration
	for {
		rw, err := l.Accept()
		if err != nil {
			if s.inShutdown.Load() {
				return ErrServerClosed
			}
			var te interface{ Temporary() bool }
			if errors.As(err, &te) && te.Temporary() {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.logger().Warn("mllp: accept error; retrying", "listener", name, "err", err, "retry_in", backoff)
				time.Sleep(backoff)
				continue
			}
			return fmt.Errorf("mllp: accept: %w", err)
		}
		backoff = 0
		peer := Peer{RemoteAddr: rw.RemoteAddr(), LocalAddr: rw.LocalAddr(), Listener: name}
		c := &conn{srv: s, raw: rw, rwc: rw, peer: peer, start: time.Now()}
		if tlsConfig != nil {
			c.rwc = tls.Server(rw, tlsConfig)
		}
		if !s.track(c) {
			rw.Close()
			if s.inShutdown.Load() {
				return ErrServerClosed
			}
			s.observe(Event{Kind: EventConnRejected, Peer: peer})
			continue
		}
		go c.serve()
	}
}

// track registers c, unless the server is shutting down or full.
func (s *Server) track(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inShutdown.Load() || (s.MaxConnections > 0 && len(s.conns) >= s.MaxConnections) {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) untrack(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// closeListenersLocked closes every listener; s.mu must be held.
func (s *Server) closeListenersLocked() error {
	var err error
	for l := range s.listeners {
		if cerr := (*l).Close(); cerr != nil && err == nil {
			err = cerr
		}
	}
	return err
}

// Shutdown stops the server gracefully: it closes the listeners (new
// connections are refused), closes idle connections at once, and lets
// every connection that is receiving or handling a message finish it and
// write its reply before closing. It returns once every connection is
// closed, or ctx's error if ctx ends first (call Close then to force the
// rest). Serve returns ErrServerClosed as soon as Shutdown begins.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.initLocked()
	s.inShutdown.Store(true)
	err := s.closeListenersLocked()
	for c := range s.conns {
		c.closeIfIdle()
	}
	s.mu.Unlock()

	poll := time.Millisecond
	timer := time.NewTimer(poll)
	defer timer.Stop()
	for {
		s.mu.Lock()
		n := len(s.conns)
		s.mu.Unlock()
		if n == 0 {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
			poll = min(2*poll, 50*time.Millisecond)
			timer.Reset(poll)
		}
	}
}

// Close stops the server at once: it closes the listeners and every
// connection, in-flight messages included, and cancels the handlers'
// contexts. Prefer Shutdown.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.initLocked()
	s.inShutdown.Store(true)
	s.cancel()
	err := s.closeListenersLocked()
	for c := range s.conns {
		c.rwc.Close()
	}
	return err
}

// Connection states, as the server's shutdown logic sees them.
const (
	stateNew     = iota // accepted, TLS handshake not done
	stateIdle           // waiting for a frame to start
	stateActive         // receiving a frame, handling it, writing its reply
	stateClosing        // shutting down; no new frame may start
)

type conn struct {
	srv   *Server
	raw   net.Conn // the TCP connection
	rwc   net.Conn // raw, or the tls.Conn over it
	peer  Peer
	start time.Time

	mu    sync.Mutex
	state int
}

// closeIfIdle closes c if it is between messages (or still in its
// handshake); otherwise c closes itself after its reply.
func (c *conn) closeIfIdle() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state == stateNew || c.state == stateIdle {
		c.state = stateClosing
		c.rwc.Close()
	}
}

// setState moves c to state unless it is closing (or, for stateIdle, the
// server is shutting down); it reports whether it did.
func (c *conn) setState(state int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state == stateClosing || (state == stateIdle && c.srv.inShutdown.Load()) {
		c.state = stateClosing
		return false
	}
	c.state = state
	return true
}

func (c *conn) getState() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

func deadline(d time.Duration) time.Time {
	if d <= 0 {
		return time.Time{}
	}
	return time.Now().Add(d)
}

// frameStarted is the Reader's onStart hook: the frame's read timeout
// starts now.
func (c *conn) frameStarted() error {
	if !c.setState(stateActive) {
		return errClosing
	}
	if c.srv.testFrameStarted != nil {
		c.srv.testFrameStarted()
	}
	return c.raw.SetReadDeadline(deadline(c.srv.readTimeout()))
}

func (c *conn) serve() {
	s := c.srv
	var closeErr error
	ctx, cancel := context.WithCancel(s.baseCtx)
	defer func() {
		if v := recover(); v != nil {
			s.logger().Error("mllp: handler panic; closing connection", "listener", c.peer.Listener,
				"remote", c.peer.RemoteAddr.String(), "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			closeErr = fmt.Errorf("mllp: handler panic: %v", v)
		}
		cancel()
		c.rwc.Close()
		s.untrack(c)
		s.observe(Event{Kind: EventConnClosed, Peer: c.peer, Duration: time.Since(c.start), Err: closeErr})
	}()
	s.observe(Event{Kind: EventConnAccepted, Peer: c.peer})

	if tc, ok := c.rwc.(*tls.Conn); ok {
		hd := s.readTimeout()
		if hd <= 0 {
			hd = s.idleTimeout()
		}
		c.raw.SetDeadline(deadline(hd))
		if err := tc.HandshakeContext(ctx); err != nil {
			if c.getState() != stateClosing {
				s.logger().Info("mllp: TLS handshake failed", "listener", c.peer.Listener,
					"remote", c.peer.RemoteAddr.String(), "err", err)
				s.observe(Event{Kind: EventHandshakeFailed, Peer: c.peer, Err: err})
				closeErr = err
			}
			return
		}
		cs := tc.ConnectionState()
		c.peer.TLS = &cs
	}
	ctx = NewContextWithPeer(ctx, c.peer)
	if s.ConnContext != nil {
		ctx = s.ConnContext(ctx, c.peer)
	}

	rd := NewReader(c.rwc, s.MaxMessageSize)
	rd.onStart = c.frameStarted
	var wbuf []byte
	var discarded int64
	for {
		if !c.setState(stateIdle) {
			return
		}
		c.raw.SetReadDeadline(deadline(s.idleTimeout()))
		msg, err := rd.ReadMessage()
		if d := rd.Discarded(); d > discarded {
			s.observe(Event{Kind: EventDiscarded, Peer: c.peer, Bytes: int(d - discarded)})
			discarded = d
		}
		if errors.Is(err, ErrMessageTooLarge) {
			closeErr = c.oversize(ctx, rd)
			return
		}
		if err != nil {
			closeErr = c.readError(err)
			return
		}
		if len(msg) == 0 {
			continue // an empty frame: nothing to handle
		}
		var began time.Time
		if s.Observer != nil {
			began = time.Now()
		}
		reply := s.Handler.ServeHL7(ctx, msg)
		if reply != nil {
			if !validMessage(reply) {
				s.logger().Error("mllp: handler reply contains a framing byte; closing connection",
					"listener", c.peer.Listener, "remote", c.peer.RemoteAddr.String())
				closeErr = ErrInvalidMessage
				return
			}
			wbuf = appendFrame(wbuf[:0], reply)
			c.raw.SetWriteDeadline(deadline(s.writeTimeout()))
			if _, err := c.rwc.Write(wbuf); err != nil {
				s.logger().Info("mllp: writing reply failed", "listener", c.peer.Listener,
					"remote", c.peer.RemoteAddr.String(), "err", err)
				closeErr = err
				return
			}
			if cap(wbuf) > retainLimit {
				wbuf = nil
			}
		}
		if s.Observer != nil {
			s.observe(Event{Kind: EventMessage, Peer: c.peer, Bytes: len(msg), ReplyBytes: len(reply), Duration: time.Since(began)})
		}
	}
}

func (s *Server) maxMessageSize() int {
	if s.MaxMessageSize <= 0 {
		return DefaultMaxMessageSize
	}
	return s.MaxMessageSize
}

func (s *Server) maxOversizeDiscard() int64 {
	switch {
	case s.MaxOversizeDiscard < 0:
		return 0
	case s.MaxOversizeDiscard > 0:
		return s.MaxOversizeDiscard
	}
	return max(32*int64(s.maxMessageSize()), 128<<20)
}

// oversize handles a frame over the limit: the handler's reply, if it
// offers one, is written, the rest of the frame thrown away (bounded), and
// the connection closed gracefully. It returns ErrMessageTooLarge, the
// reason the connection closes.
func (c *conn) oversize(ctx context.Context, rd *Reader) error {
	s := c.srv
	log := s.logger().With("listener", c.peer.Listener, "remote", c.peer.RemoteAddr.String(), "limit", s.maxMessageSize())
	oh, ok := s.Handler.(OversizeHandler)
	if !ok {
		log.Info("mllp: message over the size limit; closing connection")
		return ErrMessageTooLarge
	}
	reply := oh.ServeOversize(ctx, rd.Head(), s.maxMessageSize())
	if reply == nil {
		log.Info("mllp: message over the size limit; closing connection")
		return ErrMessageTooLarge
	}
	if !validMessage(reply) {
		log.Error("mllp: handler's oversize reply contains a framing byte; closing connection")
		return ErrMessageTooLarge
	}
	c.raw.SetWriteDeadline(deadline(s.writeTimeout()))
	if _, err := c.rwc.Write(appendFrame(nil, reply)); err != nil {
		log.Info("mllp: writing the reply to an oversized message failed", "err", err)
		return ErrMessageTooLarge
	}
	if s.readTimeout() <= 0 {
		// The frame's read deadline is off: bound the discarding anyway.
		c.raw.SetReadDeadline(deadline(DefaultReadTimeout))
	}
	skipped, err := rd.SkipFrame(s.maxOversizeDiscard())
	log.Info("mllp: message over the size limit answered; closing connection",
		"discarded_after_limit", skipped, "frame_ended", err == nil)
	if err == nil {
		c.lingeringClose()
	}
	return ErrMessageTooLarge
}

// lingeringClose half-closes the connection and waits briefly for the
// peer to close its side, so that the reply is not lost to a reset caused
// by bytes the peer sent after it (a stray carriage return).
func (c *conn) lingeringClose() {
	cw, ok := c.rwc.(interface{ CloseWrite() error })
	if !ok || cw.CloseWrite() != nil {
		return
	}
	c.raw.SetReadDeadline(time.Now().Add(time.Second))
	io.CopyN(io.Discard, c.rwc, 64<<10)
}

// readError classifies and logs a read error; it returns the error to
// report, nil for a normal end.
func (c *conn) readError(err error) error {
	state := c.getState()
	switch {
	case errors.Is(err, io.EOF):
		return nil
	case state == stateClosing || errors.Is(err, errClosing):
		return nil // closed by Shutdown
	case errors.Is(err, os.ErrDeadlineExceeded):
		if state == stateActive {
			err = ErrReadTimeout
		} else {
			return ErrIdleTimeout // routine; not logged
		}
	}
	if c.srv.inShutdown.Load() && errors.Is(err, net.ErrClosed) {
		return nil // closed by Close
	}
	c.srv.logger().Info("mllp: closing connection", "listener", c.peer.Listener,
		"remote", c.peer.RemoteAddr.String(), "err", err)
	return err
}
