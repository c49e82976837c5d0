package query

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/iisproject/iis"
	"github.com/iisproject/iis/hl7"
	"github.com/iisproject/iis/hl7/immz"
)

// allowedDifferences are what a Z32 may give otherwise than the VXU did,
// as the IG allows; the round trip normalises these before comparing.
var allowedDifferences = []struct{ field, why string }{
	{"PID-3, PID-5, PID-11, PID-13 order", "an answer lists every identifier, name, address and phone the registry holds; compared as sets"},
	{"PID-5 letter case", "names differing only in letter case are one name: the latest form reported is given"},
	{"PID-5.5 prefix, PID-6 beyond family and given", "not stored"},
	{"PID-13.1, .5, .8 (XTN unformatted, country, extension)", "a phone is stored as its area code and local number, use, equipment and email"},
	{"PD1-11 text", "the publicity code is stored as its code (HL70215)"},
	{"RXA-4", "an RSP gives RXA-3 again when RXA-4 was not sent (the IG requires RXA-4 equal to RXA-3)"},
	{"RXA-10 beyond id, family, given and authority", "an administering provider is stored as those four"},
	{"RXA-22", "not returned"},
	{"patient-level OBX", "not part of an RSP's grammar; kept for the forecast"},
	{"PID-6.7", "M when a mother's maiden name is given (none when none was reported)"},
	{"OBX-17 of a 64994-7 whose OBX-5 was not accepted", "an eligibility the validator rejected is not stored, nor its method"},
	{"NK1 order", "guardians are listed by name"},
	{"ORC-3.2 of a dose reported without ORC-3", "the sending facility (MSH-4), the namespace the registry files the dose under"},
	{"OBX-1, OBX-4", "set IDs and sub-IDs are renumbered; the OBX of one VIS keep one sub-ID"},
	{"OBX-2 of VIS dates, OBX-14 of typed observations", "VIS dates are written as TS; eligibility, funding, VIS, immunity, contraindication and reaction OBX carry no OBX-14"},
	{"ORC-10, ORC-12 beyond id, family, given and authority", "as RXA-10"},
}

// TestRoundTripCorpus: every accepted VXU of the corpus (testdata/hl7),
// sent through the worker into PostgreSQL and asked for with a Z34, comes
// back in the Z32 with every PID, PD1, NK1, ORC, RXA, RXR and OBX fact it
// reported (decoded again, compared after the normalisations of
// allowedDifferences), and nothing it did not report.
func TestRoundTripCorpus(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end")
	}
	p := newPipeline(t)
	type sent struct {
		name string
		raw  []byte
		vxu  *immz.VXU
		id   iis.Identifier
	}
	var all []sent
	root := "../testdata/hl7/samples"
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".hl7") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if hl7.IsBatch(b) || !bytes.Contains(b, []byte("VXU^V04")) {
			return nil
		}
		n := len(all) + 1
		raw := uniquePatient(b, n)
		if raw == nil {
			return nil
		}
		r := p.v.Decode(raw)
		if r.VXU == nil || r.Rejected() || len(r.VXU.Vaccinations) == 0 {
			return nil
		}
		var id iis.Identifier
		for _, x := range r.VXU.Patient.Identifiers {
			if x.Authority != "" {
				id = x
				break
			}
		}
		for _, v := range r.VXU.Vaccinations {
			if v.Action != "A" {
				return nil // updates and deletes change what an answer gives
			}
		}
		if id.Value == "" || r.VXU.Patient.BirthDate.IsZero() || r.VXU.Patient.Protection == "Y" {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		all = append(all, sent{name: rel, raw: raw, vxu: r.VXU, id: id})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) < 40 {
		t.Fatalf("only %d VXU samples", len(all))
	}
	for _, s := range all {
		p.send(t, s.raw)
	}
	p.wait(t)
	failed := 0
	for i, s := range all {
		pt := &s.vxu.Patient
		n := pt.LegalName()
		q := qbp("Z34", fmt.Sprint("RT", i), s.id.Value, n.Family, n.Given, pt.BirthDate.Format("20060102"), pt.Sex)
		q = bytes.Replace(q, []byte("^^^AUTH^MR"), []byte("^^^"+s.id.Authority+"^"+s.id.Type), 1)
		m := p.query(t, q)
		if !m.Get("MSH-21.1").Equal("Z32") {
			t.Errorf("%s: answered %s %s", s.name, m.Get("MSH-21.1"), m.Get("QAK-2"))
			failed++
			continue
		}
		if s.vxu.Patient.MotherMaidenName.IsZero() && !m.Get("PID-6").Equal("") {
			t.Errorf("%s: no mother's maiden name was reported, PID-6 is %q", s.name, m.Get("PID-6"))
		}
		back := p.v.Decode(asVXU(m))
		if back.VXU == nil {
			t.Fatalf("%s: the Z32 does not decode as a VXU: %v", s.name, back.Issues)
		}
		if diffs := compareRecords(s.vxu, back.VXU); len(diffs) > 0 {
			failed++
			if failed <= 12 {
				t.Errorf("%s:\n  %s", s.name, strings.Join(diffs, "\n  "))
			}
		}
	}
	if failed > 0 {
		t.Errorf("%d of %d samples differ", failed, len(all))
	}
}

