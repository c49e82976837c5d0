package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestOversizeAnswered: with the default 4 MiB limits, a 50 MB message
// gets a reject that names the limit rather than a reset: over MLLP an AR
// (then the connection is closed), over SOAP a MessageTooLargeFault (HTTP
// 400, as the SOAP 1.2 binding has it for a Sender fault; the CDC fault
// detail carries 413) after the server read the body to its end, so that
// the sender reads the fault instead of a reset.
func TestOversizeAnswered(t *testing.T) {
	s := startTest(t, nil)
	start := time.Now()
	if err := sendHuge(s.mllpLn.Addr().String(), 50, 4<<20); err != nil {
		t.Errorf("MLLP: %v", err)
	}
	t.Logf("MLLP: 50 MiB frame sent, answered and closed in %v", time.Since(start).Round(time.Millisecond))

	// SOAP, with and without a declared length.
	envelope := func(n int) io.Reader {
		return io.MultiReader(strings.NewReader(`<?xml version="1.0"?><soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope" xmlns:urn="urn:cdc:iisb:2011"><soap:Body><urn:submitSingleMessage><urn:username>clinic</urn:username><urn:password>s3cret</urn:password><urn:facilityID>CLINIC1</urn:facilityID><urn:hl7Message>`),
			bytes.NewReader(bytes.Repeat([]byte("A"), n)), strings.NewReader(`</urn:hl7Message></urn:submitSingleMessage></soap:Body></soap:Envelope>`))
	}
	for _, chunked := range []bool{false, true} {
		body := envelope(50 << 20)
		req, _ := http.NewRequest("POST", "http://"+s.httpLn.Addr().String()+"/soap", body)
		req.Header.Set("Content-Type", "application/soap+xml; charset=utf-8")
		if !chunked {
			b, _ := io.ReadAll(body)
			req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Errorf("SOAP (chunked %v): %v", chunked, err)
			continue
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !bytes.Contains(out, []byte("MessageTooLargeFault")) ||
			!bytes.Contains(out, []byte("4194304 bytes")) {
			t.Errorf("SOAP (chunked %v): %d %s", chunked, resp.StatusCode, out)
		}
	}
}

// TestSOAPOversizeReadToEnd: the SOAP server reads an oversized body to
// its end (within a bound) before closing, so a sender still writing it
// is not reset and reads the fault.
func TestSOAPOversizeReadToEnd(t *testing.T) {
	s := startTest(t, nil)
	c, err := net.Dial("tcp", s.httpLn.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Minute))
	const n = 50 << 20
	werr := make(chan error, 1)
	go func() {
		fmt.Fprintf(c, "POST /soap HTTP/1.1\r\nHost: iis\r\nContent-Type: application/soap+xml\r\nContent-Length: %d\r\n\r\n", n)
		chunk := bytes.Repeat([]byte("A"), 1<<20)
		var err error
		for i := 0; i < n>>20 && err == nil; i++ {
			_, err = c.Write(chunk)
		}
		werr <- err
	}()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no response: %v", err)
	}
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusBadRequest || !bytes.Contains(out, []byte("MessageTooLargeFault")) {
		t.Errorf("%d %s", resp.StatusCode, out)
	}
	if err := <-werr; err != nil {
		t.Errorf("the server did not read the body to its end: %v", err)
	}
}
