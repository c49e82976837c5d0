package portal

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ClientAddr returns a function that finds a request's client address:
// the connection's remote IP, unless that is one of trusted (reverse
// proxies such as HAProxy with "option forwardfor"), in which case the
// rightmost X-Forwarded-For entry that is not itself a trusted proxy. Only
// what a trusted proxy appended is believed: a client cannot choose its
// address for the sign-in throttle by sending the header itself.
func ClientAddr(trusted []netip.Prefix) func(*http.Request) string {
	isTrusted := func(a netip.Addr) bool {
		a = a.Unmap()
		for _, p := range trusted {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	return func(r *http.Request) string {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		a, err := netip.ParseAddr(host)
		if err != nil || !isTrusted(a) {
			return host
		}
		var hops []string
		for _, v := range r.Header.Values("X-Forwarded-For") {
			for _, h := range strings.Split(v, ",") {
				if h = strings.TrimSpace(h); h != "" {
					hops = append(hops, h)
				}
			}
		}
		for i := len(hops) - 1; i >= 0; i-- {
			a, err := netip.ParseAddr(hops[i])
			if err != nil {
				return hops[i] // garbage a trusted proxy passed on: its own key
			}
			if !isTrusted(a) {
				return a.Unmap().String()
			}
		}
		return host // only proxies: the nearest one
	}
}

// ParsePrefixes reads addresses and CIDR prefixes ("10.0.0.0/8",
// "192.0.2.7") for ClientAddr.
func ParsePrefixes(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range list {
		s = strings.TrimSpace(s)
		if !strings.Contains(s, "/") {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return nil, fmt.Errorf("trusted proxies: %w", err)
			}
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("trusted proxies: %w", err)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}
