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
	w := hl7.NewWriter(hl7.DefaultDelimiters)
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
	var msh hl7.Segment
	if r.msg != nil {
		msh = r.msg.MSH()
	}
	// MSH-3/4: this IIS, as the sender addressed it (MSH-5/6), or configured.
	if f := msh.Field(5); !f.IsEmpty() {
		w.Value(f)
	} else {
		w.Fields(v.app)
	}
	if f := msh.Field(6); !f.IsEmpty() {
		w.Value(f)
	} else {
		w.Fields(v.fac)
	}
	w.Value(msh.Field(3))
	w.Value(msh.Field(4))
	w.Fields(FormatTimestamp(v.now()), "")
	w.Field(typ, event, structure)
	w.Fields(v.controlID())
	proc := r.Header.ProcessingID
	if proc != "P" && proc != "T" && proc != "D" {
		proc = "P"
	}
	w.Fields(proc, "2.5.1", "", "", "NE", "NE", "", "", "", "")
	w.Field(profile, "CDCPHINVS")
	w.Value(msh.Field(23))
	w.Value(msh.Field(22))
}

func (v *Validator) writeERR(w *hl7.Writer, is Issue) {
	w.Segment("ERR")
	w.Field()
	l := is.Location
	w.Field(l.Segment, itoa(l.Sequence), itoa(l.Field), itoa(l.Repetition), itoa(l.Component), itoa(l.Subcomponent))
	w.Field(strconv.Itoa(is.Code), v.display(codeset.ErrorCondition, is.Code), "HL70357")
	w.Fields(is.Severity.String())
	if is.AppCode != 0 {
		w.Field(strconv.Itoa(is.AppCode), v.display(codeset.ApplicationError, is.AppCode), "HL70533")
	} else {
		w.Field()
	}
	w.Fields("", "", is.Message)
}

// display returns a code's text from its table; 999 is "Application error".
func (v *Validator) display(table string, code int) string {
	if code == CodeApplicationError {
		return "Application error"
	}
	if e, ok := v.codes.Table(table).Lookup(strconv.Itoa(code)); ok {
		return e.Display
	}
	return ""
}

// controlID returns a new message control ID for a reply.
func (v *Validator) controlID() string {
	return strconv.FormatInt(v.now().UnixMilli(), 10) + "." + strconv.FormatUint(v.seq.Add(1), 10)
}

// FormatTimestamp formats t as an HL7 DTM with milliseconds and zone:
// YYYYMMDDHHMMSS.SSS±ZZZZ.
func FormatTimestamp(t time.Time) string {
	return t.Format("20060102150405.000-0700")
}
