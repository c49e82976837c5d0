package main

import "net"

// linkAddress is the people's pages' address for mailed links when
// -public-url is not set: the HTTP listener's, with "localhost" for an
// unspecified host (0.0.0.0, ::), which only works on this machine: set
// -public-url for anything else.
func linkAddress(ln net.Addr, tls bool) string {
	scheme := "http"
	if tls {
		scheme = "https"
	}
	host, port, err := net.SplitHostPort(ln.String())
	if err != nil {
		return scheme + "://" + ln.String()
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}
