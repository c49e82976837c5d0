package mllp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Framing bytes of the Minimal Lower Layer Protocol.
const (
	StartBlock     byte = 0x0B // <VT>, opens a frame
	EndBlock       byte = 0x1C // <FS>, closes a frame
	CarriageReturn byte = 0x0D // <CR>, follows EndBlock
)

// DefaultMaxMessageSize is the message size limit used when none is given:
// 1 MiB, far above a VXU or QBP message (a few kilobytes) and room for
// modest batches.
const DefaultMaxMessageSize = 1 << 20

// readBufferSize is the size of a Reader's fixed read buffer.
const readBufferSize = 16 << 10

// maxHead is the most of an oversized frame's beginning a Reader keeps
// ([Reader.Head]): room for any MSH segment.
const maxHead = 8 << 10

// retainLimit is the largest message buffer a Reader keeps between
// messages; a larger one, grown for an unusually large message, is dropped
// so that idle connections do not pin memory.
const retainLimit = 64 << 10

var (
	// ErrMessageTooLarge is returned when a frame's content exceeds the
	// reader's limit. The reader stops reading at the limit and is unusable
	// afterwards: the rest of the frame is never buffered.
	ErrMessageTooLarge = errors.New("mllp: message too large")

	// ErrFrameNotEnded is returned by [Reader.SkipFrame] when an oversized
	// frame's end block did not come within the bytes it may discard.
	ErrFrameNotEnded = errors.New("mllp: oversized frame not ended within the discard limit")

	// ErrIncompleteFrame is returned when the stream ends inside a frame
	// (after a start block, before its end block). It wraps
	// io.ErrUnexpectedEOF.
	ErrIncompleteFrame = fmt.Errorf("mllp: stream ended inside a frame: %w", io.ErrUnexpectedEOF)

	// ErrInvalidMessage is returned by WriteMessage for a message that
	// contains a start block or end block byte and so cannot be framed
	// unambiguously.
	ErrInvalidMessage = errors.New("mllp: message contains a framing byte (0x0B or 0x1C)")
)

// A Reader reads MLLP frames from a byte stream.
//
// It tolerates any segmentation of the stream: a frame split across many
// reads and several frames in one read are the same to it. Bytes outside a
// frame (before a start block) are discarded and counted ([Reader.Discarded]).
// A start block inside a frame abandons the partial frame (its bytes are
// counted as discarded) and starts a new one, so a sender that restarts a
// message resynchronises. An end block ends the frame; the carriage return
// that should follow it is consumed when present, but the frame is returned
// without waiting for it, so a sender that omits it (or whose carriage
// return arrives later) is still answered at once.
//
// Memory is bounded: a fixed read buffer plus a message buffer that never
// grows beyond the limit.
type Reader struct {
	r   io.Reader
	max int

	buf        []byte // read buffer; unread data is buf[rpos:wpos]
	rpos, wpos int
	msg        []byte // accumulates a frame that spans reads

	discarded int64
	skipCR    bool  // an end block was the last byte seen; drop a leading CR
	err       error // sticky error

	head     []byte // the beginning of a frame that was too large
	tooLarge bool   // the last frame was too large and its end block not yet read

	// onStart, if set, is called when a start block is found; if it
	// returns an error, ReadMessage fails with it. The server uses it to
	// switch from the idle timeout to the per-message read timeout.
	onStart func() error
}

// NewReader returns a Reader reading frames from r whose content is at most
// max bytes; max <= 0 means DefaultMaxMessageSize.
func NewReader(r io.Reader, max int) *Reader {
	if max <= 0 {
		max = DefaultMaxMessageSize
	}
	size := readBufferSize
	if max+3 < size {
		size = max + 3
	}
	return &Reader{r: r, max: max, buf: make([]byte, size)}
}

// Discarded reports how many bytes so far were read outside any frame (or
// belonged to a frame abandoned by a new start block) and were dropped.
func (r *Reader) Discarded() int64 { return r.discarded }

