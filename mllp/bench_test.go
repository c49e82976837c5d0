package mllp

import (
	"context"
	"crypto/tls"
	"fmt"
	"testing"
)

// benchACK is the fixed reply of the benchmark server: a small HL7 ACK.
var benchACK = []byte("MSH|^~\\&|IIS|IIS|TESTEHR|TESTCLINIC|20250101120000||ACK^V04^ACK|ACK00001|P|2.5.1\rMSA|AA|BENCH\r")

var fixedACK HandlerFunc = func(ctx context.Context, msg []byte) []byte { return benchACK }

func benchDial(b *testing.B, addr string, opts *ClientOptions) *Client {
	cl, err := Dial(context.Background(), addr, opts)
	if err != nil {
		b.Fatal(err)
	}
	return cl
}

// benchSequential sends VXU messages one at a time over one connection.
func benchSequential(b *testing.B, addr string, opts *ClientOptions) {
	cl := benchDial(b, addr, opts)
	defer cl.Close()
	msg := vxu("BENCH")
	ctx := context.Background()
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if _, err := cl.Send(ctx, msg); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkRoundTrip: one connection, a VXU out and a fixed small ACK
// back, sequentially (client and server on loopback in this process).
func BenchmarkRoundTrip(b *testing.B) {
	addr, _ := serve(b, &Server{Handler: fixedACK})
	benchSequential(b, addr, nil)
}

// BenchmarkRoundTripTLS is BenchmarkRoundTrip over mutual TLS.
func BenchmarkRoundTripTLS(b *testing.B) {
	ca := newTestCA(b, "Bench CA")
	addr, _ := serve(b, &Server{Handler: fixedACK, TLSConfig: &tls.Config{
		Certificates: []tls.Certificate{ca.issue(b, "127.0.0.1", true)},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    ca.pool,
	}})
	benchSequential(b, addr, &ClientOptions{TLSConfig: &tls.Config{
		RootCAs:      ca.pool,
		Certificates: []tls.Certificate{ca.issue(b, "bench-facility", false)},
	}})
}

// BenchmarkRoundTripParallel: N connections (N = parallelism × GOMAXPROCS),
// each sending sequentially; msgs/s is the total over all of them.
func BenchmarkRoundTripParallel(b *testing.B) {
	for _, p := range []int{2, 8, 32} {
		b.Run(fmt.Sprintf("conns=%d", p*testingProcs()), func(b *testing.B) {
			addr, _ := serve(b, &Server{Handler: fixedACK})
			msg := vxu("BENCH")
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			b.SetParallelism(p)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				cl := benchDial(b, addr, nil)
				defer cl.Close()
				ctx := context.Background()
				for pb.Next() {
					if _, err := cl.Send(ctx, msg); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

// BenchmarkReader: decoding frames from memory, 64 VXU messages per pass,
// delivered in 1500-byte reads (one Ethernet MTU each).
func BenchmarkReader(b *testing.B) {
	var stream []byte
	for i := range 64 {
		stream = appendFrame(stream, vxu(fmt.Sprintf("R%03d", i)))
	}
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	src := &chunkReader{}
	r := NewReader(src, 0)
	msgs := 0
	for b.Loop() {
		src.data, src.n = stream, 1500
		r.err = nil
		for {
			if _, err := r.ReadMessage(); err != nil {
				break
			}
			msgs++
		}
	}
	b.ReportMetric(float64(msgs)/b.Elapsed().Seconds(), "msgs/s")
}
