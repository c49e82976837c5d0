package mllp

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// chunkReader returns its data n bytes per Read.
type chunkReader struct {
	data []byte
	n    int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := min(r.n, len(p), len(r.data))
	copy(p, r.data[:n])
	r.data = r.data[n:]
	return n, nil
}

// readers gives the ways a test stream is delivered to a Reader.
var readers = []struct {
	name string
	wrap func([]byte) io.Reader
}{
	{"whole", func(b []byte) io.Reader { return bytes.NewReader(b) }},
	{"byte-by-byte", func(b []byte) io.Reader { return iotest.OneByteReader(bytes.NewReader(b)) }},
	{"chunks-of-7", func(b []byte) io.Reader { return &chunkReader{data: b, n: 7} }},
	{"data+EOF", func(b []byte) io.Reader { return iotest.DataErrReader(bytes.NewReader(b)) }},
}

func TestReader(t *testing.T) {
	tests := []struct {
		name      string
		max       int
		stream    string
		want      []string
		err       error // after the wanted messages
		discarded int64
	}{
		{name: "one frame", stream: "\x0bMSH|1\x1c\r", want: []string{"MSH|1"}, err: io.EOF},
		{name: "two frames merged", stream: "\x0bMSH|1\x1c\r\x0bMSH|2\x1c\r", want: []string{"MSH|1", "MSH|2"}, err: io.EOF},
		{name: "multi-segment message", stream: "\x0bMSH|1\rPID|1\rRXA|1\r\x1c\r", want: []string{"MSH|1\rPID|1\rRXA|1\r"}, err: io.EOF},
		{name: "garbage before start block", stream: "junk\r\n\x0bMSH|1\x1c\r", want: []string{"MSH|1"}, err: io.EOF, discarded: 6},
		{name: "garbage between frames", stream: "\x0bA\x1c\r\r\n\x0bB\x1c\r", want: []string{"A", "B"}, err: io.EOF, discarded: 2},
		{name: "garbage only", stream: "hello", err: io.EOF, discarded: 5},
		{name: "empty stream", stream: "", err: io.EOF},
		{name: "end block without CR at end", stream: "\x0bMSH|1\x1c", want: []string{"MSH|1"}, err: io.EOF},
		{name: "end block without CR then frame", stream: "\x0bA\x1c\x0bB\x1c\r", want: []string{"A", "B"}, err: io.EOF},
		{name: "end block followed by garbage", stream: "\x0bA\x1cxy\x0bB\x1c\r", want: []string{"A", "B"}, err: io.EOF, discarded: 2},
		{name: "start block inside frame restarts", stream: "\x0bAB\x0bMSH|2\x1c\r", want: []string{"MSH|2"}, err: io.EOF, discarded: 3},
		{name: "empty frame", stream: "\x0b\x1c\r\x0bA\x1c\r", want: []string{"", "A"}, err: io.EOF},
		{name: "end of stream inside frame", stream: "\x0bMSH|1\x1c\r\x0bMSH|2", want: []string{"MSH|1"}, err: ErrIncompleteFrame},
		{name: "end of stream right after start block", stream: "\x0b", err: ErrIncompleteFrame},
		{name: "at the size limit", max: 5, stream: "\x0b12345\x1c\r", want: []string{"12345"}, err: io.EOF},
		{name: "one byte over the limit", max: 5, stream: "\x0bA\x1c\r\x0b123456\x1c\r", want: []string{"A"}, err: ErrMessageTooLarge},
		{name: "over the limit without end block", max: 5, stream: "\x0b1234567890", err: ErrMessageTooLarge},
		{name: "garbage does not count toward the limit", max: 3, stream: "xxxxxxxxxx\x0babc\x1c\r", want: []string{"abc"}, err: io.EOF, discarded: 10},
		{name: "stray end block outside frame", stream: "\x1c\r\x0bA\x1c\r", want: []string{"A"}, err: io.EOF, discarded: 2},
	}
	for _, tt := range tests {
		for _, rd := range readers {
			t.Run(tt.name+"/"+rd.name, func(t *testing.T) {
				r := NewReader(rd.wrap([]byte(tt.stream)), tt.max)
				var got []string
				var err error
				for range 100 {
					var msg []byte
					msg, err = r.ReadMessage()
					if err != nil {
						break
					}
					got = append(got, string(msg))
				}
				if strings.Join(got, "|") != strings.Join(tt.want, "|") || len(got) != len(tt.want) {
					t.Errorf("messages = %q, want %q", got, tt.want)
				}
				if !errors.Is(err, tt.err) {
					t.Errorf("final error = %v, want %v", err, tt.err)
				}
				if r.Discarded() != tt.discarded {
					t.Errorf("Discarded() = %d, want %d", r.Discarded(), tt.discarded)
				}
				if _, err2 := r.ReadMessage(); !errors.Is(err2, tt.err) {
					t.Errorf("error not sticky: %v after %v", err2, err)
				}
			})
		}
	}
}

// countingReader serves an endless frame body and counts what it served.
type countingReader struct{ served int }

func (r *countingReader) Read(p []byte) (int, error) {
	if r.served == 0 {
		p[0] = StartBlock
		r.served = 1
		return 1, nil
	}
	for i := range p {
		p[i] = 'A'
	}
	r.served += len(p)
	return len(p), nil
}

