package queue

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// An envelope is one JetStream message carrying several received HL7
// messages, written when listeners hand the queue messages faster than
// one stream write each would allow (see Config.Coalesce). Its subject is
// <prefix>.envelope, its header HeaderEnvelope gives the count, and its
// body is a version byte followed by the records, each field of a record
// prefixed by its length as an unsigned varint:
//
//	kind facility control-id transport type ack received issues ack-body resend body
//
// where received is the time of receipt in Unix nanoseconds as a signed
// varint instead. Bodies are kept byte for byte.
const (
	HeaderEnvelope  = "Iis-Envelope" // on an envelope: how many messages it carries
	envelopeKind    = "envelope"
	envelopeVersion = 1
)

// errEnvelope reports a malformed envelope.
var errEnvelope = errors.New("queue: malformed envelope")

// envelopeSize is the encoded size of m in an envelope, at most.
func envelopeSize(m *Message) int {
	n := 10 // received
	for _, s := range [...]string{m.Kind, m.Facility, m.ControlID, m.Transport, m.Type, m.Ack, m.Issues, m.Resend} {
		n += binary.MaxVarintLen32 + len(s)
	}
	return n + 2*binary.MaxVarintLen32 + len(m.AckBody) + len(m.Body)
}

// appendEnvelope appends the envelope of msgs to buf.
func appendEnvelope(buf []byte, msgs []*Message) []byte {
	buf = append(buf, envelopeVersion)
	for _, m := range msgs {
		for _, s := range [...]string{m.Kind, m.Facility, m.ControlID, m.Transport, m.Type, m.Ack} {
			buf = binary.AppendUvarint(buf, uint64(len(s)))
			buf = append(buf, s...)
		}
		buf = binary.AppendVarint(buf, m.Received.UnixNano())
		buf = binary.AppendUvarint(buf, uint64(len(m.Issues)))
		buf = append(buf, m.Issues...)
		buf = binary.AppendUvarint(buf, uint64(len(m.AckBody)))
		buf = append(buf, m.AckBody...)
		buf = binary.AppendUvarint(buf, uint64(len(m.Resend)))
		buf = append(buf, m.Resend...)
		buf = binary.AppendUvarint(buf, uint64(len(m.Body)))
		buf = append(buf, m.Body...)
	}
	return buf
}

// readEnvelope decodes an envelope. The messages' bodies and ACKs share
// data's memory.
func readEnvelope(data []byte) ([]Message, error) {
	if len(data) == 0 || data[0] != envelopeVersion {
		return nil, fmt.Errorf("%w: unknown version", errEnvelope)
	}
	r := envelopeReader{data: data[1:]}
	var out []Message
	for len(r.data) > 0 && r.err == nil {
		var m Message
		m.Kind, m.Facility, m.ControlID = r.str(), r.str(), r.str()
		m.Transport, m.Type, m.Ack = r.str(), r.str(), r.str()
		if ns, n := binary.Varint(r.data); n > 0 {
			m.Received = time.Unix(0, ns).UTC()
			r.data = r.data[n:]
		} else {
			r.err = fmt.Errorf("%w: bad time of receipt", errEnvelope)
		}
		m.Issues = r.str()
		m.AckBody = r.bytes()
		m.Resend = r.str()
		m.Body = r.bytes()
		if len(m.AckBody) == 0 {
			m.AckBody = nil
		}
		out = append(out, m)
	}
	if r.err != nil {
		return nil, r.err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no messages", errEnvelope)
	}
	return out, nil
}

type envelopeReader struct {
	data []byte
	err  error
}

func (r *envelopeReader) bytes() []byte {
	if r.err != nil {
		return nil
	}
	l, n := binary.Uvarint(r.data)
	if n <= 0 || l > uint64(len(r.data)-n) {
		r.err = fmt.Errorf("%w: bad length", errEnvelope)
		return nil
	}
	b := r.data[n : n+int(l) : n+int(l)]
	r.data = r.data[n+int(l):]
	return b
}

func (r *envelopeReader) str() string { return string(r.bytes()) }
