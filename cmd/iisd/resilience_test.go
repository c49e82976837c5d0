package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
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
	// 10,000 idle connections, held by a child process (this test binary
	// again, see TestHoldConnections) so that each process stays under the
	// machine's 20,000-descriptor limit.
	const idle = 10000
	s := startTest(t, func(c *Config) {
		c.MLLPMaxConnections = idle + 100
		c.MLLPMaxMessageSize = 1 << 20
		c.MLLPReadTimeout = 2 * time.Second
	})
	addr := s.mllpLn.Addr().String()
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	// Idle connections, from another process.
	holder := exec.Command(os.Args[0], "-test.run=^TestHoldConnections$")
	holder.Env = append(os.Environ(), "IIS_HOLD_ADDR="+addr, "IIS_HOLD_N="+strconv.Itoa(idle))
	stdin, _ := holder.StdinPipe()
	stdout, _ := holder.StdoutPipe()
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		holder.Wait()
	}()
	ready := bufio.NewScanner(stdout)
	for ready.Scan() && !strings.HasPrefix(ready.Text(), "holding ") {
	}
	if !strings.HasPrefix(ready.Text(), "holding "+strconv.Itoa(idle)) {
		t.Fatalf("the holder process did not open its connections: %q", ready.Text())
	}
	go io.Copy(io.Discard, stdout)

	var wg sync.WaitGroup
	// A 100 MB message: the server stops buffering at its limit, answers
	// AR naming the limit (MSA-2 from the frame's MSH), throws the rest of
	// the frame away and closes the connection; it never buffers the
	// whole thing.
	wg.Add(1)
	var hugeErr error
	go func() {
		defer wg.Done()
		hugeErr = sendHuge(addr, 100, 1<<20)
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
	// A new connection is still accepted and served next to the idle ones.
	c2, err := mllp.Dial(context.Background(), addr, &mllp.ClientOptions{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if reply, err := c2.Send(context.Background(), msg); err != nil || len(reply) == 0 {
		t.Errorf("new connection beside %d idle ones not served: %v", idle, err)
	}
}

// TestHoldConnections is the child process of TestResilience: it opens
// IIS_HOLD_N connections to IIS_HOLD_ADDR, says so, and holds them until
// its standard input closes. Run on its own it does nothing.
func TestHoldConnections(t *testing.T) {
	addr, n := os.Getenv("IIS_HOLD_ADDR"), os.Getenv("IIS_HOLD_N")
	if addr == "" {
		t.Skip("child of TestResilience")
	}
	count, _ := strconv.Atoi(n)
	conns := make([]net.Conn, 0, count)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range count {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			fmt.Printf("failed after %d: %v\n", len(conns), err)
			return
		}
		conns = append(conns, c)
	}
	fmt.Printf("holding %d\n", len(conns))
	io.Copy(io.Discard, os.Stdin)
}

// sendHuge sends a frame of mb MiB, an MSH segment then filler, to an
// iisd whose limit is limit bytes, and checks the answer: AR for the
// frame's MSH-10 with an ERR naming the limit, then the connection closed.
func sendHuge(addr string, mb, limit int) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Minute))
	werr := make(chan error, 1)
	go func() {
		chunk := bytes.Repeat([]byte("OBX|1|ST|X||YYYYYYYYYYYYYYYYYYYYYYYYYY\r"), (1<<20)/40)
		head := "\x0bMSH|^~\\&|EHR|HUGECLINIC|IIS|STATE|20261125||VXU^V04^VXU_V04|HUGE-1|P|2.5.1|||ER|AL\r"
		if _, err := c.Write([]byte(head)); err != nil {
			werr <- err
			return
		}
		for range mb {
			if _, err := c.Write(chunk); err != nil {
				werr <- err
				return
			}
		}
		_, err := c.Write([]byte{0x1c, 0x0d})
		werr <- err
	}()
	rd := mllp.NewReader(c, 0)
	reply, err := rd.ReadMessage()
	if err != nil {
		return fmt.Errorf("no answer: %w", err)
	}
	m, err := hl7.Parse(reply)
	want := strconv.Itoa(limit) + " bytes"
	if err != nil || !m.Get("MSA-1").Equal("AR") || !m.Get("MSA-2").Equal("HUGE-1") || !m.Get("ERR-3.1").Equal("207") ||
		!strings.Contains(m.Get("ERR-8").String(), want) {
		return fmt.Errorf("answer %q, want AR for HUGE-1 with an ERR naming %s", reply, want)
	}
	if err := <-werr; err != nil {
		return fmt.Errorf("the server did not read the frame to its end: %w", err)
	}
	if extra, err := rd.ReadMessage(); err == nil || !errors.Is(err, io.EOF) {
		return fmt.Errorf("after the answer: %q, %v; want the connection closed", extra, err)
	}
	return nil
}