// uniquePatient gives sample n's patient its own identifiers, names
// and MSH-10, so that no two samples are one patient; nil if it has no PID.
func uniquePatient(raw []byte, n int) []byte {
	segs := strings.Split(strings.TrimRight(strings.ReplaceAll(string(raw), "\n", "\r"), "\r"), "\r")
	found := false
	for i, s := range segs {
		f := strings.Split(s, "|")
		switch {
		case strings.HasPrefix(s, "MSH|") && len(f) > 9:
			f[9] = fmt.Sprint("RT", n)
		case strings.HasPrefix(s, "PID|") && len(f) > 5:
			found = true
			reps := strings.Split(f[3], "~")
			for k, r := range reps {
				if r != "" {
					reps[k] = fmt.Sprintf("%s-%d", strings.SplitN(r, "^", 2)[0], n) + r[len(strings.SplitN(r, "^", 2)[0]):]
				}
			}
			f[3] = strings.Join(reps, "~")
			names := strings.Split(f[5], "~")
			for k, nm := range names {
				if nm != "" {
					fam, rest, _ := strings.Cut(nm, "^")
					given, rest, _ := strings.Cut(rest, "^")
					names[k] = scramble(n, 1) + fam + "^" + scramble(n, 2) + given + "^" + rest
				}
			}
			f[5] = strings.Join(names, "~")
		default:
			continue
		}
		segs[i] = strings.Join(f, "|")
	}
	if !found {
		return nil
	}
	return []byte(strings.Join(segs, "\r") + "\r")
}

// scramble is six letters that differ from sample to sample.
func scramble(n, salt int) string {
	x := uint32(n*7919+salt*104729) * 2654435761
	b := make([]byte, 6)
	for i := range b {
		b[i] = byte('a' + x%26)
		x /= 26
	}
	b[0] -= 'a' - 'A'
	return string(b)
}

func letters(n int) string {
	s := ""
	for ; n > 0; n /= 26 {
		s += string(rune('a' + n%26))
	}
	return s
}

// asVXU is an RSP's patient and doses as a VXU, for the decoder.
func asVXU(m *hl7.Message) []byte {
	var b bytes.Buffer
	for _, s := range m.Segments() {
		switch {
		case s.Is("MSH"):
			f := strings.Split(string(s.Bytes()), "|")
			f[8] = "VXU^V04^VXU_V04"
			if len(f) > 20 {
				f[20] = "Z22^CDCPHINVS" // MSH-21
			}
			b.WriteString(strings.Join(f, "|"))
		case s.Is("PID"), s.Is("PD1"), s.Is("NK1"), s.Is("ORC"), s.Is("RXA"), s.Is("RXR"), s.Is("OBX"):
			b.Write(s.Bytes())
		default:
			continue
		}
		b.WriteByte('\r')
	}
	return b.Bytes()
}

