package hl7

import (
	"errors"
	"strings"
	"testing"
)

const vxu = "MSH|^~\\&|MYEHR|CLINIC^1234^NPI|IIS|STATE|20240102103000-0500||VXU^V04^VXU_V04|MSG-0001|P|2.5.1|||ER|AL|||||Z22^CDCPHINVS\r" +
	"PID|1||PI123^^^MYEHR^MR~999-11-2222^^^SSA^SS||Doe^Jane^Q^^^^L~Doe^Janie^^^^^A||20230115|F||2106-3^White^CDCREC|12 Main St^Apt \\F\\ 4^Hartford^CT^06101^USA^P||^PRN^PH^^^860^5551234\r" +
	"ORC|RE||197023^CLINIC\r" +
	"RXA|0|1|20240102||08^Hep B peds^CVX|0.5|mL^milliliters^UCUM||00^New record^NIP001||||||LOT1&X|20251231|MSD^Merck^MVX|||CP|A\r" +
	"OBX|1|CE|64994-7^Vaccine funding program eligibility category^LN|1|V02^VFC eligible^HL70064||||||F|||20240102|||VXC40^per immunization^CDCPHINVS\r" +
	"NTE|1||Line one\\.br\\line two \\E\\ \\T\\ \\X41\\ \\H\\bold\\N\\ \"\"\r"

func mustParse(t testing.TB, s string) *Message {
	t.Helper()
	m, err := Parse([]byte(s))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return m
}

func TestGet(t *testing.T) {
	m := mustParse(t, vxu)
	tests := []struct {
		loc, want string
	}{
		{"MSH-1", "|"},
		{"MSH-2", "^~\\&"},
		{"MSH-3", "MYEHR"},
		{"MSH-4.2", "1234"},
		{"MSH-9", "VXU^V04^VXU_V04"},
		{"MSH-9.1", "VXU"},
		{"MSH-9.2", "V04"},
		{"MSH-10", "MSG-0001"},
		{"MSH-12", "2.5.1"},
		{"MSH-21.1", "Z22"},
		{"MSH-22", ""},
		{"PID-1", "1"},
		{"PID-2", ""},
		{"PID-3.1", "PI123"},
		{"PID-3(1).5", "MR"},
		{"PID-3(2).1", "999-11-2222"},
		{"PID-3(2).4", "SSA"},
		{"PID-3(3).1", ""},
		{"PID-5.1", "Doe"},
		{"PID-5(2).2", "Janie"},
		{"PID-5(2).7", "A"},
		{"PID-7", "20230115"},
		{"PID-11.2", "Apt | 4"},
		{"PID-13.6", "860"},
		{"RXA-5.1", "08"},
		{"RXA-15.1", "LOT1&X"},
		{"RXA-15.1.1", "LOT1"},
		{"RXA-15.1.2", "X"},
		{"RXA-15.1.3", ""},
		{"RXA-21", "A"},
		{"RXA-22", ""},
		{"OBX-3.1", "64994-7"},
		{"NTE-3", "Line one\nline two \\ & A \\H\\bold\\N\\ \"\""},
		{"ZZZ-1", ""},
		{"PID(2)-1", ""},
		{"bad", ""},
	}
	for _, tt := range tests {
		v := m.Get(tt.loc)
		if got := v.String(); got != tt.want {
			t.Errorf("Get(%q) = %q, want %q", tt.loc, got, tt.want)
		}
		if !v.Equal(tt.want) {
			t.Errorf("Get(%q).Equal(%q) = false", tt.loc, tt.want)
		}
	}
}

