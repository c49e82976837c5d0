package queue

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// DeadLetter is a message the registry worker gave up on, as kept in the
// dead-letter stream.
type DeadLetter struct {
	Seq       uint64 // in the dead-letter stream
	Subject   string
	Facility  string
	ControlID string
	Type      string
	Ack       string
	Reason    string
	Time      time.Time // when it was dead-lettered
	Body      []byte
}

// DeadLetters returns up to limit dead letters, newest first.
func (q *Queue) DeadLetters(ctx context.Context, limit int) ([]DeadLetter, error) {
	st, err := q.js.Stream(ctx, q.cfg.DeadStream)
	if err != nil {
		return nil, fmt.Errorf("queue: dead-letter stream: %w", err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("queue: dead-letter stream: %w", err)
	}
	var out []DeadLetter
	for seq := info.State.LastSeq; seq >= info.State.FirstSeq && seq > 0 && len(out) < limit; seq-- {
		m, err := st.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue // deleted (redriven)
		}
		if err != nil {
			return out, fmt.Errorf("queue: dead letter %d: %w", seq, err)
		}
		out = append(out, deadLetter(m))
	}
	return out, nil
}

// DeadLetter returns one dead letter by its sequence.
func (q *Queue) DeadLetter(ctx context.Context, seq uint64) (DeadLetter, error) {
	st, err := q.js.Stream(ctx, q.cfg.DeadStream)
	if err != nil {
		return DeadLetter{}, fmt.Errorf("queue: dead-letter stream: %w", err)
	}
	m, err := st.GetMsg(ctx, seq)
	if err != nil {
		return DeadLetter{}, fmt.Errorf("queue: dead letter %d: %w", seq, err)
	}
	return deadLetter(m), nil
}

func deadLetter(m *jetstream.RawStreamMsg) DeadLetter {
	return DeadLetter{
		Seq: m.Sequence, Subject: m.Subject, Time: m.Time, Body: m.Data,
		Facility: m.Header.Get(HeaderFacility), ControlID: m.Header.Get(HeaderControlID),
		Type: m.Header.Get(HeaderType), Ack: m.Header.Get(HeaderAck), Reason: m.Header.Get(HeaderReason),
	}
}

// Redrive queues dead letter seq again for the worker, under a new message
// id (JetStream would otherwise drop it as already seen), marked as resent
// by operator, and removes it from the dead-letter stream.
func (q *Queue) Redrive(ctx context.Context, seq uint64, operator string) (PubAck, error) {
	st, err := q.js.Stream(ctx, q.cfg.DeadStream)
	if err != nil {
		return PubAck{}, fmt.Errorf("queue: dead-letter stream: %w", err)
	}
	m, err := st.GetMsg(ctx, seq)
	if err != nil {
		return PubAck{}, fmt.Errorf("queue: dead letter %d: %w", seq, err)
	}
	subject := q.cfg.Subject + strings.TrimPrefix(m.Subject, q.cfg.Subject+"-dead")
	out := &nats.Msg{Subject: subject, Data: m.Data, Header: nats.Header{}}
	for k, v := range m.Header {
		if k != HeaderReason {
			out.Header[k] = v
		}
	}
	out.Header[HeaderResend] = []string{operator}
	pctx, cancel := context.WithTimeout(ctx, q.cfg.PublishTimeout)
	defer cancel()
	ack, err := q.js.PublishMsg(pctx, out, jetstream.WithMsgID("redrive-"+q.cfg.DeadStream+"-"+strconv.FormatUint(seq, 10)))
	if err != nil {
		return PubAck{}, fmt.Errorf("queue: redrive %d: %w", seq, err)
	}
	if err := st.DeleteMsg(ctx, seq); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
		return PubAck{Sequence: ack.Sequence}, fmt.Errorf("queue: redriven %d, but not removed from the dead letters: %w", seq, err)
	}
	return PubAck{Sequence: ack.Sequence, Duplicate: ack.Duplicate}, nil
}