// compareRecords lists how back (an answer, decoded) differs from sent
// (a report, decoded) beyond allowedDifferences.
func compareRecords(sent, back *immz.VXU) []string {
	var diffs []string
	diff := func(what string, a, b any) {
		va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
		for i := range va.NumField() {
			if x, y := va.Field(i).Interface(), vb.Field(i).Interface(); !reflect.DeepEqual(x, y) {
				diffs = append(diffs, fmt.Sprintf("%s %s: sent %+v, answered %+v", what, va.Type().Field(i).Name, x, y))
			}
		}
	}
	sp, bp := normPatient(sent.Patient), normPatient(back.Patient)
	diff("patient", sp, bp)
	sv, bv := normDoses(sent.Vaccinations), normDoses(back.Vaccinations)
	if len(sv) != len(bv) {
		diffs = append(diffs, fmt.Sprintf("%d doses sent, %d answered", len(sv), len(bv)))
		return diffs
	}
	for i := range sv {
		diff(fmt.Sprintf("dose %d", i+1), sv[i], bv[i])
	}
	return diffs
}

func normPatient(p iis.Patient) iis.Patient {
	p.Observations = nil
	var names []iis.Name
	for _, n := range slices.Backward(p.Names) { // the latest form of each
		n.Prefix = ""
		if !slices.ContainsFunc(names, func(m iis.Name) bool { return sameNameCI(n, m) }) {
			names = append(names, n)
		}
	}
	p.Names = sortedBy(names, func(n iis.Name) string {
		return strings.ToUpper(n.Type + "|" + n.Family + "|" + n.Given + "|" + n.Middle)
	})
	p.MotherMaidenName = iis.Name{Family: p.MotherMaidenName.Family, Given: p.MotherMaidenName.Given}
	if !p.MotherMaidenName.IsZero() {
		p.MotherMaidenName.Type = "M"
	}
	p.Identifiers = sortedBy(p.Identifiers, func(x iis.Identifier) string { return x.Authority + "|" + x.Type + "|" + x.Value })
	var addrs []iis.Address
	for _, a := range slices.Backward(p.Addresses) {
		if !slices.ContainsFunc(addrs, func(b iis.Address) bool { return strings.EqualFold(fmt.Sprint(a), fmt.Sprint(b)) }) {
			addrs = append(addrs, a)
		}
	}
	p.Addresses = sortedBy(addrs, func(a iis.Address) string { return strings.ToUpper(fmt.Sprint(a)) })
	p.Phones = normPhones(p.Phones)
	p.PublicityCode = iis.Code{Code: p.PublicityCode.Code}
	p.Guardians = sortedBy(p.Guardians, func(g iis.Guardian) string { return g.Name.Family + "|" + g.Name.Given + "|" + g.Relationship.Code })
	for i := range p.Guardians {
		g := &p.Guardians[i]
		g.Phones = normPhones(g.Phones)
		g.Name.Prefix = ""
	}
	return p
}

func sameNameCI(a, b iis.Name) bool {
	return strings.EqualFold(a.Family, b.Family) && strings.EqualFold(a.Given, b.Given) && strings.EqualFold(a.Middle, b.Middle) &&
		strings.EqualFold(a.Suffix, b.Suffix) && a.Type == b.Type
}

