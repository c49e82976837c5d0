package quality

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/iisproject/iis/hl7/immz"
	"github.com/iisproject/iis/registry"
)

func TestParseEntry(t *testing.T) {
	for _, c := range []struct {
		in, detection string
		want          Entry
		err           string
	}{
		{"W:103:5:RXA-17", "103:5:RXA-17", Entry{Severity: "W", Code: 103, AppCode: 5, Position: "RXA-17"}, ""},
		{"W:103:5:RXA-17:MQE0087", "MQE0087", Entry{Severity: "W", Code: 103, AppCode: 5, Position: "RXA-17", MQE: "MQE0087"}, ""},
		{"E:101:7:RXA-5.1", "101:7:RXA-5.1", Entry{Severity: "E", Code: 101, AppCode: 7, Position: "RXA-5.1"}, ""},
		{"E:100:0:PID", "100:0:PID", Entry{Severity: "E", Code: 100, Position: "PID"}, ""},
		{"E:207:0:", "207:0:", Entry{Severity: "E", Code: 207}, ""},
		{"I:0:0:MSH-10:MQE0001", "MQE0001", Entry{Severity: "I", Position: "MSH-10", MQE: "MQE0001"}, ""},
		{"W:103:5", "", Entry{}, "want severity"},
		{"W:103:5:RXA-17:MQE0087:x", "", Entry{}, "want severity"},
		{"X:103:5:RXA-17", "", Entry{}, "severity"},
		{"W:abc:5:RXA-17", "", Entry{}, "0357"},
		{"W:103:-1:RXA-17", "", Entry{}, "0533"},
		{"W:103:5:rxa-17", "", Entry{}, "position"},
		{"W:103:5:RXA-0", "", Entry{}, "position"},
		{"W:103:5:RXA-17.1.2.3", "", Entry{}, "position"},
		{"W:103:5:RXA-17:MQE87", "", Entry{}, "MQE code"},
		{"W:103:5:RXA-17:XYZ0087", "", Entry{}, "MQE code"},
		{"", "", Entry{}, "want severity"},
	} {
		got, err := ParseEntry(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseEntry(%q) error = %v, want one about %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want || got.Detection() != c.detection {
			t.Errorf("ParseEntry(%q) = %+v (%s), %v; want %+v (%s)", c.in, got, got.Detection(), err, c.want, c.detection)
		}
	}
}

func TestDescribeDetection(t *testing.T) {
	for in, want := range map[string]string{
		"MQE0255":      "Vaccination admin date is before birth",
		"MQE9999":      "MQE detection MQE9999",
		"103:5:RXA-17": "Table value not found at RXA-17",
		"101:7:RXA-15": "Required field missing: required data missing at RXA-15",
		"100:0:PID":    "Segment sequence error at PID",
		"555:0:":       "HL7 error 555",
		"junk":         "junk",
	} {
		if got := DescribeDetection(in); got != want {
			t.Errorf("DescribeDetection(%q) = %q, want %q", in, got, want)
		}
	}
	if n := len(immz.Detections()); n < 600 {
		t.Errorf("%d MQE detections known, want the whole list (656)", n)
	}
}

// FuzzParseEntry: any stored text gives an entry or an error, and an
// entry's detection key reads back as the same detection.
func FuzzParseEntry(f *testing.F) {
	for _, s := range []string{"W:103:5:RXA-17", "W:103:5:RXA-17:MQE0087", "E:100:0:PID", "::::", "E:1:2:ABC-1.2.3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseEntry(s)
		if err != nil {
			return
		}
		if e.Detection() == "" {
			t.Fatalf("%q: empty detection", s)
		}
		_ = DescribeDetection(e.Detection())
	})
}

// FuzzAnalyse: any ERR entries over any bytes analyse without a crash;
// every entry is either a finding's or counted unreadable.
func FuzzAnalyse(f *testing.F) {
	f.Add("W:103:5:RXA-17;E:101:7:PID-5", []byte("MSH|^~\\&|||||||VXU^V04|1|P|2.5.1\rRXA|0|1|2020||08^HepB^CVX||||||||||||MSD^^MVX"))
	f.Add("W:103:5:OBX-5:MQE0001", []byte("MSH|^~\\&\rOBX|1|CE|x|1|\xff\xfe"))
	f.Fuzz(func(t *testing.T, issues string, raw []byte) {
		list := strings.Split(issues, ";")
		a := Analyse(registry.ReceivedMessage{Kind: "vxu", Issues: list, Raw: raw, Received: time.Unix(0, 0)}, time.UTC)
		if len(a.Findings)+a.Unreadable > len(list) || a.Unreadable > len(list) {
			t.Fatalf("%d findings, %d unreadable of %d entries", len(a.Findings), a.Unreadable, len(list))
		}
		for _, x := range a.Findings {
			if !utf8.ValidString(x.Sent) {
				t.Fatalf("sent %q is not UTF-8", x.Sent)
			}
		}
	})
}
