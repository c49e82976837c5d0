package mllp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
)

// A Handler answers HL7 messages. It is transport-neutral: the same Handler
// can be served over MLLP and over other transports (such as SOAP).
//
// ServeHL7 receives one message, framing removed, and returns the reply (an
// HL7 ACK, or an RSP for a query). msg is only valid during the call: the
// server reuses the buffer for the next message, so a handler that keeps
// the message (for a queue, say) must copy it. A nil reply means "send
// nothing"; the sender then gets no answer to this message (its own timeout
// applies), so a handler should return nil only on purpose.
//
// On a connection, messages are handled one at a time and in order; ServeHL7
// is called concurrently for different connections. ctx carries the sender's
// [Peer] (see [PeerFromContext]) and is cancelled when the connection is
// closed abruptly (Server.Close), not by a graceful Shutdown.
type Handler interface {
	ServeHL7(ctx context.Context, msg []byte) []byte
}

// An OversizeHandler is a Handler that also answers a message too large
// to receive (over the server's MaxMessageSize), as a Handler may
// implement it to be told, in the manner of net/http's optional
// interfaces. Such a message is never read whole: ServeOversize gets head,
// the frame's first bytes (at most 8 KiB, typically holding the MSH
// segment; only valid during the call), and limit, the server's
// MaxMessageSize in bytes, and returns the reply to send (nil: none). The
// server then throws the rest of the frame away up to its end block
// (within Server.MaxOversizeDiscard bytes and the read timeout), so that
// the sender can read the reply, and closes the connection.
type OversizeHandler interface {
	Handler
	ServeOversize(ctx context.Context, head []byte, limit int) []byte
}

// HandlerFunc adapts an ordinary function to the Handler interface.
type HandlerFunc func(ctx context.Context, msg []byte) []byte

// ServeHL7 calls f(ctx, msg).
func (f HandlerFunc) ServeHL7(ctx context.Context, msg []byte) []byte { return f(ctx, msg) }

// Peer identifies the other end of a connection, for authorising a
// facility by its client certificate or by its source address.
type Peer struct {
	// RemoteAddr is the sender's address.
	RemoteAddr net.Addr
	// LocalAddr is the address the connection was accepted on.
	LocalAddr net.Addr
	// Listener names the listener that accepted the connection (the
	// server's Name, or the listen address when Name is empty).
	Listener string
	// TLS is the state of the TLS connection once the handshake completed,
	// nil for plain TCP. Its VerifiedChains hold the client certificate
	// chains verified against the server's ClientCAs (mutual TLS).
	TLS *tls.ConnectionState
}

// Certificate returns the client's leaf certificate if the client presented
// one and it was verified against the server's ClientCAs, nil otherwise.
// A certificate that was merely presented (ClientAuth RequestClientCert or
// RequireAnyClientCert) is not returned: it proves nothing.
func (p Peer) Certificate() *x509.Certificate {
	if p.TLS == nil || len(p.TLS.VerifiedChains) == 0 || len(p.TLS.VerifiedChains[0]) == 0 {
		return nil
	}
	return p.TLS.VerifiedChains[0][0]
}

// peerKey is the context key for a Peer.
type peerKey struct{}

// NewContextWithPeer returns a copy of ctx carrying p. Transports other
// than MLLP can use it so that handlers find the peer the same way.
func NewContextWithPeer(ctx context.Context, p Peer) context.Context {
	return context.WithValue(ctx, peerKey{}, p)
}

// PeerFromContext returns the Peer stored in ctx by the server, if any.
func PeerFromContext(ctx context.Context) (Peer, bool) {
	p, ok := ctx.Value(peerKey{}).(Peer)
	return p, ok
}
