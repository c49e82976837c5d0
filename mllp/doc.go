// Package mllp carries HL7 v2 messages over the Minimal Lower Layer
// Protocol (HL7 v2 implementation guide, appendix C): a server, a client,
// and a frame reader and writer usable on their own.
//
// # Protocol
//
// MLLP runs over a TCP (or TLS) connection. Each message travels in a
// frame: a start block 0x0B, the message (segments separated by carriage
// returns), an end block 0x1C and a carriage return 0x0D. The receiver
// answers each message with one framed reply (an HL7 ACK, or an RSP for a
// query) before the sender sends the next; a connection carries any number
// of messages, one after the other.
//
// The frame [Reader] accepts any segmentation of the stream (a frame split
// over many TCP reads, several frames in one read). It is tolerant where
// tolerance is safe, because 0x0B and 0x1C cannot occur in an HL7 message:
//
//   - bytes outside a frame, before a start block, are discarded and
//     counted ([Reader.Discarded], [EventDiscarded]);
//   - a start block inside a frame abandons the partial frame and starts a
//     new one (a sender restarting a message resynchronises);
//   - the end block alone ends the frame: the carriage return after it is
//     consumed when present but not waited for, so a sender that omits it
//     is still answered at once instead of timing out;
//   - the server ignores an empty frame (no handler call, no reply).
//
// [WriteMessage] refuses a message containing 0x0B or 0x1C.
//
// # Server
//
// A [Server] calls its [Handler] once per message, in order on each
// connection and concurrently across connections, and writes back the
// reply; the handler sees the sender ([Peer]: addresses, listener, TLS
// state with the verified client certificate) through [PeerFromContext].
// The Handler interface is transport-neutral, in the manner of
// net/http.Handler, so the same handler can serve other transports.
//
// Limits, each closing the connection when exceeded:
//
//   - MaxMessageSize: a frame larger than this is never buffered whole.
//     The server stops buffering at the limit. If the Handler is an
//     [OversizeHandler], it is given the frame's first bytes (where the
//     MSH segment is) and the limit, and its reply (an HL7 reject naming
//     the limit) is sent; the server then reads and throws away the rest
//     of the frame up to its end block, within MaxOversizeDiscard bytes
//     and the read timeout, so that the sender reads the reply rather than
//     a reset, and closes the connection: what follows the frame is not
//     read. A sender can so tell a permanent rejection from a network
//     fault. Without an OversizeHandler the connection is closed at once
//     without a reply.
//   - ReadTimeout: from a frame's start block to its end block (a slow
//     sender within it is fine), and for the TLS handshake.
//   - IdleTimeout: between messages (garbage bytes do not reset it).
//   - WriteTimeout: for writing one reply.
//   - MaxConnections: a connection beyond it is closed as soon as it is
//     accepted (before any TLS handshake), rather than left waiting. The
//     sender learns at once that it must retry later, and a flood of
//     connections costs the server nothing but the accept.
//
// A connection closed abruptly in the middle of a frame never reaches the
// handler. Memory per connection is bounded: a 16 KiB read buffer, reused,
// plus a message buffer that grows up to MaxMessageSize only for a message
// that spans reads and is released after a large one.
//
// # Shutdown
//
// [Server.Shutdown] stops accepting (new connections are refused), closes
// idle connections at once, lets each connection that is receiving or
// handling a message finish it and write its reply, and then closes it. It
// returns when all connections are closed, or when its context ends.
// [Server.Close] closes everything at once and cancels the handlers'
// contexts.
//
// # Client
//
// A [Client] sends a message and waits for its reply on one connection,
// serialising concurrent callers. A broken connection is replaced on the
// next Send. A message is resent automatically only if it certainly did not
// reach the server (it was not written in full); once it may have been
// delivered, Send returns an error wrapping [ErrUnconfirmed] and leaves the
// decision to the caller, unless [ClientOptions].Resend is set.
//
// # Metrics
//
// The package has no metrics dependency: a [Server]'s [Observer] receives
// an [Event] for each accepted, rejected and closed connection, failed TLS
// handshake, handled message and run of discarded bytes, from which the
// application feeds its own metrics.
package mllp
