package mllp

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// testCA is a certificate authority made up for a test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newTestCA(t testing.TB, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

// issue makes a leaf certificate: for the loopback server, or for a client
// (a facility) named cn.
func (ca *testCA) issue(t testing.TB, cn string, server bool) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"Test Clinic"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// peerHandler answers with the client certificate's common name (or
// "none") in MSA-3, so the test sees what the handler saw.
var peerHandler HandlerFunc = func(ctx context.Context, msg []byte) []byte {
	p, _ := PeerFromContext(ctx)
	cn := "none"
	if cert := p.Certificate(); cert != nil {
		cn = cert.Subject.CommonName
	}
	tlsState := "plain"
	if p.TLS != nil {
		tlsState = "tls"
	}
	return []byte("MSA|AA|" + cn + "|" + tlsState)
}

func TestTLS(t *testing.T) {
	ca := newTestCA(t, "Test IIS CA")
	otherCA := newTestCA(t, "Someone Else's CA")
	serverCert := ca.issue(t, "127.0.0.1", true)
	facility := ca.issue(t, "facility-123", false)
	stranger := otherCA.issue(t, "facility-999", false)

	tests := []struct {
		name       string
		clientAuth tls.ClientAuthType
		clientCert *tls.Certificate
		want       string // reply, or "" if the connection must be refused
	}{
		{name: "server-only TLS", clientAuth: tls.NoClientCert, want: "MSA|AA|none|tls"},
		{name: "mutual TLS", clientAuth: tls.RequireAndVerifyClientCert, clientCert: &facility, want: "MSA|AA|facility-123|tls"},
		{name: "optional client cert given", clientAuth: tls.VerifyClientCertIfGiven, clientCert: &facility, want: "MSA|AA|facility-123|tls"},
		{name: "optional client cert absent", clientAuth: tls.VerifyClientCertIfGiven, want: "MSA|AA|none|tls"},
		{name: "unverified cert is not an identity", clientAuth: tls.RequireAnyClientCert, clientCert: &stranger, want: "MSA|AA|none|tls"},
		{name: "no client cert when required", clientAuth: tls.RequireAndVerifyClientCert},
		{name: "client cert from another CA", clientAuth: tls.RequireAndVerifyClientCert, clientCert: &stranger},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRecorder()
			srv := &Server{
				Handler:  peerHandler,
				Observer: rec,
				TLSConfig: &tls.Config{
					Certificates: []tls.Certificate{serverCert},
					ClientAuth:   tt.clientAuth,
					ClientCAs:    ca.pool,
				},
			}
			addr, _ := serve(t, srv)
			cfg := &tls.Config{RootCAs: ca.pool}
			if tt.clientCert != nil {
				// Sent whatever CAs the server names, so that the server
				// is the one to judge it.
				cert := tt.clientCert
				cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
			}
			ctx := context.Background()
			var reply []byte
			cl, err := Dial(ctx, addr, &ClientOptions{TLSConfig: cfg, MaxRetries: -1})
			if err == nil {
				defer cl.Close()
				// With TLS 1.3 the client may learn of its rejection only
				// when it reads.
				reply, err = cl.Send(ctx, vxu("TLS"))
			}
			if tt.want == "" {
				if err == nil {
					t.Fatalf("connection accepted, reply %q", reply)
				}
				e := rec.waitFor(t, EventHandshakeFailed, 1)
				if e.Err == nil {
					t.Errorf("handshake failure without an error")
				}
				if n := rec.count(EventMessage); n != 0 {
					t.Errorf("%d messages handled on a refused connection", n)
				}
				return
			}
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			if string(reply) != tt.want {
				t.Errorf("reply %q, want %q", reply, tt.want)
			}
		})
	}
}

