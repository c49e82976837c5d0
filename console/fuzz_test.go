package console

import (
	"net/url"
	"testing"
)

// FuzzMessageView: any bytes a sender sent, or any ACK, render without
// panicking.
func FuzzMessageView(f *testing.F) {
	f.Add([]byte("MSH|^~\\&|A|B|C|D|20260101||VXU^V04^VXU_V04|1|P|2.5.1\rPID|1||1^^^A^MR||Doe^Jane\r"))
	f.Add([]byte("MSH|^~\\&|IIS|IIS|A|B|20260101||ACK^V04^ACK|1|P|2.5.1\rMSA|AE|1\rERR||RXA^1^17^1^1|101^x^HL70357|E|6^y^HL70533|||text\r"))
	f.Add([]byte("garbage\nMSH"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, s := range Segments(b) {
			for _, fv := range s.Fields {
				_ = fv.Name
			}
		}
		_ = ErrRows(b)
		_ = ackCode(b)
	})
}

// FuzzParseFilter: any query string gives a filter or clear problems.
func FuzzParseFilter(f *testing.F) {
	f.Add("facility=A&err=101&from=2026-01-01&to=2026-02-01&dob=2020-01-01&name=Doe,+Jane&before=1700000000000000_42")
	f.Add("err=%00&ack=zz&before=x_y")
	f.Fuzz(func(t *testing.T, q string) {
		v, err := url.ParseQuery(q)
		if err != nil {
			return
		}
		flt, _ := ParseFilter(v)
		_ = flt.Query().Encode()
	})
}
