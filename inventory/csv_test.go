package inventory

import (
	"strings"
	"testing"
)

func TestParseReceiptCSV(t *testing.T) {
	for _, tc := range []struct {
		name  string
		in    string
		lots  int
		fails string
	}{
		{"columns in any order, defaults", "Lot,Doses,CVX,expires\nA1,10,20,2027-01-31\nB2,5,110,01/15/2027\n", 2, ""},
		{"all columns", "cvx,ndc,mvx,lot,expires,funding,doses\n20,49281-0286-10,PMC,A1,20270131,private,10\n", 1, ""},
		{"blank lines skipped", "lot,doses,ndc\n\nA1,10,49281-0286-10\n,,\n", 1, ""},
		{"no doses column", "lot,cvx\nA1,20\n", 0, `no "doses" column`},
		{"no vaccine column", "lot,doses\nA1,10\n", 0, "cvx or an ndc"},
		{"bad doses", "lot,doses,cvx\nA1,ten,20\n", 0, "line 2"},
		{"bad date", "lot,doses,cvx,expires\nA1,10,20,soon\n", 0, "not YYYY-MM-DD"},
		{"bad funding", "lot,doses,cvx,funding\nA1,10,20,Medicaid\n", 0, "funding must be"},
		{"empty", "", 0, "empty"},
		{"header only", "lot,doses,cvx\n", 0, "no lots"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lines, err := ParseReceiptCSV(strings.NewReader(tc.in))
			if tc.fails != "" {
				if err == nil || !strings.Contains(err.Error(), tc.fails) || !IsInput(err) {
					t.Errorf("err %v, want %q", err, tc.fails)
				}
				return
			}
			if err != nil || len(lines) != tc.lots {
				t.Fatalf("%d lots, %v", len(lines), err)
			}
		})
	}
	l, _ := ParseReceiptCSV(strings.NewReader("lot,doses,cvx,expires\nA1,10,20,01/15/2027\n"))
	if l[0].Funding != VFC || l[0].Expires.Format("2006-01-02") != "2027-01-15" {
		t.Errorf("line %+v", l[0])
	}
}

func FuzzParseReceiptCSV(f *testing.F) {
	f.Add("cvx,ndc,mvx,lot,expires,funding,doses\n20,,PMC,A1,2027-01-31,VFC,10\n")
	f.Add("lot,doses,cvx\n\"A,1\",5,20\n")
	f.Add("\ufefflot,doses,ndc\nx,-1,1\n")
	f.Fuzz(func(t *testing.T, s string) {
		lines, err := ParseReceiptCSV(strings.NewReader(s))
		if err != nil {
			if !IsInput(err) {
				t.Errorf("error not for people: %v", err)
			}
			return
		}
		for _, l := range lines {
			if l.Check() != nil || l.Doses <= 0 {
				t.Errorf("accepted a bad line %+v", l)
			}
		}
	})
}
