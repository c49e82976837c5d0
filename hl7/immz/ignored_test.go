package immz

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/iisproject/iis"
	"github.com/iisproject/iis/synth"
)

// carried returns the values a decoded VXU keeps where the issue's rule
// looks: the field the ACK says was ignored, of the dose at the issue's
// position for RXA rules, of any dose for the table codes of RXR and OBX
// (a recognised code can never equal an unrecognised one), or of the
// patient. ok is false for a rule not listed here.
func carried(x *VXU, is Issue) (vals []string, ok bool) {
	doses := x.Vaccinations
	at := func() []iis.Vaccination { // the dose of an RXA issue
		for _, v := range doses {
			if v.Position == is.Location.Sequence {
				return []iis.Vaccination{v}
			}
		}
		return nil
	}
	p := &x.Patient
	codes := func(cs []iis.Code) {
		for _, c := range cs {
			vals = append(vals, c.Code)
		}
	}
	notZero := func(set bool, s string) {
		if set {
			vals = append(vals, s)
		}
	}
	switch is.Rule {
	case "RXA-17 table":
		for _, v := range at() {
			vals = append(vals, v.Manufacturer.Code)
		}
	case "RXA-18 table":
		for _, v := range at() {
			codes(v.RefusalReasons)
		}
	case "RXA-6 format":
		for _, v := range at() {
			vals = append(vals, v.Amount)
		}
	case "RXA-16 format":
		for _, v := range at() {
			notZero(!v.Expiration.IsZero(), v.Expiration.String())
		}
	case "RXA-4 format", "RXA-4 future":
		for _, v := range at() {
			notZero(!v.AdministeredEnd.IsZero(), v.AdministeredEnd.String())
		}
	case "RXA-22 format", "RXA-22 future":
		for _, v := range at() {
			notZero(!v.SystemEntry.IsZero(), v.SystemEntry.String())
		}
	case "RXR-1 table":
		for _, v := range doses {
			vals = append(vals, v.Route.Code)
		}
	case "RXR-2 table":
		for _, v := range doses {
			vals = append(vals, v.Site.Code)
		}
	case "64994-7 table":
		for _, v := range doses {
			vals = append(vals, v.FundingEligibility.Code)
		}
	case "30963-3 table":
		for _, v := range doses {
			vals = append(vals, v.FundingSource.Code)
		}
	case "OBX-3 required": // the observation itself is ignored
		for _, v := range doses {
			for _, o := range v.Observations {
				notZero(o.ID.Code == "", fmt.Sprintf("observation %+v", o))
			}
		}
		for _, o := range p.Observations {
			notZero(o.ID.Code == "", fmt.Sprintf("observation %+v", o))
		}
	case "OBX-14 format", "OBX-14 future":
		// The observation is kept without its date: nothing reads a date
		// that did not parse.
	case "PID-3.5 table":
		for _, id := range p.Identifiers {
			vals = append(vals, id.Type)
		}
	case "PID-8 table":
		vals = append(vals, p.Sex)
	case "PID-10 table", "PID-10 ethnicity as race":
		codes(p.Races)
	case "PID-11.5 zip":
		for _, a := range p.Addresses {
			vals = append(vals, a.Zip)
		}
	case "PID-22 table", "PID-22 race as ethnicity":
		codes(p.Ethnicities)
	case "PID-24 table":
		vals = append(vals, p.MultipleBirth)
	case "PID-25 format":
		notZero(p.BirthOrder != 0, strconv.Itoa(p.BirthOrder))
	case "PID-29 format", "PID-29 future":
		notZero(!p.DeathDate.IsZero(), p.DeathDate.String())
	case "PD1-11 table":
		vals = append(vals, p.PublicityCode.Code)
	case "PD1-12 table":
		vals = append(vals, p.Protection)
	case "PD1-16 table":
		vals = append(vals, p.RegistryStatus)
	case "PD1-13 format", "PD1-13 future":
		notZero(!p.ProtectionDate.IsZero(), p.ProtectionDate.String())
	case "PD1-17 format", "PD1-17 future":
		notZero(!p.RegistryStatusDate.IsZero(), p.RegistryStatusDate.String())
	case "PD1-18 format", "PD1-18 future":
		notZero(!p.PublicityDate.IsZero(), p.PublicityDate.String())
	case "NK1-3 table":
		for _, g := range p.Guardians {
			vals = append(vals, g.Relationship.Code)
		}
	case "RXR placement", "OBX placement", "PID repeated", "segment not in VXU", "MSH-18 character set":
		// Whole segments (or the character set) ignored: nothing of them
		// is decoded at all (see vxu).
	default:
		return nil, false
	}
	return vals, true
}

