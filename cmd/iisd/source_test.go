package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"testing"

	"github.com/iisproject/iis/ingest"
	"github.com/iisproject/iis/mllp"
)

// TestMLLPSource: an MLLP connection's sender is the verified client
// certificate's common name, authenticated; without one, nobody in
// particular (MSH-4 will name the facility).
func TestMLLPSource(t *testing.T) {
	cert := &x509.Certificate{Subject: pkix.Name{CommonName: "CLINIC7"}}
	for _, tt := range []struct {
		name string
		peer mllp.Peer
		want ingest.Source
	}{
		{"plain", mllp.Peer{}, ingest.Source{Transport: "mllp"}},
		{"TLS without a client certificate", mllp.Peer{TLS: &tls.ConnectionState{}}, ingest.Source{Transport: "mllp"}},
		{"mutual TLS", mllp.Peer{TLS: &tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{cert}}}},
			ingest.Source{Transport: "mllp", Facility: "CLINIC7", Authenticated: true}},
	} {
		got, ok := ingest.SourceFromContext(mllpSource(context.Background(), tt.peer))
		if !ok || got != tt.want {
			t.Errorf("%s: %+v, %v; want %+v", tt.name, got, ok, tt.want)
		}
	}
}
