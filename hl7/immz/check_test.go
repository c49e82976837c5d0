package immz

import (
	"bytes"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/iisproject/iis/codeset"
	"github.com/iisproject/iis/hl7"
	"github.com/iisproject/iis/synth"
)

// sameVerdict reports whether Check's result c says what Decode's result r
// says: the same header, kind and issues, hence the same ACK.
func sameVerdict(r, c *Result) bool {
	return reflect.DeepEqual(r.Header, c.Header) && r.Kind == c.Kind && reflect.DeepEqual(r.Issues, c.Issues) &&
		c.VXU == nil && reflect.DeepEqual(r.Query, c.Query)
}

// TestCheckMatchesDecode: Check, which the listeners use, raises exactly
// the issues Decode raises, on every VXU and QBP of the corpus and on
// synthetic traffic (malformed messages included), and keeps no VXU.
func TestCheckMatchesDecode(t *testing.T) {
	v := New(Config{Now: testNow})
	msgs := corpusMessages(t)
	for i, m := range synth.New(synth.Config{Seed: 11}).Take(3000) {
		msgs[fmt.Sprintf("synth %d", i)] = m.Body
	}
	for name, raw := range msgs {
		r, c := v.Decode(raw), v.Check(raw)
		if !sameVerdict(r, c) {
			t.Errorf("%s: Check differs from Decode\n decode: %s %+v\n check:  %s %+v", name, v.AckCode(r), r.Issues, v.AckCode(c), c.Issues)
		}
	}
	if c := v.Check([]byte("not HL7")); len(c.Issues) != 1 || v.AckCode(c) != "AR" {
		t.Errorf("unreadable message: %+v", c.Issues)
	}
}

// TestAckMatchesReference: Ack and Summary write, byte for byte, what a
// plain rendering of the guide's ACK and of the summary format gives (the
// code they had before they were made faster), for every corpus message
// and 3,000 synthetic ones, checked and decoded, with a clock west of UTC.
func TestAckMatchesReference(t *testing.T) {
	now := time.Date(2026, 11, 25, 7, 3, 4, 56e6, time.FixedZone("EST", -5*3600))
	v := New(Config{Now: func() time.Time { return now }, Facility: "STATE"})
	msgs := corpusMessages(t)
	for i, m := range synth.New(synth.Config{Seed: 11}).Take(3000) {
		msgs[fmt.Sprintf("synth %d", i)] = m.Body
	}
	for name, raw := range msgs {
		for _, r := range []*Result{v.Check(raw), v.Decode(raw)} {
			got := v.Ack(r, issueForTest)
			id := strconv.FormatInt(now.UnixMilli(), 10) + "." + strconv.FormatUint(v.seq.Load(), 10)
			if want := referenceAck(v, r, now, id, issueForTest); !bytes.Equal(got, want) {
				t.Fatalf("%s: ACK\n got %q\nwant %q", name, got, want)
			}
			if got, want := Summary(r.Issues), referenceSummary(r.Issues); got != want {
				t.Fatalf("%s: Summary %q, want %q", name, got, want)
			}
		}
	}
}

var issueForTest = Issue{Location: ErrorLocation{Segment: "MSH", Sequence: 1}, Code: CodeApplicationInternal, Severity: Error, Scope: ScopeEnvelope, Message: "queue down"}

func referenceAck(v *Validator, r *Result, now time.Time, id string, extra ...Issue) []byte {
	w := hl7.NewWriter(hl7.DefaultDelimiters)
	event := r.Header.Event
	if event == "" || r.Header.Type != "VXU" && r.Header.Type != "QBP" {
		event = "V04"
	}
	w.Segment("MSH")
	var msh hl7.Segment
	if r.msg != nil {
		msh = r.msg.MSH()
	}
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
	w.Fields(now.Format("20060102150405.000-0700"), "")
	w.Field("ACK", event, "ACK")
	w.Fields(id)
	proc := r.Header.ProcessingID
	if proc != "P" && proc != "T" && proc != "D" {
		proc = "P"
	}
	w.Fields(proc, "2.5.1", "", "", "NE", "NE", "", "", "", "")
	w.Field("Z23", "CDCPHINVS")
	w.Value(msh.Field(23))
	w.Value(msh.Field(22))
	w.Segment("MSA")
	w.Fields(v.AckCode(r, extra...), r.Header.ControlID)
	display := func(table string, code int) string {
		if code == CodeApplicationError {
			return "Application error"
		}
		e, _ := v.codes.Table(table).Lookup(strconv.Itoa(code))
		return e.Display
	}
	for _, is := range append(slices.Clone(r.Issues), extra...) {
		w.Segment("ERR")
		w.Field()
		l := is.Location
		w.Field(l.Segment, itoa(l.Sequence), itoa(l.Field), itoa(l.Repetition), itoa(l.Component), itoa(l.Subcomponent))
		w.Field(strconv.Itoa(is.Code), display(codeset.ErrorCondition, is.Code), "HL70357")
		w.Fields(is.Severity.String())
		app := []string{}
		if is.AppCode != 0 {
			app = []string{strconv.Itoa(is.AppCode), display(codeset.ApplicationError, is.AppCode), "HL70533"}
		}
		if is.Detection != "" {
			d, _ := LookupDetection(is.Detection)
			app = append(append(app, "", "", "")[:3], is.Detection, d.Name, "99MQE")
		}
		w.Field(app...)
		w.Fields("", "", is.Message)
	}
	return w.Bytes()
}

func referenceSummary(issues []Issue) string {
	var b strings.Builder
	for i, is := range issues {
		if i > 0 {
			b.WriteByte(';')
		}
		p := is.Location.Segment
		if is.Location.Field != 0 {
			p += "-" + strconv.Itoa(is.Location.Field)
			if is.Location.Component > 0 {
				p += "." + strconv.Itoa(is.Location.Component)
			}
		}
		fmt.Fprintf(&b, "%c:%d:%d:%s", is.Severity, is.Code, is.AppCode, p)
		if is.Detection != "" {
			b.WriteString(":" + is.Detection)
		}
	}
	return b.String()
}
