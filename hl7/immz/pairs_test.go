package immz

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/iisproject/iis/hl7"
)

// expectedAck is one entry of testdata/hl7/samples/synthetic/expected.json:
// the ACK the IG prescribes for an input message.
type expectedAck struct {
	MSA1 string `json:"msa1"`
	Errs []struct {
		Loc      string `json:"loc"`
		HL7Code  string `json:"hl7code"`
		Severity string `json:"severity"`
		CDCCode  string `json:"cdccode"`
	} `json:"errs"`
}

// errRows returns an ACK's ERR rows as "ERR-2 ERR-3.1 ERR-4 ERR-5.1",
// without the rows of the data quality rules (MQE detections of
// quality.go, which TestDetections covers): the reference ACKs predate them.
func errRows(t *testing.T, ack []byte) (string, []string) {
	t.Helper()
	m, err := hl7.Parse(ack)
	if err != nil {
		t.Fatalf("ACK does not parse: %v", err)
	}
	var rows []string
	for i := 1; i <= m.Count("ERR"); i++ {
		s, _ := m.Segment("ERR", i)
		if _, quality := newRules[s.Field(5).Comp(4).String()]; quality {
			continue
		}
		rows = append(rows, fmt.Sprintf("%s %s %s %s", s.Field(2).String(), s.Field(3).Comp(1).String(), s.Field(4).String(), s.Field(5).Comp(1).String()))
	}
	return m.Get("MSA-1").String(), rows
}

// TestAckPairs reproduces the expected ACK of every input with one: the
// same MSA-1 and the same ERR rows (location, HL7 code, severity, CDC code).
func TestAckPairs(t *testing.T) {
	b, err := os.ReadFile(samples + "synthetic/expected.json")
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]expectedAck
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	v := New(Config{Now: testNow})
	for key, exp := range want {
		t.Run(key, func(t *testing.T) {
			file, n := key, 1
			if i := strings.IndexByte(key, '#'); i >= 0 {
				file = key[:i]
				fmt.Sscan(key[i+1:], &n)
			}
			data, err := os.ReadFile(samples + "synthetic/" + file)
			if err != nil {
				t.Fatal(err)
			}
			batch, err := hl7.SplitBatch(data)
			if err != nil || len(batch.Messages()) < n {
				t.Fatalf("message %d of %s: %v", n, file, err)
			}
			msa, rows := errRows(t, v.Ack(v.Decode(batch.Messages()[n-1])))
			var wantRows []string
			for _, e := range exp.Errs {
				wantRows = append(wantRows, fmt.Sprintf("%s %s %s %s", e.Loc, e.HL7Code, e.Severity, e.CDCCode))
			}
			if msa != exp.MSA1 || strings.Join(rows, "\n") != strings.Join(wantRows, "\n") {
				t.Errorf("got %s\n  %s\nwant %s\n  %s", msa, strings.Join(rows, "\n  "), exp.MSA1, strings.Join(wantRows, "\n  "))
			}
		})
	}
}

// TestNISTAckConvention: with WarningsAsAE, a warnings-only message is
// answered AE as NIST's 2015 test plan does (ack-ae-nist-ad-8.2: unknown
// administration site, W, MSA AE), and the ERR row locates RXR-2.
func TestNISTAckConvention(t *testing.T) {
	base := readSample(t, baseSample)
	msg := edit(t, base, "RXR-2", "XX^Unknown site^HL70163")
	for _, tc := range []struct {
		cfg  Config
		want string
	}{{Config{Now: testNow}, "AA"}, {Config{Now: testNow, WarningsAsAE: true}, "AE"}} {
		v := New(tc.cfg)
		msa, rows := errRows(t, v.Ack(v.Decode([]byte(msg))))
		if msa != tc.want || len(rows) != 1 || rows[0] != "RXR^1^2^1^1 103 W 5" {
			t.Errorf("WarningsAsAE=%v: %s %q", tc.cfg.WarningsAsAE, msa, rows)
		}
	}
	// NIST AD-10: unsupported version → AR, ERR MSH^1^12^1^1 203 E.
	v := New(Config{Now: testNow})
	msa, rows := errRows(t, v.Ack(v.Decode([]byte(edit(t, base, "MSH-12", "2.3.1")))))
	want, _ := hl7.Parse([]byte(readSample(t, "ack-ar-nist-ad-10.2-unsupported-version.hl7")))
	wantRow := fmt.Sprintf("%s %s %s %s", want.Get("ERR-2").String(), want.Get("ERR-3.1").String(), want.Get("ERR-4").String(), want.Get("ERR-5.1").String())
	if msa != want.Get("MSA-1").String() || len(rows) != 1 || rows[0] != wantRow {
		t.Errorf("AD-10: %s %q, NIST %s %q", msa, rows, want.Get("MSA-1").String(), wantRow)
	}
}
