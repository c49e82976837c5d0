package mllp_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log"
	"net"
	"time"

	"github.com/iisproject/iis/mllp"
)

func Example() {
	// A handler answers every message; a real one parses it, queues it
	// and builds an ACK from its MSH.
	handler := mllp.HandlerFunc(func(ctx context.Context, msg []byte) []byte {
		peer, _ := mllp.PeerFromContext(ctx)
		_ = peer.RemoteAddr // authorise the facility by address or certificate
		return []byte("MSH|^~\\&|IIS|IIS|||20250101||ACK^V04^ACK|1|P|2.5.1\rMSA|AA|1\r")
	})
	srv := &mllp.Server{
		Handler:        handler,
		MaxMessageSize: 1 << 20,
		ReadTimeout:    30 * time.Second,
		IdleTimeout:    10 * time.Minute,
		MaxConnections: 500,
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go srv.Serve(l)

	cl, err := mllp.Dial(context.Background(), l.Addr().String(), &mllp.ClientOptions{Timeout: 10 * time.Second})
	if err != nil {
		log.Fatal(err)
	}
	reply, err := cl.Send(context.Background(), []byte("MSH|^~\\&|EHR|CLINIC|IIS|IIS|20250101||VXU^V04^VXU_V04|1|P|2.5.1\r"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%q\n", reply[len(reply)-9:])
	cl.Close()

	// Graceful stop: in-flight messages are answered first.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		srv.Close()
	}
	// Output: "MSA|AA|1\r"
}

// A server requiring client certificates: the handler reads the verified
// certificate from the peer.
func ExampleServer_mutualTLS() {
	var serverCert tls.Certificate // from tls.LoadX509KeyPair
	var facilityCAs *x509.CertPool // the CAs that sign facilities' certificates

	srv := &mllp.Server{
		Addr: ":2576",
		Name: "mllp-tls",
		TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{serverCert},
			ClientAuth:   tls.RequireAndVerifyClientCert,
			ClientCAs:    facilityCAs,
			MinVersion:   tls.VersionTLS12,
		},
		Handler: mllp.HandlerFunc(func(ctx context.Context, msg []byte) []byte {
			peer, _ := mllp.PeerFromContext(ctx)
			if cert := peer.Certificate(); cert != nil {
				_ = cert.Subject.CommonName // look the facility up by its certificate
			}
			return nil
		}),
	}
	_ = srv // srv.ListenAndServe()
}