func normPhones(ps []iis.Phone) []iis.Phone {
	var out []iis.Phone
	for _, ph := range ps {
		n := iis.Phone{Use: ph.Use, Equipment: ph.Equipment, Email: ph.Email, Local: ph.Number()}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return sortedBy(out, func(p iis.Phone) string { return p.Local + p.Email + p.Use })
}

func sortedBy[T any](xs []T, key func(T) string) []T {
	slices.SortStableFunc(xs, func(a, b T) int { return strings.Compare(key(a), key(b)) })
	return xs
}

func normDoses(vs []iis.Vaccination) []iis.Vaccination {
	out := make([]iis.Vaccination, len(vs))
	for i, v := range vs {
		v.Position, v.SystemEntry, v.AdministeredEnd = 0, iis.Vaccination{}.SystemEntry, iis.Vaccination{}.AdministeredEnd
		for _, pr := range []*iis.Provider{&v.AdministeredBy, &v.EnteredBy, &v.OrderedBy} {
			*pr = iis.Provider{ID: pr.ID, Family: pr.Family, Given: pr.Given, Authority: pr.Authority}
		}
		if v.FundingEligibility.IsZero() {
			v.EligibilityMethod = iis.Code{} // see allowedDifferences
		}
		if v.FillerOrder.Value == "" {
			v.FillerOrder.Authority = "" // see allowedDifferences
		}
		for k := range v.Observations {
			o := &v.Observations[k]
			o.SetID, o.SubID = 0, ""
		}
		out[i] = v
	}
	return sortedBy(out, func(v iis.Vaccination) string {
		return v.AdministeredAt.Format("20060102") + "|" + v.CVX + "|" + v.NDC + "|" + v.CompletionStatus + "|" + strings.Join(v.Lots, ",")
	})
}

// TestLatestFormAcrossReports: a patient reported twice, with names and
// addresses differing only in letter case, is answered with each once in
// the latest report's form; a guardian's phone is a proper XTN; no
// mother's maiden name is sent when none was reported; the dose amount and
// units come back as reported.
func TestLatestFormAcrossReports(t *testing.T) {
	p := newPipeline(t)
	vxu := func(control, family, given, street, city string) []byte {
		return []byte("MSH|^~\\&|TESTAPP|TESTFAC|IIS|IIS|20250101120000||VXU^V04^VXU_V04|" + control + "|P|2.5.1|||ER|AL|||||Z22^CDCPHINVS\r" +
			"PID|1||LF-1^^^AUTH^MR||" + family + "^" + given + "^^^^^L||20200105|F|||" + street + "^^" + city + "^CT^06510^USA^P||^PRN^PH^^^203^5550101\r" +
			"NK1|1|Kestrel^Mona^^^^^L|MTH^Mother^HL70063||^PRN^PH^^^203^5551234\r" +
			"ORC|RE||LF-1-" + control + "^TESTFAC\r" +
			"RXA|0|1|20200301||08^HepB pediatric^CVX|0.5|mL^mL^UCUM||00^New record^NIP001||||||LOT" + control + "|20210101|MSD^Merck^MVX|||CP|A\r" +
			"RXR|C28161^Intramuscular^NCIT|LT^Left Thigh^HL70163\r" +
			"OBX|1|CE|64994-7^Eligibility^LN|1|V02^Medicaid^HL70064||||||F|||20200301|||VXC40^per immunization^CDCPHINVS\r")
	}
	p.send(t, vxu("LF1", "KESTREL", "ADA", "12 ELM ST", "NEW HAVEN"))
	p.wait(t)
	p.send(t, vxu("LF2", "Kestrel", "Ada", "12 Elm St", "New Haven"))
	p.wait(t)
	m := p.query(t, qbp("Z34", "LFQ", "LF-1", "Kestrel", "Ada", "20200105", "F"))
	if !m.Get("MSH-21.1").Equal("Z32") {
		t.Fatalf("answered %q", m.Bytes())
	}
	for loc, want := range map[string]string{
		"PID-5": "Kestrel^Ada^^^^^L", "PID-6": "", "PID-11": "12 Elm St^^New Haven^CT^06510^USA^P",
		"NK1-5": "^PRN^PH^^^203^5551234", "RXA-6": "0.5", "RXA-7": "mL^mL^UCUM", "RXA-16": "20210101", "RXA-17": "MSD^Merck^MVX",
		"RXR-2": "LT^Left Thigh^HL70163",
	} {
		if got := m.Get(loc).String(); got != want {
			t.Errorf("%s = %q, want %q", loc, got, want)
		}
	}
}
