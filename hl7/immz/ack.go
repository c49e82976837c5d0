package immz

import (
	"strconv"
	"time"

	"github.com/iisproject/iis/codeset"
	"github.com/iisproject/iis/hl7"
)

// Ack builds the ACK^V04 (Z23) for a decoded message: MSH, MSA and one ERR
// per issue, followed by any extra issues (for example one the caller adds
// when the message could not be queued). It works for any Result, including
// one whose message could not be parsed (MSA-2 is then empty).
func (v *Validator) Ack(r *Result, extra ...Issue) []byte {
	// Room for the MSH and MSA and a typical ERR per issue.
	w := hl7.NewWriterSize(hl7.DefaultDelimiters, 320+200*(len(r.Issues)+len(extra)))
	v.WriteAck(w, r, extra...)
	return w.Bytes()
}

// WriteAck writes the ACK with w, so a caller can reuse a Writer.
func (v *Validator) WriteAck(w *hl7.Writer, r *Result, extra ...Issue) {
	code := v.AckCode(r, extra...)
	event := r.Header.Event
	if event == "" || r.Header.Type != "VXU" && r.Header.Type != "QBP" {
		event = "V04"
	}
	v.writeReplyMSH(w, r, "ACK", event, "ACK", "Z23")
	w.Segment("MSA")
	w.Fields(code, r.Header.ControlID)
	for _, is := range r.Issues {
		v.writeERR(w, is)
	}
	for _, is := range extra {
		v.writeERR(w, is)
	}
}

// writeReplyMSH writes the MSH of a reply to r: sender and receiver swapped,
// a new control ID, the inbound processing ID, version 2.5.1, no further
// acknowledgements, and the reply's profile.
func (v *Validator) writeReplyMSH(w *hl7.Writer, r *Result, typ, event, structure, profile string) {
	w.Segment("MSH")
	var fb fieldBuf
	var msh fields
	if r.msg != nil {
		msh = split(r.msg.MSH(), &fb)
	}
	// MSH-3/4: this IIS, as the sender addressed it (MSH-5/6), or configured.
	if f := msh.at(5); !f.IsEmpty() {
		w.Value(f)
	} else {
		w.Fields(v.app)
	}
	if f := msh.at(6); !f.IsEmpty() {
		w.Value(f)
	} else {
		w.Fields(v.fac)
	}
	w.Value(msh.at(3))
	w.Value(msh.at(4))
	now := v.now()
	w.Fields(FormatTimestamp(now), "")
	w.Field(typ, event, structure)
	w.Fields(v.controlID(now))
	proc := r.Header.ProcessingID
	if proc != "P" && proc != "T" && proc != "D" {
		proc = "P"
	}
	w.Fields(proc, "2.5.1", "", "", "NE", "NE", "", "", "", "")
	w.Field(profile, "CDCPHINVS")
	w.Value(msh.at(23))
	w.Value(msh.at(22))
}

func (v *Validator) writeERR(w *hl7.Writer, is Issue) {
	w.Segment("ERR")
	w.Field()
	l := is.Location
	w.Field(l.Segment, itoa(l.Sequence), itoa(l.Field), itoa(l.Repetition), itoa(l.Component), itoa(l.Subcomponent))
	w.Field(strconv.Itoa(is.Code), v.display(v.tab.errorCondition, is.Code), "HL70357")
	w.Fields(is.Severity.String())
	// ERR-5: CDC table 0533, with the MQE detection as the alternate
	// identifier (local coding system "99MQE", AIRA's Message Quality Evaluator).
	var app, appText string
	if is.AppCode != 0 {
		app, appText = strconv.Itoa(is.AppCode), v.display(v.tab.applicationError, is.AppCode)
	}
	switch {
	case is.Detection != "":
		sys := ""
		if app != "" {
			sys = "HL70533"
		}
		d, _ := LookupDetection(is.Detection)
		w.Field(app, appText, sys, is.Detection, d.Name, "99MQE")
	case app != "":
		w.Field(app, appText, "HL70533")
	default:
		w.Field()
	}
	w.Fields("", "", is.Message)
}

// display returns a code's text from its table (see displays); 999 is
// "Application error".
func (v *Validator) display(table map[int]string, code int) string {
	if code == CodeApplicationError {
		return "Application error"
	}
	return table[code]
}

// displays maps the numeric codes of t to their text, as t.Lookup finds
// it for the code's decimal form.
func displays(t *codeset.Table) map[int]string {
	m := make(map[int]string)
	for e := range t.All() {
		n, err := strconv.Atoi(e.Code)
		if err != nil || strconv.Itoa(n) != e.Code {
			continue
		}
		if _, ok := m[n]; !ok {
			first, _ := t.Lookup(e.Code)
			m[n] = first.Display
		}
	}
	return m
}

// controlID returns a new message control ID for a reply sent at now.
func (v *Validator) controlID(now time.Time) string {
	var b [48]byte
	id := strconv.AppendInt(b[:0], now.UnixMilli(), 10)
	id = append(id, '.')
	return string(strconv.AppendUint(id, v.seq.Add(1), 10))
}

// FormatTimestamp formats t as an HL7 DTM with milliseconds and zone:
// YYYYMMDDHHMMSS.SSS±ZZZZ, as t.Format("20060102150405.000-0700") does.
func FormatTimestamp(t time.Time) string {
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	_, off := t.Zone()
	if y < 0 || y > 9999 || off%60 != 0 {
		return t.Format("20060102150405.000-0700") // not four digits, or seconds in the offset
	}
	var b [23]byte
	put := func(i, n, width int) {
		for j := i + width - 1; j >= i; j-- {
			b[j] = byte('0' + n%10)
			n /= 10
		}
	}
	put(0, y, 4)
	put(4, int(mo), 2)
	put(6, d, 2)
	put(8, h, 2)
	put(10, mi, 2)
	put(12, s, 2)
	b[14] = '.'
	put(15, t.Nanosecond()/1e6, 3)
	b[18] = '+'
	if off < 0 {
		b[18], off = '-', -off
	}
	put(19, off/3600, 2)
	put(21, off/60%60, 2)
	return string(b[:])
}
