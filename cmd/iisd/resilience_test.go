package main

import (
	"context"
	"errors"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/iisproject/iis/hl7"
	"github.com/iisproject/iis/mllp"
)

// TestResilience: thousands of idle connections, a 100 MB message and a
// slowloris sender at once; the server stays up, its memory stays bounded,
// and a well-behaved sender keeps being answered.
func TestResilience(t *testing.T) {
	if testing.Short() {
		t.Skip("resilience test in -short mode")
	}
	const idle = 4000 // each costs two descriptors in this process; the limit here is 20,000
	s := startTest(t, func(c *Config) {
		c.MLLPMaxConnections = idle + 100
		c.MLLPMaxMessageSize = 1 << 20
		c.MLLPReadTimeout = 2 * time.Second
	})
	addr := s.mllpLn.Addr().String()
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	// Idle connections.
	conns := make([]net.Conn, 0, idle)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range idle {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("after %d connections: %v", len(conns), err)
		}
		conns = append(conns, c)
	}

	var wg sync.WaitGroup
	// A 100 MB message: the server stops reading at its limit and closes
	// the connection; it never buffers the whole thing.
	wg.Add(1)
	var hugeErr error
	go func() {
		defer wg.Done()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			hugeErr = err
			return
		}
		defer c.Close()
		chunk := make([]byte, 1<<20)
		for i := range chunk {
			chunk[i] = 'A'
		}
		c.Write([]byte{0x0b})
		for range 100 {
			if _, err := c.Write(chunk); err != nil {
				return // closed by the server: what we want
			}
		}
		hugeErr = errNotClosed
	}()
	// Slowloris: a frame trickling in one byte every 100 ms.
	wg.Add(1)
	go func() {
		defer wg.Done()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return
		}
		defer c.Close()
		c.Write([]byte{0x0b})
		for range 60 {
			if _, err := c.Write([]byte("M")); err != nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()

	// Meanwhile a normal sender is served.
	msg := readSample(t, "nist/vxu_z22_nist_iz001_child_flu_ndc_vfc_v05_vis.hl7")
	client, err := mllp.Dial(context.Background(), addr, &mllp.ClientOptions{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	for i := range 50 {
		reply, err := client.Send(context.Background(), msg)
		if err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		if ack, err := hl7.Parse(reply); err != nil || !ack.Get("MSA-1").Equal("AA") {
			t.Fatalf("reply %d: %q", i, reply)
		}
		time.Sleep(20 * time.Millisecond)
	}
	wg.Wait()
	if hugeErr != nil {
		t.Errorf("100 MB sender: %v", hugeErr)
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	grew := int64(after.HeapInuse) - int64(before.HeapInuse)
	t.Logf("heap in use grew by %d MB with %d idle connections", grew>>20, idle)
	if grew > 256<<20 {
		t.Errorf("heap grew by %d MB", grew>>20)
	}
	// The idle connections are still open and usable.
	c := conns[0]
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if err := mllp.WriteMessage(c, msg); err != nil {
		t.Fatal(err)
	}
	r := mllp.NewReader(c, 1<<20)
	if reply, err := r.ReadMessage(); err != nil || len(reply) == 0 {
		t.Errorf("idle connection not served: %v", err)
	}
}

var errNotClosed = errors.New("the server read a 100 MB message to its end instead of closing the connection at its limit")
