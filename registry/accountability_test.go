package registry_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/iisproject/iis/registry"
)

// vdose is one RXA of an accountability test's VXU.
type vdose struct {
	cvx, date, lot, mvx string
	elig                string // OBX 64994-7; "" none
	historical          bool
	completion          string // RXA-20; "" CP
}

// vfcVXU builds a VXU from fac for p with the doses, each with its
// eligibility OBX (after the CDC's VXU samples in testdata).
func vfcVXU(fac, ctl string, p person, doses ...vdose) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "MSH|^~\\&|EHR|%s|IIS|IIS|20240301120000||VXU^V04^VXU_V04|%s|P|2.5.1|||ER|AL|||||Z22^CDCPHINVS\r", fac, ctl)
	fmt.Fprintf(&b, "PID|1||%s^^^%s^MR||%s^%s^^^^^L|Smith^^^^^^M|%s|%s|||1 Main St^^Hartford^CT^06101^USA^P\r",
		p.mrn, p.authority, p.last, p.first, p.dob, p.sex)
	for i, d := range doses {
		info, comp, mvx := "00^New Record", "CP", d.mvx
		if d.historical {
			info = "01^Historical"
		}
		if d.completion != "" {
			comp = d.completion
		}
		if mvx == "" {
			mvx = "MSD"
		}
		fmt.Fprintf(&b, "ORC|RE||%s-%d^%s\r", ctl, i+1, fac)
		fmt.Fprintf(&b, "RXA|0|1|%s||%s^vaccine^CVX|0.5|mL^mL^UCUM||%s^NIP001||||||%s||%s^mfr^MVX|||%s|A\r", d.date, d.cvx, info, d.lot, mvx, comp)
		if d.elig != "" {
			fmt.Fprintf(&b, "OBX|1|CE|64994-7^Eligibility^LN|1|%s^elig^HL70064||||||F|||%s|||VXC40^per immunization^CDCPHINVS\r", d.elig, d.date)
		}
	}
	return []byte(b.String())
}

func TestAgeGroup(t *testing.T) {
	d := func(s string) time.Time { x, _ := time.Parse("2006-01-02", s); return x }
	for _, c := range []struct{ birth, on, want string }{
		{"2023-03-01", "2023-03-01", "<1"},
		{"2023-03-01", "2024-02-29", "<1"},
		{"2023-03-01", "2024-03-01", "1-6"}, // the first birthday
		{"2017-03-01", "2024-02-29", "1-6"}, // 6 years 11 months
		{"2017-03-01", "2024-03-01", "7-18"},
		{"2005-06-10", "2024-06-09", "7-18"}, // the day before 19
		{"2005-06-10", "2024-06-10", "19+"},
		{"1950-01-01", "2024-06-10", "19+"},
		{"2024-03-01", "2024-02-01", "unknown"}, // before the birth
		{"", "2024-02-01", "unknown"},
	} {
		if got := registry.AgeGroup(d(c.birth), d(c.on)); got != c.want {
			t.Errorf("AgeGroup(%s, %s) = %q, want %q", c.birth, c.on, got, c.want)
		}
	}
}

