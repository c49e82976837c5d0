package immz

import (
	"testing"

	"github.com/iisproject/iis/hl7"
)

// FuzzDecode: any bytes yield a Result and an ACK that parses, whose MSA-1
// is AA, AE or AR and whose ERR rows match the issues; Check finds what
// Decode finds.
func FuzzDecode(f *testing.F) {
	for _, raw := range corpusMessages(f) {
		f.Add(raw)
	}
	f.Add([]byte("MSH|^~\\&|A|B|C|D|20200101||VXU^V04^VXU_V04|1|P|2.5.1\rPID|1||1^^^A^MR||X^Y||20200101\rRXA|0|1|20200101||08^HB^CVX"))
	f.Add([]byte("garbage"))
	// The text and shape rules: a NUL, Latin-1 declared and not, an escape
	// spelling a control, a glued RXA, data past RXR-6.
	f.Add([]byte("MSH|^~\\&|A|B|C|D|20200101||VXU^V04^VXU_V04|1\x00|P|2.5.1|||||8859/1\rPID|1||1^^^A^MR||X\xe9^Y||20200101\rRXA|0|1|20200101||08^HB^CVX"))
	f.Add([]byte("MSH|^~\\&|A|B|C|D|20200101||VXU^V04^VXU_V04|1|P|2.5.1\rPID|1||1^^^A^MR||X\\X00\\^Y||20200101\rORC|RE\rRXA|0|1|20200101||08^HB^CVX\rOBX|1|CE|64994-7^x^LN|1|V02^x^HL70064||||||F|RXA|0|1|20200101||20^DTaP^CVX\rRXR|C28161|LD|||||x"))
	v := New(Config{Now: testNow})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := v.Decode(data)
		ack, err := hl7.Parse(v.Ack(r))
		if err != nil {
			t.Fatalf("ACK does not parse: %v", err)
		}
		switch code := ack.Get("MSA-1").String(); code {
		case "AA", "AE", "AR":
		default:
			t.Fatalf("MSA-1 %q", code)
		}
		if ack.Count("ERR") != len(r.Issues) {
			t.Fatalf("%d ERR for %d issues", ack.Count("ERR"), len(r.Issues))
		}
		if r.Kind == KindVXU && r.VXU == nil && !r.Rejected() {
			t.Fatalf("VXU neither decoded nor rejected")
		}
		if c := v.Check(data); !sameVerdict(r, c) {
			t.Fatalf("Check differs from Decode\n decode: %+v\n check:  %+v", r.Issues, c.Issues)
		}
	})
}
