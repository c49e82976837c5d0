package portal

import (
	"net/http"
	"testing"
)

func TestClientAddr(t *testing.T) {
	trusted, err := ParsePrefixes([]string{"10.0.0.0/8", "192.0.2.7"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParsePrefixes([]string{"not-an-address"}); err == nil {
		t.Error("bad prefix accepted")
	}
	addr := ClientAddr(trusted)
	tests := []struct {
		remote string
		xff    []string
		want   string
	}{
		{"198.51.100.4:5000", nil, "198.51.100.4"},
		{"198.51.100.4:5000", []string{"203.0.113.9"}, "198.51.100.4"}, // not from a proxy: the header is ignored
		{"10.1.2.3:5000", []string{"203.0.113.9"}, "203.0.113.9"},
		{"10.1.2.3:5000", []string{"6.6.6.6, 203.0.113.9"}, "203.0.113.9"},              // the client's own header is left of what the proxy added
		{"10.1.2.3:5000", []string{"6.6.6.6", "203.0.113.9, 192.0.2.7"}, "203.0.113.9"}, // two proxies
		{"10.1.2.3:5000", []string{"10.9.9.9"}, "10.1.2.3"},                             // only proxies
		{"10.1.2.3:5000", nil, "10.1.2.3"},
		{"[::ffff:10.1.2.3]:5000", []string{"2001:db8::1"}, "2001:db8::1"},
		{"192.0.2.7:1", []string{"::ffff:203.0.113.9"}, "203.0.113.9"},
		{"10.1.2.3:5000", []string{"unknown"}, "unknown"},
	}
	for _, tc := range tests {
		r, _ := http.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.remote
		for _, v := range tc.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := addr(r); got != tc.want {
			t.Errorf("%s %q: %q, want %q", tc.remote, tc.xff, got, tc.want)
		}
	}
}