func TestStructure(t *testing.T) {
	m := mustParse(t, vxu)
	if n := len(m.Segments()); n != 6 {
		t.Fatalf("segments = %d, want 6", n)
	}
	pid, _ := m.Segment("PID", 1)
	if got := pid.Field(3).NumReps(); got != 2 {
		t.Errorf("PID-3 reps = %d, want 2", got)
	}
	if got := pid.Field(5).Rep(1).NumComps(); got != 7 {
		t.Errorf("PID-5(1) comps = %d, want 7", got)
	}
	if got := pid.NumFields(); got != 13 {
		t.Errorf("PID fields = %d, want 13", got)
	}
	if got := m.MSH().NumFields(); got != 21 {
		t.Errorf("MSH fields = %d, want 21", got)
	}
	nte, _ := m.Segment("NTE", 1)
	if !nte.Field(3).Comp(1).Sub(1).Equal("Line one\nline two \\ & A \\H\\bold\\N\\ \"\"") {
		t.Errorf("NTE-3 sub 1 differs")
	}
	if !m.Get("NTE-2").IsEmpty() || m.Get("NTE-2").IsNull() {
		t.Errorf("NTE-2 should be empty, not null")
	}
	null := mustParse(t, "MSH|^~\\&|A\rPID|1|\"\"|x\r")
	if !null.Get("PID-2").IsNull() || null.Get("PID-2").IsEmpty() {
		t.Errorf(`PID-2 "" should be null, not empty`)
	}
	if m.Count("OBX") != 1 || m.Count("RXA") != 1 || m.Count("XYZ") != 0 {
		t.Errorf("Count wrong")
	}
}

func TestTerminators(t *testing.T) {
	base := []string{"MSH|^~\\&|A|B", "PID|1||X", "RXA|0|1|20200101"}
	for name, in := range map[string]string{
		"CR":            strings.Join(base, "\r") + "\r",
		"LF":            strings.Join(base, "\n") + "\n",
		"CRLF":          strings.Join(base, "\r\n") + "\r\n",
		"mixed":         base[0] + "\r\n" + base[1] + "\n" + base[2] + "\r",
		"no final":      strings.Join(base, "\r"),
		"blank lines":   "\r\n\n" + strings.Join(base, "\r\r\n\n") + "\n\n\r\n  \n",
		"BOM":           "\xEF\xBB\xBF" + strings.Join(base, "\r"),
		"trailing tabs": strings.Join(base, "\r") + "\r\t\r",
	} {
		t.Run(name, func(t *testing.T) {
			m := mustParse(t, in)
			if len(m.Segments()) != 3 {
				t.Fatalf("segments = %d, want 3", len(m.Segments()))
			}
			if !m.Get("RXA-3").Equal("20200101") || !m.Get("PID-3").Equal("X") {
				t.Errorf("fields wrong: %q", m.Get("RXA-3").String())
			}
		})
	}
}