// Buffered reports how many bytes have been read from the underlying reader
// but not yet consumed.
func (r *Reader) Buffered() int { return r.wpos - r.rpos }

// pendingFrame reports whether a start block has been read but not yet
// consumed. The client uses it to spot a reply nobody asked for, which
// would put requests and replies out of step.
func (r *Reader) pendingFrame() bool {
	return bytes.IndexByte(r.buf[r.rpos:r.wpos], StartBlock) >= 0
}

// ReadMessage returns the content of the next frame, without its framing
// bytes. The returned slice is only valid until the next call to
// ReadMessage: the Reader reuses its buffers.
//
// At the end of the stream between frames it returns io.EOF (even if
// unframed bytes were discarded); inside a frame, ErrIncompleteFrame. A
// frame whose content exceeds the limit yields ErrMessageTooLarge. Errors
// are sticky: once ReadMessage fails, it keeps failing.
func (r *Reader) ReadMessage() ([]byte, error) {
	if r.err != nil {
		return nil, r.err
	}
	msg, err := r.readMessage()
	if err != nil {
		r.err = err
		return nil, err
	}
	return msg, nil
}

func (r *Reader) readMessage() ([]byte, error) {
	if cap(r.msg) > retainLimit {
		r.msg = nil
	}
	r.msg = r.msg[:0]

	// Outside a frame: look for the start block.
	for {
		data := r.buf[r.rpos:r.wpos]
		if r.skipCR && len(data) > 0 {
			r.skipCR = false
			if data[0] == CarriageReturn {
				r.rpos++
				data = data[1:]
			}
		}
		if i := bytes.IndexByte(data, StartBlock); i >= 0 {
			r.discarded += int64(i)
			r.rpos += i + 1
			break
		}
		r.discarded += int64(len(data))
		r.rpos, r.wpos = 0, 0
		if err := r.fill(); err != nil {
			return nil, err // io.EOF between frames is a clean end
		}
	}
	if r.onStart != nil {
		if err := r.onStart(); err != nil {
			return nil, err
		}
	}

	// Inside a frame: look for the end block.
	for {
		data := r.buf[r.rpos:r.wpos]
		end := bytes.IndexByte(data, EndBlock)
		scan := data
		if end >= 0 {
			scan = data[:end]
		}
		if sb := bytes.LastIndexByte(scan, StartBlock); sb >= 0 {
			// A new start block: abandon what came before it.
			r.discarded += int64(len(r.msg) + sb + 1)
			r.msg = r.msg[:0]
			r.rpos += sb + 1
			continue
		}
		if end >= 0 {
			if len(r.msg)+end > r.max {
				return nil, r.overflow(data, end)
			}
			var msg []byte
			if len(r.msg) == 0 {
				msg = data[:end:end] // the whole frame is in the read buffer
			} else {
				r.grow(end)
				r.msg = append(r.msg, data[:end]...)
				msg = r.msg
			}
			r.rpos += end + 1
			if r.rpos < r.wpos {
				if r.buf[r.rpos] == CarriageReturn {
					r.rpos++
				}
			} else {
				r.skipCR = true
			}
			return msg, nil
		}
		if len(r.msg)+len(data) > r.max {
			return nil, r.overflow(data, -1)
		}
		r.grow(len(data))
		r.msg = append(r.msg, data...)
		r.rpos, r.wpos = 0, 0
		if err := r.fill(); err != nil {
			if errors.Is(err, io.EOF) {
				return nil, ErrIncompleteFrame
			}
			return nil, err
		}
	}
}

