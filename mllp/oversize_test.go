package mllp

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// refuser answers messages as echo does, and a frame over the limit with a
// reply naming the head's first segment and the limit.
type refuser struct {
	echo
	oversize atomic.Int64
	head     atomic.Value // string
}

func (h *refuser) ServeOversize(ctx context.Context, head []byte, limit int) []byte {
	h.oversize.Add(1)
	h.head.Store(string(head))
	first, _, _ := bytes.Cut(head, []byte("\r"))
	return append([]byte("MSH|^~\\&|IIS|IIS\rMSA|AR|too large: limit "+strconv.Itoa(limit)+" bytes|"), first...)
}

// hugeFrame is a frame whose content is an MSH segment followed by n bytes
// of OBX segments.
func hugeFrame(n int) []byte {
	b := make([]byte, 0, n+200)
	b = append(b, StartBlock)
	b = append(b, "MSH|^~\\&|EHR|CLINIC|IIS|IIS|20250101||VXU^V04^VXU_V04|BIG42|P|2.5.1\r"...)
	seg := []byte("OBX|1|ST|X||YYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYY\r")
	for len(b) < n {
		b = append(b, seg...)
	}
	return append(b, EndBlock, CarriageReturn)
}

// TestServerOversizeAnswered: a 50 MB frame against a 4 MiB limit is read
// to its end block and thrown away, its sender gets the handler's
// oversize reply (built from the frame's head), and the connection is then
// closed; memory is not spent on the frame.
func TestServerOversizeAnswered(t *testing.T) {
	h := &refuser{}
	rec := newRecorder()
	addr, _ := serve(t, &Server{Handler: h, Observer: rec, MaxMessageSize: 4 << 20})
	c := dialRaw(t, addr)
	good := vxu("OK1")
	c.write(t, frame(good))
	c.expectReply(t, good)

	big := hugeFrame(50 << 20)
	werr := make(chan error, 1)
	go func() { _, err := c.Write(big); werr <- err }()
	reply, err := c.r.ReadMessage()
	if err != nil {
		t.Fatalf("no reply to the oversized frame: %v", err)
	}
	want := "MSA|AR|too large: limit 4194304 bytes|MSH|^~\\&|EHR|CLINIC|IIS|IIS|20250101||VXU^V04^VXU_V04|BIG42|P|2.5.1"
	if !bytes.Contains(reply, []byte(want)) {
		t.Fatalf("reply %q, want it to contain %q", reply, want)
	}
	if err := <-werr; err != nil {
		t.Errorf("the server did not read the frame to its end: %v", err)
	}
	c.expectClosed(t)
	e := rec.waitFor(t, EventConnClosed, 1)
	if !errors.Is(e.Err, ErrMessageTooLarge) {
		t.Errorf("closed with %v, want ErrMessageTooLarge", e.Err)
	}
	if head, _ := h.head.Load().(string); len(head) == 0 || len(head) > maxHead {
		t.Errorf("head of %d bytes handed to the handler", len(head))
	}
	if h.calls.Load() != 1 || h.oversize.Load() != 1 {
		t.Errorf("handler calls %d, oversize calls %d; want 1, 1", h.calls.Load(), h.oversize.Load())
	}
}

// TestServerOversizeBounded: a frame that never ends is discarded only up
// to MaxOversizeDiscard, then the connection is closed; a slow one only
// until the read timeout.
func TestServerOversizeBounded(t *testing.T) {
	t.Run("endless", func(t *testing.T) {
		h := &refuser{}
		rec := newRecorder()
		addr, _ := serve(t, &Server{Handler: h, Observer: rec, MaxMessageSize: 64 << 10, MaxOversizeDiscard: 1 << 20})
		c := dialRaw(t, addr)
		go io.Copy(io.Discard, c) // read whatever comes back
		chunk := bytes.Repeat([]byte("A"), 64<<10)
		chunk[0] = StartBlock
		var err error
		for i := 0; i < 4096 && err == nil; i++ { // up to 256 MiB
			_, err = c.Write(chunk)
			chunk[0] = 'A'
		}
		if err == nil {
			t.Fatal("the server read 256 MiB of a frame that never ends")
		}
		if e := rec.waitFor(t, EventConnClosed, 1); !errors.Is(e.Err, ErrMessageTooLarge) {
			t.Errorf("closed with %v, want ErrMessageTooLarge", e.Err)
		}
	})
	t.Run("slow", func(t *testing.T) {
		h := &refuser{}
		rec := newRecorder()
		addr, _ := serve(t, &Server{Handler: h, Observer: rec, MaxMessageSize: 1 << 10, ReadTimeout: 500 * time.Millisecond})
		c := dialRaw(t, addr)
		c.write(t, append([]byte{StartBlock}, bytes.Repeat([]byte("B"), 2<<10)...))
		start := time.Now()
		if reply, err := c.r.ReadMessage(); err != nil || !bytes.Contains(reply, []byte("MSA|AR|too large: limit 1024 bytes")) {
			t.Fatalf("reply %q, %v", reply, err)
		}
		for time.Since(start) < wait {
			if _, err := c.Write([]byte("B")); err != nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		rec.waitFor(t, EventConnClosed, 1)
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("a trickling oversized frame held the connection for %v", d)
		}
	})
}

// TestReaderSkipFrame: after ErrMessageTooLarge the Reader hands out the
// frame's head and skips the rest to its end block, whatever the reads'
// segmentation.
func TestReaderSkipFrame(t *testing.T) {
	tests := []struct {
		name     string
		max      int
		stream   string
		limit    int64
		wantHead string
		wantErr  error
	}{
		{"end block in the same read", 8, "\x0bMSH|ABCDEFGHIJ\x1c\r", 100, "MSH|ABCD", nil},
		{"end block later", 8, "\x0bMSH|" + string(bytes.Repeat([]byte("x"), 100)) + "\x1c\r", 1000, "MSH|xxxx", nil},
		{"no end block within the limit", 8, "\x0bMSH|" + string(bytes.Repeat([]byte("x"), 100)) + "\x1c\r", 10, "MSH|xxxx", ErrFrameNotEnded},
		{"stream ends inside", 8, "\x0bMSH|" + string(bytes.Repeat([]byte("x"), 100)), 1000, "MSH|xxxx", ErrIncompleteFrame},
	}
	for _, tt := range tests {
		for _, chunk := range []int{1, 3, 1 << 20} {
			t.Run(tt.name+"/"+strconv.Itoa(chunk), func(t *testing.T) {
				r := NewReader(&chunkReader{data: []byte(tt.stream), n: chunk}, tt.max)
				if _, err := r.ReadMessage(); !errors.Is(err, ErrMessageTooLarge) {
					t.Fatalf("err %v, want ErrMessageTooLarge", err)
				}
				if string(r.Head()) != tt.wantHead {
					t.Errorf("head %q, want %q", r.Head(), tt.wantHead)
				}
				if _, err := r.SkipFrame(tt.limit); !errors.Is(err, tt.wantErr) {
					t.Errorf("SkipFrame: %v, want %v", err, tt.wantErr)
				}
			})
		}
	}
}
