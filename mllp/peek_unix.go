//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package mllp

import (
	"net"
	"syscall"
)

// peek looks, without blocking or consuming anything, whether conn (a TCP
// connection) has bytes waiting or has been closed by the peer.
func peek(conn net.Conn) int {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return peekEmpty
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return peekClosed
	}
	result := peekEmpty
	var b [1]byte
	err = rc.Read(func(fd uintptr) bool {
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case n > 0:
			result = peekData
		case err == syscall.EAGAIN || err == syscall.EWOULDBLOCK || err == syscall.EINTR:
			result = peekEmpty
		default: // n == 0 without error is the peer's FIN; other errors are fatal
			result = peekClosed
		}
		return true
	})
	if err != nil {
		return peekClosed
	}
	return result
}