func TestEligibilityCategory(t *testing.T) {
	for in, want := range map[string]string{"V01": "V01", " v02 ": "V02", "V05": "V05", "V07": "V07", "": "none", "V08": "other", "CTA01": "other"} {
		if got := registry.EligibilityCategory(in); got != want {
			t.Errorf("EligibilityCategory(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestVFCDosesAdministered counts the standing administered doses by
// clinic, month, vaccine, age group and eligibility from stored VXUs.
func TestVFCDosesAdministered(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	ann := person{mrn: "V1", authority: "CLINIC_A", last: "Abbot", first: "Ann", dob: "20230301", sex: "F"}
	tom := person{mrn: "V2", authority: "CLINIC_A", last: "Tran", first: "Tom", dob: "20100615", sex: "M"}
	ada := person{mrn: "V3", authority: "CLINIC_A", last: "Ames", first: "Ada", dob: "19800101", sex: "F"}
	bo := person{mrn: "V4", authority: "CLINIC_B", last: "Bell", first: "Bo", dob: "20230401", sex: "M"}
	apply(t, s, message(t, "CLINIC_A", "a1", vfcVXU("CLINIC_A", "a1", ann,
		vdose{cvx: "133", date: "20230601", elig: "V02"}, vdose{cvx: "20", date: "20230601", elig: "V02"})))
	// The clinic sends the June doses again (one dose each) and a later one.
	apply(t, s, message(t, "CLINIC_A", "a2", vfcVXU("CLINIC_A", "a2", ann,
		vdose{cvx: "133", date: "20230601", elig: "V02"}, vdose{cvx: "133", date: "20240301", elig: "V03"})))
	apply(t, s, message(t, "CLINIC_A", "a3", vfcVXU("CLINIC_A", "a3", tom,
		vdose{cvx: "62", date: "20230620", elig: "V01"}, vdose{cvx: "03", date: "20140101", historical: true},
		vdose{cvx: "115", date: "20230621", elig: "V03", completion: "RE"})))
	apply(t, s, message(t, "CLINIC_A", "a4", vfcVXU("CLINIC_A", "a4", ada,
		vdose{cvx: "150", date: "20230610"}, vdose{cvx: "141", date: "20230611", elig: "CTA01"})))
	apply(t, s, message(t, "CLINIC_B", "b1", vfcVXU("CLINIC_B", "b1", bo, vdose{cvx: "133", date: "20230605", elig: "V04"})))

	from, to := time.Date(2023, 6, 1, 0, 0, 0, 0, time.UTC), time.Date(2024, 4, 1, 0, 0, 0, 0, time.UTC)
	rows, err := s.VFCDosesAdministered(ctx, registry.VFCQuery{From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rows {
		got = append(got, fmt.Sprintf("%s %s %s %s %s %d", r.Clinic, r.Month.Format("2006-01"), r.CVX, r.AgeGroup, r.Eligibility, r.Doses))
	}
	want := []string{
		"CLINIC_A 2023-06 133 <1 V02 1",
		"CLINIC_A 2023-06 141 19+ none 1", // CTA01 is outside the eligibility table: not stored
		"CLINIC_A 2023-06 150 19+ none 1",
		"CLINIC_A 2023-06 20 <1 V02 1",
		"CLINIC_A 2023-06 62 7-18 V01 1",
		"CLINIC_A 2024-03 133 1-6 V03 1",
		"CLINIC_B 2023-06 133 <1 V04 1",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("report:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	rows, err = s.VFCDosesAdministered(ctx, registry.VFCQuery{Clinic: "CLINIC_B", From: from, To: to})
	if err != nil || len(rows) != 1 || rows[0].Clinic != "CLINIC_B" {
		t.Errorf("clinic B's report: %+v, %v", rows, err)
	}
	if _, err := s.VFCDosesAdministered(ctx, registry.VFCQuery{From: to, To: from}); err == nil {
		t.Error("a period the wrong way round answered")
	}
}

// TestLotRecall finds the patients of a lot whatever its spelling, the
// opted-out ones only when asked, a clinic's own only when limited to it,
// and by manufacturer and date range.
func TestLotRecall(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	ann := person{mrn: "L1", authority: "CLINIC_A", last: "Abbot", first: "Ann", dob: "20230301", sex: "F"}
	ben := person{mrn: "L2", authority: "CLINIC_B", last: "Bell", first: "Ben", dob: "20220401", sex: "M"}
	cal := person{mrn: "L3", authority: "CLINIC_A", last: "Cole", first: "Cal", dob: "20220501", sex: "M"}
	dee := person{mrn: "L4", authority: "CLINIC_B", last: "Dunn", first: "Dee", dob: "20200601", sex: "F"}
	eve := person{mrn: "L5", authority: "CLINIC_A", last: "Egan", first: "Eve", dob: "20230701", sex: "F"}
	apply(t, s, message(t, "CLINIC_A", "l1", vfcVXU("CLINIC_A", "l1", ann, vdose{cvx: "133", date: "20230601", lot: "AB-123", mvx: "PFR"})))
	apply(t, s, message(t, "CLINIC_B", "l2", vfcVXU("CLINIC_B", "l2", ben, vdose{cvx: "133", date: "20230701", lot: "ab 123", mvx: "PFR"})))
	apply(t, s, message(t, "CLINIC_A", "l3", vfcVXU("CLINIC_A", "l3", cal, vdose{cvx: "133", date: "20230801", lot: "XY-9", mvx: "PFR"})))
	apply(t, s, message(t, "CLINIC_B", "l4", vfcVXU("CLINIC_B", "l4", dee, vdose{cvx: "133", date: "20200901", lot: "AB123", mvx: "PFR", historical: true})))
	e := apply(t, s, message(t, "CLINIC_A", "l5", vfcVXU("CLINIC_A", "l5", eve, vdose{cvx: "133", date: "20230901", lot: "AB.123", mvx: "PFR"})))
	if err := s.RecordOptOut(ctx, registry.OptOut{PatientID: e.PatientID, SignedOn: time.Now(), FormRef: "F1", RecordedBy: "user:pat"}); err != nil {
		t.Fatal(err)
	}
	names := func(q registry.LotRecallQuery) string {
		t.Helper()
		rows, err := s.LotRecall(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range rows {
			x := r.Given + "@" + r.Clinic + ":" + r.On.Format("2006-01-02")
			if r.Historical {
				x += "(historical)"
			}
			if r.Undisclosed {
				x += "(opted out)"
			}
			out = append(out, x)
		}
		return strings.Join(out, " ")
	}
	for _, c := range []struct {
		name string
		q    registry.LotRecallQuery
		want string
	}{
		{"program staff", registry.LotRecallQuery{Lot: "ab123", Undisclosed: true},
			"Dee@CLINIC_B:2020-09-01(historical) Ann@CLINIC_A:2023-06-01 Ben@CLINIC_B:2023-07-01 Eve@CLINIC_A:2023-09-01(opted out)"},
		{"opted out left out", registry.LotRecallQuery{Lot: "AB-123"}, "Dee@CLINIC_B:2020-09-01(historical) Ann@CLINIC_A:2023-06-01 Ben@CLINIC_B:2023-07-01"},
		{"a clinic's own", registry.LotRecallQuery{Lot: "AB 123", Clinic: "CLINIC_A"}, "Ann@CLINIC_A:2023-06-01"},
		{"manufacturer and range", registry.LotRecallQuery{MVX: "pfr", From: time.Date(2023, 7, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2023, 9, 1, 0, 0, 0, 0, time.UTC)},
			"Ben@CLINIC_B:2023-07-01 Cal@CLINIC_A:2023-08-01"},
		{"another manufacturer", registry.LotRecallQuery{Lot: "AB123", MVX: "MSD"}, ""},
	} {
		if got := names(c.q); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
	for _, q := range []registry.LotRecallQuery{{}, {MVX: "PFR"}, {Lot: "X", From: time.Now(), To: time.Now().AddDate(0, 0, -1)}} {
		if _, err := s.LotRecall(ctx, q); err == nil {
			t.Errorf("%+v answered", q)
		}
	}
}

// TestAccountabilityNISTSample: NIST's IZ-001 (a five-year-old's flu dose
// by NDC, V05, lot Z0860BB) as stored counts in the VFC report under its
// facility, month, age group and eligibility, and a recall of its lot
// finds the child.
func TestAccountabilityNISTSample(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	raw, err := os.ReadFile("../testdata/hl7/samples/nist/vxu_z22_nist_iz001_child_flu_ndc_vfc_v05_vis.hl7")
	if err != nil {
		t.Fatal(err)
	}
	apply(t, s, message(t, "X68", "NIST-IZ-001.00", raw))
	rows, err := s.VFCDosesAdministered(ctx, registry.VFCQuery{From: time.Date(2012, 8, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2012, 9, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Clinic != "X68" || rows[0].AgeGroup != registry.Age1To6 || rows[0].Eligibility != "V05" || rows[0].Doses != 1 ||
		rows[0].Month.Format("2006-01") != "2012-08" {
		t.Errorf("report of the NIST sample: %+v", rows)
	}
	found, err := s.LotRecall(ctx, registry.LotRecallQuery{Lot: "z0860bb", MVX: "csl"})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 || found[0].Family != "Snow" || found[0].On.Format("2006-01-02") != "2012-08-14" || found[0].Clinic != "X68" || found[0].Historical {
		t.Errorf("recall of lot Z0860BB: %+v", found)
	}
}
