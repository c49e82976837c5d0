//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package mllp

import (
	"net"
	"syscall"
)

// A prober looks, without blocking or consuming anything, whether a TCP
// connection has bytes waiting or has been closed by the peer. It is made
// once per connection so that a probe does not allocate.
type prober struct {
	rc     syscall.RawConn
	b      [1]byte
	result int
	fn     func(fd uintptr) bool
}

func newProber(conn net.Conn) *prober {
	p := &prober{}
	if sc, ok := conn.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			p.rc = rc
		}
	}
	p.fn = func(fd uintptr) bool {
		n, _, err := syscall.Recvfrom(int(fd), p.b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case n > 0 && (p.b[0] == CarriageReturn || p.b[0] == '\n'):
			p.result = peekEmpty // a late CR after an end block: the Reader drops it
		case n > 0:
			p.result = peekData
		case err == syscall.EAGAIN || err == syscall.EWOULDBLOCK || err == syscall.EINTR:
			p.result = peekEmpty
		default: // n == 0 without error is the peer's FIN; other errors are fatal
			p.result = peekClosed
		}
		return true // never wait
	}
	return p
}

func (p *prober) peek() int {
	if p.rc == nil {
		return peekEmpty
	}
	if err := p.rc.Read(p.fn); err != nil {
		return peekClosed
	}
	return p.result
}
