package main

import (
	"net"
	"testing"
)

func TestLinkAddress(t *testing.T) {
	for _, tc := range []struct {
		addr string
		tls  bool
		want string
	}{
		{"127.0.0.1:8080", false, "http://127.0.0.1:8080"},
		{"0.0.0.0:8080", true, "https://localhost:8080"},
		{"[::]:8443", true, "https://localhost:8443"},
		{"[2001:db8::1]:80", false, "http://[2001:db8::1]:80"},
	} {
		a, err := net.ResolveTCPAddr("tcp", tc.addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := linkAddress(a, tc.tls); got != tc.want {
			t.Errorf("linkAddress(%s) = %q, want %q", tc.addr, got, tc.want)
		}
	}
}
