package aira_test

import (
	"strings"
	"testing"

	"github.com/iisproject/iis/match/aira"
)

// FuzzParse: arbitrary input is either parsed or rejected with an error,
// never a panic.
func FuzzParse(f *testing.F) {
	f.Add("TEST: S-1:X:IDEAL-IDEAL\nEXPECT: Match\nPATIENT A: nameFirst=A,birthDate=20200101,\nPATIENT B: nameFirst=A,nameLast=B, C,\n")
	f.Add("EXPECT: Not a Match\nPATIENT A: phone=(989)958-0670\nPATIENT B: mrns=1-X\n")
	f.Add("TEST: \nEXPECT: Possible Match\nPATIENT A: =,\nPATIENT B: a=b=c\n")
	f.Fuzz(func(t *testing.T, in string) {
		_, _ = aira.Parse(strings.NewReader(in), "fuzz")
	})
}