// TestTLSPlainClientRefused: a plain-TCP sender on a TLS port gets no
// handler call.
func TestTLSPlainClientRefused(t *testing.T) {
	ca := newTestCA(t, "Test IIS CA")
	h := &echo{}
	rec := newRecorder()
	addr, _ := serve(t, &Server{Handler: h, Observer: rec, TLSConfig: &tls.Config{
		Certificates: []tls.Certificate{ca.issue(t, "127.0.0.1", true)},
	}})
	c := dialRaw(t, addr)
	c.write(t, frame(vxu("PLAIN")))
	if msg, err := c.r.ReadMessage(); err == nil {
		t.Fatalf("plain client got a reply %q", msg)
	}
	rec.waitFor(t, EventHandshakeFailed, 1)
	if h.calls.Load() != 0 {
		t.Errorf("handler called for a plain client")
	}
}

// TestTLSClientReconnect: the client's stale-connection check works over
// TLS too (the server closes idle connections with a close_notify).
func TestTLSClientReconnect(t *testing.T) {
	ca := newTestCA(t, "Test IIS CA")
	rec := newRecorder()
	srv := &Server{Handler: &echo{}, Observer: rec, IdleTimeout: 300 * time.Millisecond, TLSConfig: &tls.Config{
		Certificates: []tls.Certificate{ca.issue(t, "127.0.0.1", true)},
	}}
	addr, _ := serve(t, srv)
	cl, err := Dial(context.Background(), addr, &ClientOptions{TLSConfig: &tls.Config{RootCAs: ca.pool}, MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for i, id := range []string{"T1", "T2"} {
		m := vxu(id)
		reply, err := cl.Send(context.Background(), m)
		if err != nil || !bytes.Equal(reply, ackFor(m)) {
			t.Fatalf("Send %s: %q, %v", id, reply, err)
		}
		rec.waitFor(t, EventConnClosed, i+1) // idle timeout
	}
	if n := rec.count(EventConnAccepted); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}
}

// TestTLSHandshakeTimeout: a client that connects to a TLS port and sends
// nothing is dropped after the read timeout.
func TestTLSHandshakeTimeout(t *testing.T) {
	ca := newTestCA(t, "Test IIS CA")
	rec := newRecorder()
	addr, _ := serve(t, &Server{Handler: &echo{}, Observer: rec, ReadTimeout: 200 * time.Millisecond, TLSConfig: &tls.Config{
		Certificates: []tls.Certificate{ca.issue(t, "127.0.0.1", true)},
	}})
	c := dialRaw(t, addr)
	c.expectClosed(t)
	if e := rec.waitFor(t, EventHandshakeFailed, 1); e.Err == nil {
		t.Errorf("handshake failure without an error")
	}
}

// TestServerConnContext: ConnContext runs once per connection, after the
// TLS handshake (it sees the client certificate), and what it adds to the
// context reaches the handler with every message of that connection.
func TestServerConnContext(t *testing.T) {
	ca := newTestCA(t, "Test IIS CA")
	serverCert := ca.issue(t, "127.0.0.1", true)
	facility := ca.issue(t, "facility-123", false)
	type key struct{}
	var calls atomic.Int32
	srv := &Server{
		Handler: HandlerFunc(func(ctx context.Context, msg []byte) []byte {
			v, _ := ctx.Value(key{}).(string)
			return []byte("MSA|AA|" + v)
		}),
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{serverCert}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: ca.pool},
		ConnContext: func(ctx context.Context, p Peer) context.Context {
			calls.Add(1)
			cn := "none"
			if c := p.Certificate(); c != nil {
				cn = c.Subject.CommonName
			}
			return context.WithValue(ctx, key{}, cn)
		},
	}
	addr, _ := serve(t, srv)
	ctx := context.Background()
	cl, err := Dial(ctx, addr, &ClientOptions{TLSConfig: &tls.Config{RootCAs: ca.pool, Certificates: []tls.Certificate{facility}}})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for i := range 3 {
		reply, err := cl.Send(ctx, vxu(fmt.Sprint("CC", i)))
		if err != nil || string(reply) != "MSA|AA|facility-123" {
			t.Fatalf("message %d: %q, %v", i, reply, err)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("ConnContext called %d times for one connection", n)
	}
}
