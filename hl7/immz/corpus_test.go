package immz

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iisproject/iis"
	"github.com/iisproject/iis/hl7"
)

var update = flag.Bool("update", false, "rewrite the decoded golden files under testdata/hl7/decoded")

const goldenDir = "../../testdata/hl7/decoded/"

// corpusMessages returns every VXU and QBP message of the sample corpus,
// keyed by file (and message number within a batch file).
func corpusMessages(t testing.TB) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(samples, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".hl7") {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		b, err := hl7.SplitBatch(data)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		rel, _ := filepath.Rel(samples, path)
		for i, raw := range b.Messages() {
			m, err := hl7.Parse(raw)
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			if typ := m.Get("MSH-9.1").String(); typ != "VXU" && typ != "QBP" {
				continue
			}
			key := rel
			if len(b.Messages()) > 1 {
				key = fmt.Sprintf("%s#%d", rel, i+1)
			}
			out[key] = raw
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// decoded is what the golden files record of a decoded message.
type decoded struct {
	Ack     string
	Issues  []string
	Header  Header
	VXU     *VXU   `json:",omitempty"`
	Query   *Query `json:",omitempty"`
	AckText string
}

// TestDecodeCorpus decodes every VXU and QBP of the corpus and compares the
// result — header, patient, every dose, query, issues and the ACK itself —
// with the reviewed golden file. Run with -update to rewrite them after a
// deliberate change, and review the diff.
func TestDecodeCorpus(t *testing.T) {
	v := New(Config{Now: testNow, Application: "IIS", Facility: "STATE"})
	msgs := corpusMessages(t)
	if len(msgs) < 30 {
		t.Fatalf("only %d VXU/QBP messages in the corpus", len(msgs))
	}
	for name, raw := range msgs {
		r := v.Decode(raw)
		got := decoded{Ack: v.AckCode(r), Header: r.Header, VXU: r.VXU, Query: r.Query}
		for _, is := range r.Issues {
			got.Issues = append(got.Issues, fmt.Sprintf("%s %d %s %d %s: %s", is.Location, is.Code, is.Severity, is.AppCode, is.Rule, is.Message))
		}
		ack := string(v.Ack(r))
		// The control ID and timestamp of the ACK vary; the rest is fixed.
		got.AckText = ack[strings.Index(ack, "\rMSA"):]
		js, err := compactJSON(got)
		if err != nil {
			t.Fatal(err)
		}
		js = append(js, '\n')
		file := goldenDir + strings.ReplaceAll(name, "#", ".") + ".json"
		if *update {
			os.MkdirAll(filepath.Dir(file), 0o755)
			if err := os.WriteFile(file, js, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(file)
		if err != nil {
			t.Errorf("%s: no golden file (run go test -run TestDecodeCorpus -update and review it): %v", name, err)
			continue
		}
		if !bytes.Equal(js, want) {
			t.Errorf("%s: decoded result differs from %s (run with -update and review the diff)", name, file)
		}
	}
}

// compactJSON marshals v indented, leaving out zero values (empty strings,
// zero numbers, zero times, nulls, empty objects) so the golden files show
// only what a message carried.
func compactJSON(v any) ([]byte, error) {
	js, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var tree any
	if err := json.Unmarshal(js, &tree); err != nil {
		return nil, err
	}
	return json.MarshalIndent(prune(tree), "", " ")
}

func prune(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if e = prune(e); e == nil {
				delete(x, k)
			} else {
				x[k] = e
			}
		}
		if len(x) == 0 {
			return nil
		}
	case []any:
		for i := range x {
			x[i] = prune(x[i])
		}
		if len(x) == 0 {
			return nil
		}
	case string:
		if x == "" || x == "0001-01-01T00:00:00Z" {
			return nil
		}
	case float64:
		if x == 0 {
			return nil
		}
	case bool:
		if !x {
			return nil
		}
	}
	return v
}

func date(s string) time.Time {
	t, _ := time.Parse("2006-01-02", s)
	return t
}

// TestDecodeFields asserts by hand the fields of messages that exercise
// each part of the profile.
func TestDecodeFields(t *testing.T) {
	v := New(Config{Now: testNow})
	decode := func(name string) *Result {
		t.Helper()
		r := v.Decode([]byte(readSample(t, name)))
		return r
	}

	t.Run("PID-15 primary language", func(t *testing.T) {
		// A real message's language, and the IG example with Spanish set.
		r := v.Decode([]byte(strings.Replace(readSample(t, "gathered/other/vxu_izg_transform_quickstart_MSH11_X_messy_fields.hl7"), "|X|", "|P|", 1)))
		if r.VXU == nil {
			t.Fatalf("rejected: %+v", r.Issues)
		}
		if l := r.VXU.Patient.PrimaryLanguage; l.Code != "eng" || l.Text != "English" || l.System != "ISO639" {
			t.Errorf("primary language %+v", l)
		}
		segs := strings.Split(readSample(t, "cdc-ig/vxu_z22_ig_ex1_basic_historical_plus_2_admin_vfc_vis.hl7"), "\r")
		for i, sg := range segs {
			if f := strings.Split(sg, "|"); f[0] == "PID" && len(f) > 15 {
				f[15] = "spa^Spanish^HL70296"
				segs[i] = strings.Join(f, "|")
			}
		}
		r = v.Decode([]byte(strings.Join(segs, "\r")))
		if r.VXU == nil || r.VXU.Patient.PrimaryLanguage.Code != "spa" {
			t.Fatalf("PID-15 spa: %+v", r)
		}
	})

	t.Run("IG example 1: historical plus two administered, VIS barcodes", func(t *testing.T) {
		r := decode("cdc-ig/vxu_z22_ig_ex1_basic_historical_plus_2_admin_vfc_vis.hl7")
		if r.VXU == nil {
			t.Fatalf("rejected: %+v", r.Issues)
		}
		p := r.VXU.Patient
		want := iis.Identifier{Value: "432155", Authority: "dcs", Type: "MR"}
		if len(p.Identifiers) != 1 || p.Identifiers[0] != want {
			t.Errorf("identifiers %+v", p.Identifiers)
		}
		if n := p.LegalName(); n.Family != "Patient" || n.Given != "Johnny" || n.Middle != "New" || n.Type != "L" {
			t.Errorf("name %+v", n)
		}
		if p.MotherMaidenName.Family != "Lastname" || p.MotherMaidenName.Type != "M" {
			t.Errorf("mother's maiden name %+v", p.MotherMaidenName)
		}
		if !p.BirthDate.Equal(date("2011-04-11")) || p.Sex != "M" {
			t.Errorf("dob/sex %v %s", p.BirthDate, p.Sex)
		}
		if len(p.Races) != 1 || p.Races[0].Code != "1002-5" || len(p.Ethnicities) != 1 || p.Ethnicities[0].Code != "2186-5" {
			t.Errorf("race/ethnicity %+v %+v", p.Races, p.Ethnicities)
		}
		if len(p.Addresses) != 1 || p.Addresses[0].City != "Somewhere" || p.Addresses[0].Zip != "54000" || p.Addresses[0].Type != "L" {
			t.Errorf("address %+v", p.Addresses)
		}
		if len(p.Phones) != 1 || p.Phones[0].Number() != "1112320112" || p.Phones[0].Use != "PRN" {
			t.Errorf("phone %+v", p.Phones)
		}
		if len(p.Guardians) != 1 || p.Guardians[0].Relationship.Code != "MTH" || p.Guardians[0].Name.Given != "Sally" {
			t.Errorf("guardians %+v", p.Guardians)
		}
		vs := r.VXU.Vaccinations
		if len(vs) != 3 {
			t.Fatalf("%d vaccinations", len(vs))
		}
		h := vs[0]
		if h.CVX != "85" || !h.Historical || h.InformationSource.Code != "01" || !h.AdministeredAt.Equal(date("2011-04-15")) || h.FillerOrder.Value != "65929" || h.Amount != "999" {
			t.Errorf("historical dose %+v", h)
		}
		a := vs[1]
		if a.CVX != "110" || a.Historical || a.Amount != "0.5" || a.Units.Code != "mL" || len(a.Lots) != 1 || a.Lots[0] != "xy3939" ||
			!a.Expiration.Equal(date("2014-12-12")) || a.Manufacturer.Code != "SKB" || a.CompletionStatus != "CP" || a.Action != "A" {
			t.Errorf("administered dose %+v", a)
		}
		if a.Route.Code != "C28161" || a.Route.AltCode != "IM" || a.Site.Code != "RT" {
			t.Errorf("route/site %+v %+v", a.Route, a.Site)
		}
		if a.FundingEligibility.Code != "V02" || a.EligibilityMethod.Code != "VXC40" {
			t.Errorf("eligibility %+v %+v", a.FundingEligibility, a.EligibilityMethod)
		}
		if len(a.VIS) != 1 || a.VIS[0].Document.Code != "253088698300026411121116" || !a.VIS[0].Presented.Equal(date("2012-01-13")) {
			t.Errorf("VIS %+v", a.VIS)
		}
		if a.OrderedBy.Family != "Pediatric" || a.AdministeredBy.Family != "Sticker" || a.Facility.Name != "DCS_DC" {
			t.Errorf("providers %+v %+v %+v", a.OrderedBy, a.AdministeredBy, a.Facility)
		}
		if vs[2].CVX != "48" || vs[2].Site.Code != "LT" || vs[2].Position != 3 {
			t.Errorf("third dose %+v", vs[2])
		}
	})

	t.Run("NIST IZ-001 variant: alias names, several addresses, four doses", func(t *testing.T) {
		r := decode("nist/vxu_z22_nist_iz001_variant_alias_names_multi_address_4rxa.hl7")
		if r.VXU == nil {
			t.Fatalf("rejected: %+v", r.Issues)
		}
		p := r.VXU.Patient
		if len(p.Names) < 2 || p.Names[1].Type != "A" {
			t.Errorf("names %+v", p.Names)
		}
		if len(p.Addresses) != 3 {
			t.Errorf("%d addresses", len(p.Addresses))
		}
		if len(r.VXU.Vaccinations) != 4 {
			t.Errorf("%d vaccinations", len(r.VXU.Vaccinations))
		}
	})

	t.Run("NIST IZ-001: NDC only, VFC V05, VIS by vaccine type and dates", func(t *testing.T) {
		r := decode(baseSample)
		a := r.VXU.Vaccinations[0]
		if a.NDC != "33332-0010-01" || a.CVX != "140" || a.Vaccine.System != "NDC" { // CVX from CDC's NDC list
			t.Errorf("codes %+v", a)
		}
		if len(a.VIS) != 1 || a.VIS[0].VaccineType.Code != "88" || !a.VIS[0].Published.Equal(date("2012-07-02")) || !a.VIS[0].Presented.Equal(date("2012-08-14")) {
			t.Errorf("VIS %+v", a.VIS)
		}
		if r.VXU.Patient.PublicityCode.Code != "02" || r.VXU.Patient.RegistryStatus != "A" || !r.VXU.Patient.RegistryStatusDate.Equal(date("2012-07-01")) {
			t.Errorf("PD1 %+v", r.VXU.Patient)
		}
	})

	t.Run("ONC 2015 AD-5: refusal (RXA-18, RXA-20 RE) among administered doses", func(t *testing.T) {
		r := decode("gathered/nist-onc-2015/vxu_z22_onc2015_iz_ad5_child_refusal_RXA18_RXA20_RE_plus_3_admin.hl7")
		vs := r.VXU.Vaccinations
		if len(vs) != 4 {
			t.Fatalf("%d vaccinations", len(vs))
		}
		ref := vs[3]
		if ref.CompletionStatus != "RE" || len(ref.RefusalReasons) != 1 || ref.RefusalReasons[0].Code != "00" || ref.CVX != "21" {
			t.Errorf("refusal %+v", ref)
		}
		p := r.VXU.Patient
		if p.MultipleBirth != "Y" || p.BirthOrder != 2 || p.Protection != "N" || !p.ProtectionDate.Equal(date("2015-06-24")) {
			t.Errorf("multiple birth / protection %+v", p)
		}
		if vs[0].FundingSource.Code != "PHC70" || vs[0].FundingEligibility.Code != "V01" {
			t.Errorf("funding %+v", vs[0])
		}
		if vs[0].PlacerOrder.Value != "5645" || vs[0].FillerOrder.Authority != "wcEHR" {
			t.Errorf("orders %+v %+v", vs[0].PlacerOrder, vs[0].FillerOrder)
		}
	})

	t.Run("ONC 2015 AD-4 delete and AD-6 update", func(t *testing.T) {
		del := decode("gathered/nist-onc-2015/vxu_z22_onc2015_iz_ad4_child_delete_RXA21_D.hl7")
		upd := decode("gathered/nist-onc-2015/vxu_z22_onc2015_iz_ad6_child_update_RXA21_U.hl7")
		var sawD, sawU bool
		for _, v := range del.VXU.Vaccinations {
			sawD = sawD || v.Action == "D"
		}
		for _, v := range upd.VXU.Vaccinations {
			sawU = sawU || v.Action == "U"
		}
		if !sawD || !sawU {
			t.Errorf("delete %v update %v", sawD, sawU)
		}
	})

	t.Run("ONC 2015 AD-3: protection indicator Y", func(t *testing.T) {
		r := decode("gathered/nist-onc-2015/vxu_z22_onc2015_iz_ad3_child_protection_PD1-12_Y.hl7")
		if r.VXU.Patient.Protection != "Y" {
			t.Errorf("protection %q", r.VXU.Patient.Protection)
		}
	})

	t.Run("NIST IZ-016: evidence of immunity (998, OBX 59784-9)", func(t *testing.T) {
		r := decode("gathered/nist-2014/vxu_nist_iz016_varicella_history_998_OBX_59784-9.hl7")
		vs := r.VXU.Vaccinations
		if len(vs) == 0 || vs[0].CVX != "998" || len(vs[0].Immunity) != 1 {
			t.Errorf("immunity %+v", vs)
		}
	})

	t.Run("AIRA NDC Pentacel with funding, VFC and four VIS", func(t *testing.T) {
		r := decode("aira-test/pair_al_iis_z44/1_vxu_z22_ndc_pentacel_funding_vfc_4vis.hl7")
		if r.VXU == nil || len(r.VXU.Vaccinations) == 0 {
			t.Fatalf("no doses: %+v", r.Issues)
		}
		total := 0
		for _, v := range r.VXU.Vaccinations {
			total += len(v.VIS)
		}
		if total < 4 {
			t.Errorf("%d VIS", total)
		}
	})

	t.Run("QBP Z44 NIST QR-1.1", func(t *testing.T) {
		r := decode("qbp-z44-nist-qr-1.1.hl7")
		q := r.Query
		if r.Kind != KindQBP || q == nil {
			t.Fatalf("not a query: %+v", r.Issues)
		}
		if q.Profile != "Z44" || q.Tag != "IZ-1.1-2015" || len(q.Identifiers) != 1 || q.Identifiers[0] != (iis.Identifier{Value: "171122", Authority: "NIST-MPI-1", Type: "MR"}) {
			t.Errorf("query %+v", q)
		}
		if q.Name.Family != "Fairchild" || q.MotherMaidenName.Family != "Fairlady" || !q.BirthDate.Equal(date("2009-02-14")) || q.Sex != "M" || q.Addresses[0].City != "Bozeman" {
			t.Errorf("query patient %+v", q)
		}
		if q.Limit != 1 || q.ResponseModality != "I" {
			t.Errorf("RCP %d %q", q.Limit, q.ResponseModality)
		}
	})

	t.Run("QBP Z34 IG example with a leading space in QPD-1", func(t *testing.T) {
		r := decode("cdc-ig/pair_ig_z34_z32/1_qbp_z34_request_history.hl7")
		if r.Query == nil || r.Query.Profile != "Z34" || r.Query.Tag != "37374859" || r.Query.Limit != 5 {
			t.Errorf("query %+v %+v", r.Query, r.Issues)
		}
	})

	t.Run("QBP without QPD-2 is rejected with AE (IG pair)", func(t *testing.T) {
		r := decode("cdc-ig/pair_ig_qbp_error/1_qbp_z34_missing_query_tag_qpd2.hl7")
		if r.Query != nil || v.AckCode(r) != "AE" {
			t.Errorf("query accepted: %+v", r.Query)
		}
		want := readSample(t, "cdc-ig/pair_ig_qbp_error/2_rsp_z33_AE_required_field_missing.hl7")
		wm, _ := hl7.Parse([]byte(want))
		found := false
		for _, is := range r.Issues {
			if is.Location.String() == wm.Get("ERR-2").String() && fmt.Sprint(is.Code) == wm.Get("ERR-3.1").String() && is.Severity.String() == wm.Get("ERR-4").String() {
				found = true
			}
		}
		if !found {
			t.Errorf("no ERR %s %s %s among %+v", wm.Get("ERR-2").String(), wm.Get("ERR-3.1").String(), wm.Get("ERR-4").String(), r.Issues)
		}
	})
}