// quoted returns the first quoted value of an ERR-8 text.
func quoted(msg string) (string, bool) {
	i := strings.IndexByte(msg, '"')
	if i < 0 {
		return "", false
	}
	q, err := strconv.QuotedPrefix(msg[i:])
	if err != nil {
		return "", false
	}
	s, err := strconv.Unquote(q)
	return s, err == nil
}

// TestIgnoredNotStored: what the ACK says was ignored is not in what
// Decode keeps. For every issue whose ERR-8 says a value (or an
// observation, a segment) was ignored, over the corpus, 3,000 synthetic
// messages and edits of the base message with unknown codes in every
// coded field a rule checks, the decoded patient or dose does not carry
// the value the ERR quotes (or a date, for a date that did not parse).
// Every rule that says "ignored" must be listed in carried.
func TestIgnoredNotStored(t *testing.T) {
	v := New(Config{Now: testNow})
	msgs := corpusMessages(t)
	for i, m := range synth.New(synth.Config{Seed: 17}).Take(3000) {
		msgs[fmt.Sprintf("synth %d", i)] = m.Body
	}
	base := readSample(t, baseSample)
	for i, e := range []edits{
		{{"RXA-18", "PMC^sanofi^MVX"}, {"RXA-20", "RE"}},
		{{"RXA-18", "77^Odd^NIP002~00^Parental decision^NIP002"}, {"RXA-20", "RE"}},
		{{"+OBX(4)", "OBX|5|CE|30963-3^Funding Source^LN|3|ZZZ^Bogus^CDCPHINVS||||||F"}},
		{{"NK1-3", "ZZZ^Alien^HL70063"}},
		{{"PID-3", "D26376273^^^NIST MPI^XYZ"}},
		{{"+PD1", "OBX|1|ST||1|free text||||||F"}},
		{{"RXA-17", "ZZZ^Nobody^MVX"}, {"RXR-1", "XX^Sideways^HL70162"}, {"RXR-2", "XX^Elbow^HL70163"}, {"RXA-6", "half"}, {"RXA-16", "soon"}},
		{{"PID-8", "Q"}, {"PID-10", "9999-9^Martian^CDCREC"}, {"PID-22", "XX^Unknown^CDCREC"}, {"PID-24", "X"}, {"PD1-11", "99^Bogus^HL70215"}, {"PD1-12", "Maybe"}, {"PD1-16", "Z"}},
		{{"OBX-5", "V99^Bogus^HL70064"}, {"PID-11", "32 Prescott Street Ave^^Warwick^MA^0245^USA^L"}, {"PID-24", "Y"}, {"PID-25", "first"}},
	} {
		msg := base
		for _, x := range e {
			msg = edit(t, msg, x[0], x[1])
		}
		msgs[fmt.Sprintf("edit %d", i)] = []byte(msg)
	}
	checked := map[string]int{}
	for name, raw := range msgs {
		r := v.Decode(raw)
		if r.VXU == nil {
			continue
		}
		for _, is := range r.Issues {
			if !strings.Contains(is.Message, "ignored") {
				continue
			}
			vals, ok := carried(r.VXU, is)
			if !ok {
				t.Errorf("%s: rule %q says %q: list what it ignores in carried", name, is.Rule, is.Message)
				continue
			}
			checked[is.Rule]++
			want, hasValue := quoted(is.Message)
			for _, got := range vals {
				if strings.Contains(is.Message, "observation ignored") || strings.Contains(is.Rule, "format") || strings.Contains(is.Rule, "future") {
					if got != "" {
						t.Errorf("%s: %s says %q, but Decode kept %s", name, is.Location, is.Message, got)
					}
					continue
				}
				if hasValue && got == want {
					t.Errorf("%s: %s says %q, but Decode kept %q there", name, is.Location, is.Message, got)
				}
			}
		}
	}
	for _, rule := range []string{"RXA-18 table", "30963-3 table", "NK1-3 table", "PID-3.5 table", "OBX-3 required", "RXA-17 table", "PID-8 table"} {
		if checked[rule] == 0 {
			t.Errorf("no message exercised %q", rule)
		}
	}
	t.Logf("ignored values checked, by rule: %v", checked)
}