// overflow records the beginning of a frame found too large, with data
// the unconsumed read buffer and end the index of its end block in data
// (-1 if not there yet), and returns ErrMessageTooLarge. The frame's bytes
// in the buffer are consumed; the rest is left to SkipFrame.
func (r *Reader) overflow(data []byte, end int) error {
	head := r.msg
	if len(head) == 0 {
		head = data
	}
	r.head = append(r.head[:0], head[:min(len(head), maxHead, r.max)]...)
	if len(r.msg) > 0 && len(r.head) < min(maxHead, r.max) {
		r.head = append(r.head, data[:min(len(data), min(maxHead, r.max)-len(r.head))]...)
	}
	r.msg = nil
	if end >= 0 {
		r.rpos += end + 1
		r.skipCR = true
		r.tooLarge = false
	} else {
		r.rpos = r.wpos
		r.tooLarge = true
	}
	return ErrMessageTooLarge
}

// Head returns the first bytes (at most 8 KiB, and at most the limit) of
// the frame for which ReadMessage last returned ErrMessageTooLarge, so that
// a reply can refer to the message (its MSH segment); nil if none was.
func (r *Reader) Head() []byte { return r.head }

// SkipFrame reads and throws away the rest of a frame for which
// ReadMessage returned ErrMessageTooLarge, up to and including its end
// block (and the carriage return after it, if already read), reading at
// most limit bytes; it returns how many it read. It fails with
// ErrFrameNotEnded if the end block does not come within limit bytes,
// ErrIncompleteFrame if the stream ends first, or the underlying reader's
// error. After a frame that was not too large it does nothing. The Reader
// stays failed with ErrMessageTooLarge either way: what follows the frame
// is not read.
func (r *Reader) SkipFrame(limit int64) (int64, error) {
	var n int64
	for r.tooLarge {
		data := r.buf[r.rpos:r.wpos]
		if i := bytes.IndexByte(data, EndBlock); i >= 0 {
			r.rpos += i + 1
			if r.rpos < r.wpos && r.buf[r.rpos] == CarriageReturn {
				r.rpos++
			}
			r.tooLarge = false
			return n + int64(i) + 1, nil
		}
		n += int64(len(data))
		r.rpos, r.wpos = 0, 0
		if n >= limit {
			return n, ErrFrameNotEnded
		}
		if err := r.fill(); err != nil {
			if errors.Is(err, io.EOF) {
				return n, ErrIncompleteFrame
			}
			return n, err
		}
	}
	return n, nil
}

// grow makes room for n more bytes in the message buffer, which never
// grows beyond the limit (the caller has checked len(r.msg)+n <= r.max).
func (r *Reader) grow(n int) {
	need := len(r.msg) + n
	if need <= cap(r.msg) {
		return
	}
	size := min(max(2*cap(r.msg), need, 4096), r.max)
	r.msg = append(make([]byte, 0, size), r.msg...)
}

// fill reads into the (empty) read buffer. It returns io.EOF at the end of
// the stream, or the underlying reader's error; it never returns with no
// data and no error.
func (r *Reader) fill() error {
	for empty := 0; ; empty++ {
		n, err := r.r.Read(r.buf)
		if n < 0 || n > len(r.buf) {
			return errors.New("mllp: invalid read count from underlying reader")
		}
		r.wpos = n
		if n > 0 {
			return nil // any error surfaces on the next read
		}
		if err != nil {
			return err
		}
		if empty >= 100 {
			return io.ErrNoProgress
		}
	}
}

// WriteMessage writes msg to w as one MLLP frame (start block, msg, end
// block, carriage return) in a single Write call. It returns
// ErrInvalidMessage, writing nothing, if msg contains a start or end block
// byte.
func WriteMessage(w io.Writer, msg []byte) error {
	if !validMessage(msg) {
		return ErrInvalidMessage
	}
	_, err := w.Write(appendFrame(make([]byte, 0, len(msg)+3), msg))
	return err
}

// validMessage reports whether msg can be framed.
func validMessage(msg []byte) bool {
	return bytes.IndexByte(msg, StartBlock) < 0 && bytes.IndexByte(msg, EndBlock) < 0
}

// appendFrame appends msg, framed, to dst.
func appendFrame(dst, msg []byte) []byte {
	dst = append(dst, StartBlock)
	dst = append(dst, msg...)
	return append(dst, EndBlock, CarriageReturn)
}
