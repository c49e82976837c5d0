package immz

import (
	"hash/crc32"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/iisproject/iis/hl7"
)

// TestTextRules: what is accepted as text (see text.go). Each row edits
// the valid base message; the named issue (or none) must be raised by
// Decode and Check alike, the ACK must say it, and whatever is decoded
// must be clean UTF-8 text (what PostgreSQL's text columns take).
func TestTextRules(t *testing.T) {
	v := New(Config{Now: testNow})
	base := readSample(t, baseSample)
	tests := []struct {
		name  string
		edits edits
		msa   string
		loc   string // "" : no issue about text
		code  int
		sev   Severity
		app   int
	}{
		{"NUL in PID-5", edits{{"PID-5", "Sn\x00ow^Madelynn^Ainsley^^^^L"}}, "AE", "PID^1^5", 102, Error, 4},
		{"NUL alone in PID-5.2", edits{{"PID-5.2", "\x00"}}, "AE", "PID^1^5", 102, Error, 4},
		{"NUL in MSH-10", edits{{"MSH-10", "NIST-IZ-001.00\x00"}}, "AR", "MSH^1^10", 102, Error, 4},
		{"SOH in MSH-4", edits{{"MSH-4", "NIST\x01Test"}}, "AR", "MSH^1^4", 102, Error, 4},
		{"ESC in RXA-15", edits{{"RXA-15", "LOT\x1b1"}}, "AE", "RXA^1^15", 102, Error, 4},
		{"tab in NK1-2", edits{{"NK1-2", "Snow\tx^Marion"}}, "AE", "NK1^1^2", 102, Error, 4},
		{"NUL in an ignored segment", edits{{"+PD1", "PV1|1|R\x00"}}, "AE", "PV1^1^2", 102, Error, 4},
		{"invalid UTF-8 in PID-5", edits{{"PID-5.1", "Sn\xf6w"}}, "AE", "PID^1^5", 102, Error, 4},
		{"invalid UTF-8 in MSH-4", edits{{"MSH-4", "Caf\xe9"}}, "AR", "MSH^1^4", 102, Error, 4},
		{"escape spells NUL", edits{{"PID-5.1", `Snow\X00\`}}, "AE", "PID^1^5", 102, Error, 4},
		{"escape spells bad UTF-8", edits{{"PID-5.1", `Snow\XC3\`}}, "AE", "PID^1^5", 102, Error, 4},
		{"escape spells CR in MSH-10", edits{{"MSH-10", `A\X0D\B`}}, "AR", "MSH^1^10", 102, Error, 4},
		{"escape spells a line break in a body value", edits{{"PID-11.2", `Apt 1\X0D0A\Rear`}}, "AA", "", 0, 0, 0},
		{"UTF-8 under no MSH-18", edits{{"PID-5.1", "Snöw"}}, "AA", "", 0, 0, 0},
		{"UTF-8 under ASCII", edits{{"MSH-18", "ASCII"}, {"PID-5.1", "Snöw"}}, "AA", "", 0, 0, 0},
		{"UTF-8 under UNICODE UTF-8", edits{{"MSH-18", "UNICODE UTF-8"}, {"PID-5.1", "Snöw"}}, "AA", "", 0, 0, 0},
		{"8859/1 transcoded", edits{{"MSH-18", "8859/1"}, {"PID-5.1", "Sn\xf6w"}}, "AA", "", 0, 0, 0},
		{"PID-5 repetition too long", edits{{"PID-5", "Snow^Madelynn^^^^^L~" + strings.Repeat("x", 799) + "^Y^^^^^A"}}, "AE", "PID^1^5^2", 102, Error, 4},
		{"PID-5 repetition at the limit", edits{{"PID-5", "Snow^Madelynn^^^^^L~" + strings.Repeat("x", 790) + "^Y^^^^^A"}}, "AA", "", 0, 0, 0},
		{"PID-11 long but not one repetition", edits{{"PID-11", strings.Repeat("1 Main St^^Town^MA^02451^USA^L~", 40) + "1 Main St"}}, "AA", "", 0, 0, 0},
		{"MSH-4 too long", edits{{"MSH-4", strings.Repeat("F", 801)}}, "AR", "MSH^1^4^1", 102, Error, 4},
		{"long OBX-5 text is kept", edits{{"OBX-5", strings.Repeat("note ", 400)}}, "AA", "", 0, 0, 0},
		{"unsupported MSH-18, ASCII body", edits{{"MSH-18", "ISO IR87"}}, "AA", "MSH^1^18", 103, Warning, 5},
		{"unsupported MSH-18, other bytes", edits{{"MSH-18", "8859/2"}, {"PID-5.1", "Sn\xf6w"}}, "AR", "MSH^1^18", 103, Error, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := base
			for _, e := range tt.edits {
				msg = edit(t, msg, e[0], e[1])
			}
			r := v.Decode([]byte(msg))
			if c := v.Check([]byte(msg)); !sameVerdict(r, c) {
				t.Errorf("Check differs from Decode:\n decode %+v\n check  %+v", r.Issues, c.Issues)
			}
			if got := v.AckCode(r); got != tt.msa {
				t.Errorf("MSA-1 = %s, want %s (issues %+v)", got, tt.msa, r.Issues)
			}
			var found *Issue
			for i := range r.Issues {
				if r.Issues[i].Location.Segment == "MSH" && r.Issues[i].Location.Field == 18 || r.Issues[i].Rule == "text" {
					found = &r.Issues[i]
				}
			}
			switch {
			case tt.loc == "" && found != nil:
				t.Fatalf("unexpected issue %+v", *found)
			case tt.loc != "" && found == nil:
				t.Fatalf("no text issue; issues %+v", r.Issues)
			case found != nil && (found.Location.String() != tt.loc || found.Code != tt.code || found.Severity != tt.sev || found.AppCode != tt.app):
				t.Errorf("got %s %d %s %d, want %s %d %s %d (%s)", found.Location, found.Code, found.Severity, found.AppCode, tt.loc, tt.code, tt.sev, tt.app, found.Message)
			}
			if found != nil && !strings.HasPrefix(found.Message, found.Location.Path()) && found.Location.Field != 18 {
				t.Errorf("ERR-8 %q does not name %s", found.Message, found.Location.Path())
			}
			// The header, which is stored even for a rejected message, and
			// every decoded text are clean.
			assertCleanText(t, "header", r.Header)
			if r.VXU != nil {
				assertCleanText(t, "VXU", *r.VXU)
			}
			ack, err := hl7.Parse(v.Ack(r))
			if err != nil {
				t.Fatal(err)
			}
			if !ack.Get("MSA-1").Equal(tt.msa) || ack.Count("ERR") != len(r.Issues) {
				t.Errorf("ACK: MSA-1 %s, %d ERR for %d issues", ack.Get("MSA-1").String(), ack.Count("ERR"), len(r.Issues))
			}
			if s := ack.Get("MSA-2").String(); !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 }) {
				t.Errorf("MSA-2 %q is not clean text", s)
			}
		})
	}
}

// TestLatin1Decoded: under MSH-18 8859/1 the decoded values are the
// characters the sender meant, in UTF-8.
func TestLatin1Decoded(t *testing.T) {
	v := New(Config{Now: testNow})
	msg := edit(t, edit(t, readSample(t, baseSample), "MSH-18", "8859/1"), "PID-5.2", "Ren\xe9e")
	for _, raw := range []string{msg, "\xEF\xBB\xBF" + msg} { // with a byte order mark too
		r := v.Decode([]byte(raw))
		if r.VXU == nil {
			t.Fatalf("rejected: %+v", r.Issues)
		}
		if got := r.VXU.Patient.Names[0].Given; got != "Renée" {
			t.Errorf("given name %q, want Renée", got)
		}
	}
}

// assertCleanText fails when any string reachable from x holds a control
// character or bytes that are not UTF-8.
func assertCleanText(t *testing.T, what string, x any) {
	t.Helper()
	for _, s := range stringsOf(x) {
		if !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 && r != '\n' && r != '\r' && r != '\t' }) {
			t.Errorf("%s holds %q", what, s)
		}
	}
}

// stringsOf returns every string reachable from x.
func stringsOf(x any) []string {
	var out []string
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.String:
			out = append(out, v.String())
		case reflect.Struct:
			for i := 0; i < v.NumField(); i++ {
				if v.Type().Field(i).IsExported() {
					walk(v.Field(i))
				}
			}
		case reflect.Slice, reflect.Array:
			for i := 0; i < v.Len(); i++ {
				walk(v.Index(i))
			}
		case reflect.Pointer, reflect.Interface:
			if !v.IsNil() {
				walk(v.Elem())
			}
		}
	}
	walk(reflect.ValueOf(x))
	return out
}

func TestStorableID(t *testing.T) {
	long := strings.Repeat("é", 150) // 300 bytes
	tests := []struct{ in, want string }{
		{"NIST-IZ-1", "NIST-IZ-1"},
		{"A\x00B", `A\x00B`},
		{"Caf\xe9", `Caf\xE9`},
		{"Café", "Café"},
		{long, strings.Repeat("é", 90) + "…#" + strconv.FormatUint(uint64(crc32.ChecksumIEEE([]byte(long))), 16)},
	}
	for _, tt := range tests {
		if got := StorableID(tt.in); got != tt.want || !utf8.ValidString(got) || len(got) > 199 {
			t.Errorf("StorableID(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if StorableID(long+"a") == StorableID(long+"b") {
		t.Error("two overlong identities are not told apart")
	}
}
