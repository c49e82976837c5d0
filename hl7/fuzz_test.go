package hl7

import (
	"bytes"
	"testing"
)

func seedCorpus(f *testing.F) {
	for _, data := range corpus(f) {
		f.Add(data)
	}
	f.Add([]byte(vxu))
	f.Add([]byte("MSH#$*@!|#A#x$y*z$w!v#a|b@F@c@X41@@H@\rPID#1##a$b!c*d#@E@"))
	f.Add([]byte("MSH|^~\\&#|A\rPID|1||a\\P\\b\\X0D0A\\\\.br\\"))
	f.Add([]byte("FHS|^~\\&\rBHS|^~\\&\rMSH|^~\\&|A\rPID|1\rBTS|1\rFTS|1"))
}

// FuzzParse: Parse never panics; a message that parses re-encodes to
// something that parses to the same values, and encoding is a fixed point.
func FuzzParse(f *testing.F) {
	seedCorpus(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		var m Message
		if err := m.Parse(data); err != nil {
			return
		}
		// Touch every value at every level.
		for _, s := range m.Segments() {
			for i := 0; i <= s.NumFields()+1; i++ {
				v := s.Field(i)
				_ = v.Rep(2).Comp(2).Sub(2).String()
				_ = v.AppendText(nil)
			}
		}
		enc := m.AppendTo(nil, DefaultDelimiters)
		m2, err := Parse(enc)
		if err != nil {
			t.Fatalf("re-encoded message does not parse: %v\n%q", err, enc)
		}
		if m.Delimiters() == DefaultDelimiters {
			if d := diffMessages(&m, m2); d != "" {
				t.Fatalf("re-encoding changed %s\n%q\n%q", d, data, enc)
			}
		}
		if enc2 := m2.AppendTo(nil, DefaultDelimiters); !bytes.Equal(enc, enc2) {
			t.Fatalf("not a fixed point:\n%q\n%q", enc, enc2)
		}
	})
}

// FuzzSplitBatch: SplitBatch never panics and every message it returns is a
// sub-slice that starts with MSH.
func FuzzSplitBatch(f *testing.F) {
	seedCorpus(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := SplitBatch(data)
		if err != nil {
			return
		}
		for _, msg := range b.Messages() {
			if !bytes.HasPrefix(msg, []byte("MSH")) {
				t.Fatalf("message does not start with MSH: %q", msg)
			}
		}
	})
}

// FuzzWriter: any text written by the Writer reads back unchanged.
func FuzzWriter(f *testing.F) {
	f.Add("plain", "a|b^c~d\\e&f", "\r\n#")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		w := NewWriter(DefaultDelimiters)
		w.Segment("MSH")
		w.Fields("X")
		w.Segment("ZZZ")
		w.Field(a, b)
		w.Fields(c)
		m, err := Parse(w.Bytes())
		if err != nil {
			t.Fatalf("written message does not parse: %v", err)
		}
		if m.Get("ZZZ-1.1").String() != a || m.Get("ZZZ-1.2").String() != b || m.Get("ZZZ-2").String() != c {
			t.Fatalf("read back %q %q %q, wrote %q %q %q", m.Get("ZZZ-1.1").String(), m.Get("ZZZ-1.2").String(), m.Get("ZZZ-2").String(), a, b, c)
		}
	})
}