func TestReaderStopsAtLimit(t *testing.T) {
	for _, max := range []int{10, 1000, 100_000, 1 << 20} {
		src := &countingReader{}
		r := NewReader(src, max)
		if _, err := r.ReadMessage(); !errors.Is(err, ErrMessageTooLarge) {
			t.Fatalf("max %d: err = %v, want ErrMessageTooLarge", max, err)
		}
		if limit := max + len(r.buf) + 1; src.served > limit {
			t.Errorf("max %d: read %d bytes of an endless frame, want at most %d", max, src.served, limit)
		}
		if cap(r.msg) > max {
			t.Errorf("max %d: message buffer grew to %d", max, cap(r.msg))
		}
	}
}

func TestReaderReleasesLargeBuffer(t *testing.T) {
	big := bytes.Repeat([]byte("A"), 200_000)
	var stream bytes.Buffer
	WriteMessage(&stream, big)
	WriteMessage(&stream, []byte("small"))
	r := NewReader(&chunkReader{data: stream.Bytes(), n: 4096}, 0)
	if msg, err := r.ReadMessage(); err != nil || !bytes.Equal(msg, big) {
		t.Fatalf("big message: %d bytes, %v", len(msg), err)
	}
	if msg, err := r.ReadMessage(); err != nil || string(msg) != "small" {
		t.Fatalf("small message: %q, %v", msg, err)
	}
	if cap(r.msg) > retainLimit {
		t.Errorf("message buffer of %d bytes kept after a large message", cap(r.msg))
	}
}

// stuckReader returns no data and no error, forever.
type stuckReader struct{}

func (stuckReader) Read([]byte) (int, error) { return 0, nil }

func TestReaderNoProgress(t *testing.T) {
	if _, err := NewReader(stuckReader{}, 0).ReadMessage(); !errors.Is(err, io.ErrNoProgress) {
		t.Errorf("err = %v, want io.ErrNoProgress", err)
	}
}

func TestEventKindString(t *testing.T) {
	for k := EventConnAccepted; k <= EventConnClosed; k++ {
		if s := k.String(); s == "" || strings.HasPrefix(s, "EventKind(") {
			t.Errorf("kind %d has no name", int(k))
		}
	}
	if s := EventKind(99).String(); s != "EventKind(99)" {
		t.Errorf("unknown kind: %q", s)
	}
}

func TestWriteMessage(t *testing.T) {
	tests := []struct {
		msg  string
		want string
		err  error
	}{
		{msg: "MSH|^~\\&|A\rPID|1\r", want: "\x0bMSH|^~\\&|A\rPID|1\r\x1c\r"},
		{msg: "", want: "\x0b\x1c\r"},
		{msg: "MSH\x0b", err: ErrInvalidMessage},
		{msg: "MSH\x1c", err: ErrInvalidMessage},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		err := WriteMessage(&buf, []byte(tt.msg))
		if !errors.Is(err, tt.err) || buf.String() != tt.want {
			t.Errorf("WriteMessage(%q) wrote %q, %v; want %q, %v", tt.msg, buf.String(), err, tt.want, tt.err)
		}
	}
}

// FuzzReader checks that the Reader never panics nor loops on any input,
// honours its limit, and returns exactly the frames WriteMessage wrote.
func FuzzReader(f *testing.F) {
	f.Add([]byte("\x0bMSH|1\x1c\r\x0bMSH|2\x1c\r"), uint8(1), uint16(0))
	f.Add([]byte("junk\x0bA\x0bB\x1cC\x1c\r\x1c"), uint8(3), uint16(2))
	f.Add([]byte("MSH|^~\\&|SND\rPID|1\n\nMSH|2\rRXA|1"), uint8(200), uint16(8))
	f.Add([]byte{}, uint8(0), uint16(1))
	f.Fuzz(func(t *testing.T, stream []byte, chunk uint8, limit uint16) {
		max := int(limit)
		n := int(chunk)%32 + 1

		// Any stream: no panic, progress, limit honoured.
		r := NewReader(&chunkReader{data: bytes.Clone(stream), n: n}, max)
		effMax := max
		if effMax <= 0 {
			effMax = DefaultMaxMessageSize
		}
		for i := 0; ; i++ {
			if i > len(stream)+1 {
				t.Fatalf("more messages than bytes in the stream")
			}
			msg, err := r.ReadMessage()
			if err != nil {
				break
			}
			if len(msg) > effMax || !validMessage(msg) {
				t.Fatalf("bad message %q (limit %d)", msg, effMax)
			}
		}

		// Round trip: the stream's '\n'-separated parts, framing bytes
		// removed, written as frames with garbage between them.
		clean := bytes.ReplaceAll(stream, []byte{StartBlock}, nil)
		clean = bytes.ReplaceAll(clean, []byte{EndBlock}, nil)
		msgs := bytes.Split(clean, []byte("\n"))
		var wire bytes.Buffer
		for i, m := range msgs {
			if i%2 == 1 {
				wire.WriteString("\r\n") // inter-frame garbage
			}
			if err := WriteMessage(&wire, m); err != nil {
				t.Fatalf("WriteMessage: %v", err)
			}
		}
		r = NewReader(&chunkReader{data: wire.Bytes(), n: n}, max)
		for i, m := range msgs {
			got, err := r.ReadMessage()
			if len(m) > effMax {
				if !errors.Is(err, ErrMessageTooLarge) {
					t.Fatalf("message %d of %d bytes (limit %d): err = %v, want ErrMessageTooLarge", i, len(m), effMax, err)
				}
				return
			}
			if err != nil || !bytes.Equal(got, m) {
				t.Fatalf("message %d = %q, %v; want %q", i, got, err, m)
			}
		}
		if _, err := r.ReadMessage(); err != io.EOF {
			t.Fatalf("after the last message: %v, want io.EOF", err)
		}
	})
}