func TestDelimiters(t *testing.T) {
	tests := []struct {
		name, in string
		want     Delimiters
		loc, val string
	}{
		{"standard", "MSH|^~\\&|A", DefaultDelimiters, "MSH-3", "A"},
		{"unusual", "MSH#$*@!|#A#x$y*z$w!v\rPID#1##a$b!c", Delimiters{Field: '#', Component: '$', Repetition: '*', Escape: '@', Subcomponent: '!', Truncation: '|'}, "PID-3.2.2", "c"},
		{"truncation", "MSH|^~\\&#|A\rPID|1||a\\P\\b", Delimiters{Field: '|', Component: '^', Repetition: '~', Escape: '\\', Subcomponent: '&', Truncation: '#'}, "PID-3", "a#b"},
		{"no escape or sub", "MSH|^~|A\rPID|1||a\\b&c", Delimiters{Field: '|', Component: '^', Repetition: '~'}, "PID-3", "a\\b&c"},
		{"three chars", "MSH|^~\\|A\rPID|1||a&b", Delimiters{Field: '|', Component: '^', Repetition: '~', Escape: '\\'}, "PID-3.1.1", "a&b"},
		{"MSH-2 only", "MSH|^~\\&", DefaultDelimiters, "MSH-2", "^~\\&"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mustParse(t, tt.in)
			if m.Delimiters() != tt.want {
				t.Errorf("delimiters = %+v, want %+v", m.Delimiters(), tt.want)
			}
			if got := m.Get(tt.loc).String(); got != tt.val {
				t.Errorf("%s = %q, want %q", tt.loc, got, tt.val)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", "empty message"},
		{"blank", "\r\n\r\n", "empty message"},
		{"garbage first", "hello\rMSH|^~\\&|A", "does not start with an MSH"},
		{"MLLP block kept", "\x0bMSH|^~\\&|A", "MLLP start block"},
		{"batch", "FHS|^~\\&\rMSH|^~\\&", "it is a batch"},
		{"no field separator", "MSH", "no field separator"},
		{"alnum separator", "MSHA^~\\&", "not allowed"},
		{"one encoding char", "MSH|^|A", "at least the component and repetition"},
		{"duplicate", "MSH|^^\\&|A", "twice"},
		{"too many encoding chars", "MSH|^~\\&#$|A", "more than five"},
		{"bad segment", "MSH|^~\\&|A\rthis is not a segment", "segment 2: not a segment"},
		{"short segment", "MSH|^~\\&|A\rPI", "segment 2: not a segment"},
		{"lowercase id", "MSH|^~\\&|A\rpid|1", "segment 2: not a segment"},
		{"two messages", "MSH|^~\\&|A\rPID|1\rMSH|^~\\&|B", "segment 3: MSH inside a message"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.in))
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want a SyntaxError", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestEscapes(t *testing.T) {
	d := DefaultDelimiters
	tests := []struct{ raw, text string }{
		{`plain`, "plain"},
		{`a\F\b`, "a|b"},
		{`a\S\b\T\c\R\d\E\e`, "a^b&c~d\\e"},
		{`\X0D0A\`, "\r\n"},
		{`\X41\\x42\`, `A\x42\`},
		{`x\.br\y`, "x\ny"},
		{`\H\bold\N\`, `\H\bold\N\`},
		{`\Zcustom\`, `\Zcustom\`},
		{`\.sp\`, `\.sp\`},
		{`\XZZ\`, `\XZZ\`},
		{`\X4\`, `\X4\`},
		{`unterminated \`, `unterminated \`},
		{`a\b`, `a\b`},
		{`\\`, `\\`},
		{`\P\`, `\P\`},
	}
	for _, tt := range tests {
		if got := string(unescape(nil, []byte(tt.raw), &d)); got != tt.text {
			t.Errorf("unescape(%q) = %q, want %q", tt.raw, got, tt.text)
		}
	}
	enc := []struct{ text, raw string }{
		{"plain", "plain"},
		{"a|b^c&d~e\\f", `a\F\b\S\c\T\d\R\e\E\f`},
		{"line\nnext\rend", `line\.br\next\X0D\end`},
		{"", ""},
	}
	for _, tt := range enc {
		got := string(appendEscaped(nil, tt.text, &d))
		if got != tt.raw {
			t.Errorf("appendEscaped(%q) = %q, want %q", tt.text, got, tt.raw)
		}
		if back := string(unescape(nil, []byte(got), &d)); back != tt.text {
			t.Errorf("round trip of %q gave %q", tt.text, back)
		}
	}
}

func TestLocation(t *testing.T) {
	good := map[string]Location{
		"PID-5":        {Segment: "PID", Field: 5},
		"RXA-5.1":      {Segment: "RXA", Field: 5, Component: 1},
		"PID-3(2).4":   {Segment: "PID", Field: 3, Repetition: 2, Component: 4},
		"OBX(3)-5.1.2": {Segment: "OBX", Occurrence: 3, Field: 5, Component: 1, Subcomponent: 2},
		"ZP1-12":       {Segment: "ZP1", Field: 12},
	}
	for s, want := range good {
		got, err := ParseLocation(s)
		if err != nil || got != want {
			t.Errorf("ParseLocation(%q) = %+v, %v; want %+v", s, got, err, want)
		}
		if got.String() != s {
			t.Errorf("String() = %q, want %q", got.String(), s)
		}
	}
	for _, s := range []string{"", "PID", "PID-", "PID-0", "PID-a", "pid-1", "PID-1.", "PID-1(0)", "PID-1(2", "PID.1", "PID-1.2.3.4", "PID(x)-1"} {
		if _, err := ParseLocation(s); err == nil {
			t.Errorf("ParseLocation(%q) succeeded", s)
		}
	}
}

func TestWriter(t *testing.T) {
	w := NewWriter(DefaultDelimiters)
	w.Segment("MSH")
	w.Fields("IIS", "STATE", "CLINIC", "1234", "20240102")
	w.Field()
	w.Field("ACK", "V04", "ACK")
	w.Fields("ACK-1", "P", "2.5.1")
	w.Fields("", "", "NE", "NE", "", "", "")
	w.Field("Z23", "CDCPHINVS")
	w.Segment("MSA")
	w.Fields("AE", "MSG|1")
	w.Segment("ERR")
	w.Field()
	w.Field("RXA", "1", "5", "1", "1", "")
	w.Field("103", "Table value not found", "HL70357")
	w.Fields("E")
	w.FieldSub([]string{"10"}, []string{"RD", "Records", "HL70126"}, []string{"", ""})
	w.Repeated([]string{"a", "b"}, []string{"c^d"}, nil)
	w.Fields("", "", "", "")
	got := string(w.Bytes())
	want := "MSH|^~\\&|IIS|STATE|CLINIC|1234|20240102||ACK^V04^ACK|ACK-1|P|2.5.1|||NE|NE||||Z23^CDCPHINVS\r" +
		"MSA|AE|MSG\\F\\1\r" +
		"ERR||RXA^1^5^1^1|103^Table value not found^HL70357|E|10^RD&Records&HL70126|a^b~c\\S\\d~\r"
	if got != want {
		t.Errorf("Writer wrote\n%q\nwant\n%q", got, want)
	}
	m := mustParse(t, got)
	if !m.Get("MSA-2").Equal("MSG|1") || !m.Get("ERR-6(2)").Equal("c^d") || !m.Get("ERR-5.2.3").Equal("HL70126") {
		t.Errorf("written message does not read back")
	}
	w.Reset()
	w.Segment("MSA")
	if string(w.Bytes()) != "MSA\r" {
		t.Errorf("after Reset: %q", w.Bytes())
	}
}

func TestTranslate(t *testing.T) {
	in := "MSH#$*@!|#A#x$y*z$w!v#a|b@F@c@X41@@H@\rPID#1##a$b!c*d#@E@"
	m := mustParse(t, in)
	out := m.AppendTo(nil, DefaultDelimiters)
	want := "MSH|^~\\&|A|x^y~z^w&v|a\\F\\b#c\\X41\\\\H\\\rPID|1||a^b&c~d|@\r"
	if string(out) != want {
		t.Fatalf("AppendTo = %q\nwant %q", out, want)
	}
	back := mustParse(t, string(out))
	for _, loc := range []string{"MSH-4", "PID-3(2)", "PID-3.2.2", "PID-4"} {
		if a, b := m.Get(loc).String(), back.Get(loc).String(); loc != "MSH-4" && a != b { // unknown escapes (MSH-5) keep the writer's escape character: checked below
			t.Errorf("%s: %q became %q", loc, a, b)
		}
	}
	if !back.Get("MSH-5").Equal("a|b#cA\\H\\") {
		t.Errorf("MSH-5 = %q", back.Get("MSH-5").String())
	}
	// Same delimiters: byte for byte, CR terminators.
	same := mustParse(t, "MSH|^~\\&|A|| \nPID|1||x\\S\\y|\n")
	if got := string(same.AppendTo(nil, DefaultDelimiters)); got != "MSH|^~\\&|A|| \rPID|1||x\\S\\y|\r" {
		t.Errorf("same-delimiter copy = %q", got)
	}
}

func TestSplitBatch(t *testing.T) {
	msg := func(id string) string {
		return "MSH|^~\\&|A|B|||20240101||VXU^V04|" + id + "|P|2.5.1\rPID|1||" + id + "\r"
	}
	good := "FHS|^~\\&|A\rBHS|^~\\&|A\r" + msg("1") + msg("2") + "BTS|2\rBHS|^~\\&|A\r" + msg("3") + "BTS|1\rFTS|2\r"
	b, err := SplitBatch([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Problems) != 0 {
		t.Errorf("problems: %v", b.Problems)
	}
	if len(b.Groups) != 2 || len(b.Groups[0].Messages) != 2 || len(b.Groups[1].Messages) != 1 {
		t.Fatalf("groups wrong: %+v", b.Groups)
	}
	for i, raw := range b.Messages() {
		m := mustParse(t, string(raw))
		if want := string(rune('1' + i)); !m.Get("MSH-10").Equal(want) || !m.Get("PID-3").Equal(want) {
			t.Errorf("message %d wrong: %q", i, raw)
		}
	}
	if !b.FileHeader.Is("FHS") || !b.FileTrailer.Field(1).Equal("2") {
		t.Errorf("envelope wrong")
	}

	problems := []struct{ name, in, want string }{
		{"BTS count", "BHS|^~\\&\r" + msg("1") + "BTS|4\r", "BTS-1 batch message count is 4 but there are 1 messages"},
		{"FTS count", "FHS|^~\\&\rBHS|^~\\&\r" + msg("1") + "BTS|1\rFTS|3\r", "FTS-1 file batch count is 3 but there are 1 batches"},
		{"no BTS", "BHS|^~\\&\r" + msg("1"), "batch 1 has no BTS trailer"},
		{"no FTS", "FHS|^~\\&\rBHS|^~\\&\r" + msg("1") + "BTS|1\r", "file has no FTS trailer"},
		{"count not a number", "BHS|^~\\&\r" + msg("1") + "BTS|one\r", `"one" is not a number`},
	}
	for _, tt := range problems {
		b, err := SplitBatch([]byte(tt.in))
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if len(b.Problems) != 1 || !strings.Contains(b.Problems[0], tt.want) {
			t.Errorf("%s: problems = %q, want %q", tt.name, b.Problems, tt.want)
		}
	}
	// Bare concatenated messages, LF separated.
	b, err = SplitBatch([]byte(strings.ReplaceAll(msg("1")+msg("2"), "\r", "\n")))
	if err != nil || len(b.Messages()) != 2 || len(b.Problems) != 0 {
		t.Fatalf("bare messages: %v %v", err, b)
	}
	for _, bad := range []string{"", "PID|1\r", "BHS|^~\\&\rPID|1\r", "xx"} {
		if b, err := SplitBatch([]byte(bad)); err == nil && len(b.Messages()) > 0 {
			t.Errorf("SplitBatch(%q) gave messages", bad)
		}
	}
	if !IsBatch([]byte("\r\nFHS|^~\\&")) || IsBatch([]byte("MSH|^~\\&")) {
		t.Errorf("IsBatch wrong")
	}
}

func TestZeroAllocs(t *testing.T) {
	data := []byte(vxu)
	var m Message
	var buf []byte
	allocs := testing.AllocsPerRun(100, func() {
		if err := m.Parse(data); err != nil {
			t.Fatal(err)
		}
		_ = m.Get("MSH-9.1").Equal("VXU")
		_ = m.Get("MSH-10").Bytes()
		buf = m.Get("PID-5").Comp(1).AppendText(buf[:0])
		buf = m.Get("NTE-3").AppendText(buf[:0])
		for i := 1; i <= m.Count("RXA"); i++ {
			s, _ := m.Segment("RXA", i)
			_ = s.Field(5).Comp(1).Bytes()
		}
	})
	if allocs != 0 {
		t.Errorf("parse and read allocated %v times, want 0", allocs)
	}
}

func TestSplitting(t *testing.T) {
	m := mustParse(t, vxu)
	for _, s := range m.Segments() {
		fields := s.AppendFields(nil)
		if len(fields) != s.NumFields() {
			t.Errorf("%s: %d fields split, NumFields %d", s.ID(), len(fields), s.NumFields())
		}
		for i, f := range fields {
			if string(f.Bytes()) != string(s.Field(i+1).Bytes()) || f.String() != s.Field(i+1).String() {
				t.Errorf("%s-%d: split %q, Field %q", s.ID(), i+1, f.Bytes(), s.Field(i+1).Bytes())
			}
			var comps [4]Value
			n := f.SplitComps(comps[:])
			for c := range comps {
				if string(comps[c].Bytes()) != string(f.Comp(c+1).Bytes()) {
					t.Errorf("%s-%d.%d: split %q, Comp %q", s.ID(), i+1, c+1, comps[c].Bytes(), f.Comp(c+1).Bytes())
				}
			}
			if want := f.NumComps(); (want <= 4 && n != want) || (want > 4 && n != 5) {
				t.Errorf("%s-%d: SplitComps says %d, NumComps %d", s.ID(), i+1, n, want)
			}
		}
	}
}
