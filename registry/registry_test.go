package registry_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/iisproject/iis/hl7/immz"
	"github.com/iisproject/iis/registry"
	"github.com/iisproject/iis/registry/pgtest"
	"github.com/jackc/pgx/v5"
)

func openStore(t *testing.T) *registry.Store {
	t.Helper()
	ctx := context.Background()
	s, err := registry.Open(ctx, registry.Config{URL: pgtest.NewDatabase(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	// Runs before s.Close (cleanups run last first): every test's writes,
	// merges and unmerges included, must leave no orphan row.
	t.Cleanup(func() { checkNoOrphanRows(t, s) })
	return s
}

// orphanQueries count the rows whose patient or report does not exist, in
// the tables without foreign keys (migrations 0004, 0013).
var orphanQueries = []string{
	`SELECT count(*) FROM patient_identifiers x WHERE NOT EXISTS (SELECT 1 FROM patients p WHERE p.id = x.patient_id)`,
	`SELECT count(*) FROM patient_names x WHERE NOT EXISTS (SELECT 1 FROM patients p WHERE p.id = x.patient_id)`,
	`SELECT count(*) FROM patient_addresses x WHERE NOT EXISTS (SELECT 1 FROM patients p WHERE p.id = x.patient_id)`,
	`SELECT count(*) FROM patient_phones x WHERE NOT EXISTS (SELECT 1 FROM patients p WHERE p.id = x.patient_id)`,
	`SELECT count(*) FROM patient_guardians x WHERE NOT EXISTS (SELECT 1 FROM patients p WHERE p.id = x.patient_id)`,
	`SELECT count(*) FROM patient_blocking_keys x WHERE NOT EXISTS (SELECT 1 FROM patients p WHERE p.id = x.patient_id)`,
	`SELECT count(*) FROM vaccination_events x WHERE NOT EXISTS (SELECT 1 FROM patients p WHERE p.id = x.patient_id)`,
	`SELECT count(*) FROM source_reports x WHERE x.patient_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM patients p WHERE p.id = x.patient_id)`,
	`SELECT count(*) FROM source_vaccinations x WHERE NOT EXISTS (SELECT 1 FROM patients p WHERE p.id = x.patient_id)`,
	`SELECT count(*) FROM source_vaccinations x WHERE NOT EXISTS (SELECT 1 FROM source_reports r WHERE r.id = x.report_id)`,
	`SELECT count(*) FROM patient_observations x WHERE NOT EXISTS (SELECT 1 FROM patients p WHERE p.id = x.patient_id)`,
	`SELECT count(*) FROM patient_observations x WHERE NOT EXISTS (SELECT 1 FROM source_reports r WHERE r.id = x.report_id)`,
}

func checkNoOrphanRows(t *testing.T, s *registry.Store) {
	t.Helper()
	for _, q := range orphanQueries {
		if n := count(t, s, q); n != 0 {
			t.Errorf("%d orphan rows: %s", n, q)
		}
	}
}

// person is the demographic part of a synthetic VXU.
type person struct {
	mrn, authority      string
	last, first, middle string
	mother              string
	dob, sex            string
	street, city, zip   string
	phone               string // 10 digits
	multiple            string // Y, N or ""
	order               int
	language            string // PID-15
}

// vxu builds a VXU from facility fac with control id ctl for p, with one
// RXA per dose "cvx:date[:lot]".
func vxu(fac, ctl string, p person, doses ...string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "MSH|^~\\&|EHR|%s|IIS|IIS|20240301120000||VXU^V04^VXU_V04|%s|P|2.5.1|||ER|AL|||||Z22^CDCPHINVS\r", fac, ctl)
	order := ""
	if p.order > 0 {
		order = fmt.Sprint(p.order)
	}
	phone := ""
	if p.phone != "" {
		phone = "^PRN^PH^^^" + p.phone[:3] + "^" + p.phone[3:]
	}
	fmt.Fprintf(&b, "PID|1||%s^^^%s^MR||%s^%s^%s^^^^L|%s^^^^^^M|%s|%s|||%s^^%s^MT^%s^USA^P||%s||%s|||||||||%s|%s\r",
		p.mrn, p.authority, p.last, p.first, p.middle, p.mother, p.dob, p.sex, p.street, p.city, p.zip, phone, p.language, p.multiple, order)
	for i, d := range doses {
		parts := strings.Split(d, ":")
		lot, mvx := "", ""
		if len(parts) > 2 {
			lot, mvx = parts[2], "MSD"
		}
		fmt.Fprintf(&b, "ORC|RE||%s-%d^%s\r", ctl, i+1, fac)
		fmt.Fprintf(&b, "RXA|0|1|%s||%s^vaccine^CVX|0.5|mL^mL^UCUM||00^New Record^NIP001||||||%s||%s^Merck^MVX|||CP|A\r", parts[1], parts[0], lot, mvx)
	}
	return []byte(b.String())
}

var validator = immz.New(immz.Config{Now: func() time.Time { return time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC) }})

func message(t *testing.T, fac, ctl string, raw []byte) *registry.Message {
	t.Helper()
	res := validator.Decode(raw)
	if res.VXU == nil {
		t.Fatalf("%s/%s: not an accepted VXU: %+v", fac, ctl, res.Issues)
	}
	return &registry.Message{Kind: "vxu", Facility: fac, ControlID: ctl, Type: "VXU", Ack: validator.AckCode(res),
		Transport: "mllp", Received: time.Now(), Raw: raw, Decoded: res}
}

func apply(t *testing.T, s *registry.Store, m *registry.Message) registry.Result {
	t.Helper()
	res, err := s.ApplyLocked(context.Background(), m)
	if err != nil {
		t.Fatalf("apply %s/%s: %v", m.Facility, m.ControlID, err)
	}
	return res
}

func count(t *testing.T, s *registry.Store, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := s.Pool().QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func TestMigrateIdempotentAndConcurrent(t *testing.T) {
	url := pgtest.NewDatabase(t)
	ctx := context.Background()
	errs := make(chan error, 3)
	for range 3 {
		go func() {
			s, err := registry.Open(ctx, registry.Config{URL: url})
			if err == nil {
				s.Close()
			}
			errs <- err
		}()
	}
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	s, err := registry.Open(ctx, registry.Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ms, _ := registry.Migrations()
	if got := count(t, s, `SELECT count(*) FROM schema_migrations`); got != len(ms) {
		t.Errorf("schema_migrations has %d rows, want %d", got, len(ms))
	}
}

var (
	alice = person{mrn: "A100", authority: "CLINIC_A", last: "Whitfield", first: "Alice", middle: "Mae", mother: "Carter",
		dob: "20220314", sex: "F", street: "12 Elm Street", city: "Helena", zip: "59601", phone: "4065550101"}
)

func TestApplyIdempotent(t *testing.T) {
	s := openStore(t)
	m := message(t, "CLINIC_A", "m1", vxu("CLINIC_A", "m1", alice, "20:20240301:L1", "08:20240301:L2"))
	r1 := apply(t, s, m)
	if r1.Duplicate || r1.Outcome != registry.OutcomeNew || r1.Doses != 2 {
		t.Fatalf("first apply = %+v", r1)
	}
	snapshot := func() string {
		var out string
		err := s.Pool().QueryRow(context.Background(), `SELECT
			(SELECT count(*) FROM patients)::text || '/' || (SELECT count(*) FROM source_reports)::text || '/' ||
			(SELECT count(*) FROM source_vaccinations)::text || '/' || (SELECT count(*) FROM vaccination_events)::text || '/' ||
			(SELECT count(*) FROM patient_blocking_keys)::text || '/' || (SELECT count(*) FROM audit_log)::text`).Scan(&out)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	before := snapshot()
	r2 := apply(t, s, m)
	if !r2.Duplicate {
		t.Errorf("second apply = %+v, want duplicate", r2)
	}
	if after := snapshot(); after != before {
		t.Errorf("rows changed on redelivery: %s -> %s", before, after)
	}
	if got := count(t, s, `SELECT count(*) FROM vaccination_events`); got != 2 {
		t.Errorf("events = %d, want 2", got)
	}
}

func TestMatchingIntegration(t *testing.T) {
	t.Run("one message per transaction", func(t *testing.T) { testMatching(t, false) })
	t.Run("all in one ApplyBulk", func(t *testing.T) { testMatching(t, true) })
}

func testMatching(t *testing.T, bulk bool) {
	s := openStore(t)
	// The same child from a second clinic, another MRN, same name, DOB and address.
	aliceB := alice
	aliceB.mrn, aliceB.authority = "77-B", "CLINIC_B"
	// Twins: same everything but the first name, multiple birth data sent.
	twin1 := person{mrn: "T1", authority: "CLINIC_A", last: "Okafor", first: "Jayden", mother: "Ibe", dob: "20230505", sex: "M",
		street: "4 Pine Road", city: "Butte", zip: "59701", phone: "4065550202", multiple: "Y", order: 1}
	twin2 := twin1
	twin2.mrn, twin2.first, twin2.order = "T2", "Jordan", 2
	// A possible match: same name and DOB, nothing else in common.
	namesake := person{mrn: "Z9", authority: "CLINIC_C", last: "Whitfield", first: "Alice", dob: "20220314", sex: "F",
		street: "900 Oak Avenue", city: "Billings", zip: "59101", phone: "4065559999"}

	steps := []struct {
		name string
		fac  string
		p    person
		want registry.MatchOutcome
	}{
		{"first report", "CLINIC_A", alice, registry.OutcomeNew},
		{"same clinic again", "CLINIC_A", alice, registry.OutcomeIdentifier},
		{"second clinic, other MRN", "CLINIC_B", aliceB, registry.OutcomeMatch},
		{"twin 1", "CLINIC_A", twin1, registry.OutcomeNew},
		{"twin 2", "CLINIC_A", twin2, registry.OutcomeNew},
		{"namesake elsewhere", "CLINIC_C", namesake, registry.OutcomePossible},
	}
	ids := map[string]int64{}
	var msgs []*registry.Message
	for i, st := range steps {
		ctl := fmt.Sprintf("c%d", i)
		msgs = append(msgs, message(t, st.fac, ctl, vxu(st.fac, ctl, st.p, fmt.Sprintf("20:2024030%d", i+1))))
	}
	results := make([]registry.Result, len(msgs))
	if bulk {
		err := pgx.BeginFunc(context.Background(), s.Pool(), func(tx pgx.Tx) error {
			var err error
			results, err = s.ApplyBulk(context.Background(), tx, msgs)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	} else {
		for i, m := range msgs {
			results[i] = apply(t, s, m)
		}
	}
	for i, st := range steps {
		res := results[i]
		if res.Outcome != st.want {
			t.Errorf("%s: outcome %s, want %s", st.name, res.Outcome, st.want)
		}
		ids[st.name] = res.PatientID
	}
	if ids["first report"] != ids["second clinic, other MRN"] || ids["first report"] != ids["same clinic again"] {
		t.Errorf("Alice's reports went to patients %v", ids)
	}
	if ids["twin 1"] == ids["twin 2"] {
		t.Errorf("twins merged into patient %d", ids["twin 1"])
	}
	if ids["namesake elsewhere"] == ids["first report"] {
		t.Errorf("possible match was linked")
	}
	if got := count(t, s, `SELECT count(*) FROM match_reviews WHERE patient_id = $1 AND candidate_id = $2 AND status = 'open'`,
		ids["namesake elsewhere"], ids["first report"]); got != 1 {
		t.Errorf("review rows = %d, want 1", got)
	}
	if got := count(t, s, `SELECT count(*) FROM patients`); got != 4 {
		t.Errorf("patients = %d, want 4", got)
	}
	if got := count(t, s, `SELECT count(*) FROM patient_identifiers WHERE patient_id = $1`, ids["first report"]); got != 2 {
		t.Errorf("Alice has %d identifiers, want 2 (one per clinic)", got)
	}
	// Alice's three reports of CVX 20 on 1, 2 and 3 March from two clinics:
	// the same clinic's administered doses on different days stay apart,
	// the second clinic's dose joins the first.
	if got := count(t, s, `SELECT count(*) FROM source_vaccinations WHERE patient_id = $1`, ids["first report"]); got != 3 {
		t.Errorf("Alice has %d source doses, want 3", got)
	}
	if got := count(t, s, `SELECT count(*) FROM source_vaccinations WHERE patient_id = $1 AND event_id IS NULL`, ids["first report"]); got != 0 {
		t.Errorf("Alice has %d doses without event", got)
	}
}

// TestNISTUpdateDelete runs the NIST 2015 update and delete cases after
// the messages they refer to.
func TestNISTUpdateDelete(t *testing.T) {
	s := openStore(t)
	dir := filepath.Join("..", "testdata", "hl7", "samples", "gathered", "nist-onc-2015")
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// AD-5 reports Tyler Banks's doses (and a refusal); AD-6 updates the
	// hep A dose (filler order 12128^wcEHR) with another lot. Both files
	// carry MSH-10 18019, so the update is given its own control id.
	ad5 := read("vxu_z22_onc2015_iz_ad5_child_refusal_RXA18_RXA20_RE_plus_3_admin.hl7")
	ad6 := []byte(strings.Replace(string(read("vxu_z22_onc2015_iz_ad6_child_update_RXA21_U.hl7")), "|18019|", "|18019U|", 1))
	r5 := apply(t, s, message(t, "wcEHR", "18019", ad5))
	r6 := apply(t, s, message(t, "wcEHR", "18019U", ad6))
	if r5.PatientID != r6.PatientID {
		t.Fatalf("update went to patient %d, not %d", r6.PatientID, r5.PatientID)
	}
	var lot string
	if err := s.Pool().QueryRow(context.Background(), `SELECT e.lot FROM vaccination_events e JOIN source_vaccinations sv ON sv.event_id = e.id
		WHERE e.patient_id = $1 AND sv.filler_order = '12128^wcEHR' AND sv.action = 'U'`, r5.PatientID).Scan(&lot); err != nil {
		t.Fatal(err)
	}
	if lot != "208490" {
		t.Errorf("hep A lot = %q, want the update's 208490", lot)
	}
	if got := count(t, s, `SELECT count(*) FROM vaccination_events WHERE patient_id = $1`, r5.PatientID); got != 3 {
		t.Errorf("events = %d, want 3 (refusal is not an event, update replaces)", got)
	}
	if got := count(t, s, `SELECT count(*) FROM source_vaccinations WHERE patient_id = $1 AND completion_status = 'RE' AND refusal_reasons = '{00}'`, r5.PatientID); got != 1 {
		t.Errorf("refusal rows = %d, want 1", got)
	}

	// AD-4 deletes Katherine Benton's Cervarix dose (filler 31309^wcEHR):
	// first the same dose as an add, from an earlier message.
	ad4 := string(read("vxu_z22_onc2015_iz_ad4_child_delete_RXA21_D.hl7"))
	add := strings.Replace(strings.Replace(ad4, "|CP|D", "|CP|A", 1), "20150624093847.804-0500", "20150624080000-0500", 1)
	ra := apply(t, s, message(t, "wcEHR", "71892A", []byte(strings.Replace(add, "|71892|", "|71892A|", 1))))
	if got := count(t, s, `SELECT count(*) FROM vaccination_events WHERE patient_id = $1`, ra.PatientID); got != 1 {
		t.Fatalf("events before delete = %d, want 1", got)
	}
	rd := apply(t, s, message(t, "wcEHR", "71892", []byte(ad4)))
	if rd.PatientID != ra.PatientID {
		t.Fatalf("delete went to patient %d, not %d", rd.PatientID, ra.PatientID)
	}
	if got := count(t, s, `SELECT count(*) FROM vaccination_events WHERE patient_id = $1`, ra.PatientID); got != 0 {
		t.Errorf("events after delete = %d, want 0", got)
	}
	var protection string
	_ = s.Pool().QueryRow(context.Background(), `SELECT protection FROM patients WHERE id = $1`, ra.PatientID).Scan(&protection)
	if protection != "Y" {
		t.Errorf("protection = %q, want Y (PD1-12)", protection)
	}

	// Recomputable: throw the events away and rebuild them from the
	// source rows.
	events := func() string {
		var out string
		_ = s.Pool().QueryRow(context.Background(), `SELECT coalesce(string_agg(id || ':' || patient_id || ':' || cvx || ':' || administered_on || ':' || lot || ':' || source_count, ',' ORDER BY id), '') FROM vaccination_events`).Scan(&out)
		return out
	}
	before := events()
	err := pgx.BeginFunc(context.Background(), s.Pool(), func(tx pgx.Tx) error {
		if _, err := tx.Exec(context.Background(), `DELETE FROM vaccination_events`); err != nil {
			return err
		}
		for _, pid := range []int64{r5.PatientID, ra.PatientID} {
			if _, err := s.Reconsolidate(context.Background(), tx, pid); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if after := events(); after != before || before == "" {
		t.Errorf("rebuilt events differ:\n%s\n%s", before, after)
	}
}

// TestApplyBulkDuplicates: the same message twice in one slice is stored
// once, and a second ApplyBulk of the slice changes nothing.
func TestApplyBulkDuplicates(t *testing.T) {
	s := openStore(t)
	m1 := message(t, "CLINIC_A", "b1", vxu("CLINIC_A", "b1", alice, "20:20240301:L1"))
	m2 := message(t, "CLINIC_A", "b2", vxu("CLINIC_A", "b2", alice, "08:20240301:L2", "20:20240302"))
	run := func() []registry.Result {
		var res []registry.Result
		err := pgx.BeginFunc(context.Background(), s.Pool(), func(tx pgx.Tx) error {
			var err error
			res, err = s.ApplyBulk(context.Background(), tx, []*registry.Message{m1, m1, m2})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	res := run()
	if res[0].Duplicate || !res[1].Duplicate || res[2].Duplicate {
		t.Fatalf("results = %+v", res)
	}
	if res[2].Outcome != registry.OutcomeIdentifier || res[2].PatientID != res[0].PatientID {
		t.Errorf("second message: %+v, want linked to patient %d by identifier", res[2], res[0].PatientID)
	}
	// CVX 20 on 1 and 2 March from the same clinic: two doses; plus hep B.
	if got := count(t, s, `SELECT count(*) FROM vaccination_events WHERE patient_id = $1`, res[0].PatientID); got != 3 {
		t.Errorf("events = %d, want 3", got)
	}
	before := count(t, s, `SELECT count(*) FROM source_vaccinations`) + 1000*count(t, s, `SELECT count(*) FROM audit_log`)
	for _, r := range run() {
		if !r.Duplicate {
			t.Errorf("re-applied message not recognised: %+v", r)
		}
	}
	if after := count(t, s, `SELECT count(*) FROM source_vaccinations`) + 1000*count(t, s, `SELECT count(*) FROM audit_log`); after != before {
		t.Errorf("rows changed on re-apply")
	}
}

// TestResolveReview: a possible match is never merged by the worker; a
// person's "linked" decision merges it, moving its doses and rebuilding the
// survivor's events.
func TestResolveReview(t *testing.T) {
	s := openStore(t)
	namesake := person{mrn: "Z9", authority: "CLINIC_C", last: "Whitfield", first: "Alice", dob: "20220314", sex: "F",
		street: "900 Oak Avenue", city: "Billings", zip: "59101", phone: "4065559999"}
	r1 := apply(t, s, message(t, "CLINIC_A", "r1", vxu("CLINIC_A", "r1", alice, "20:20240301:L1")))
	r2 := apply(t, s, message(t, "CLINIC_C", "r2", vxu("CLINIC_C", "r2", namesake, "20:20240301", "08:20240501")))
	if r2.Outcome != registry.OutcomePossible {
		t.Fatalf("outcome %s, want possible", r2.Outcome)
	}
	var review int64
	if err := s.Pool().QueryRow(context.Background(), `SELECT id FROM match_reviews WHERE patient_id = $1`, r2.PatientID).Scan(&review); err != nil {
		t.Fatal(err)
	}
	if err := s.ResolveReview(context.Background(), review, registry.DecisionLinked, "reviewer@example.org"); err != nil {
		t.Fatal(err)
	}
	if err := s.ResolveReview(context.Background(), review, registry.DecisionDistinct, "someone"); !errors.Is(err, registry.ErrReviewClosed) {
		t.Errorf("second decision: %v, want ErrReviewClosed", err)
	}
	if got := count(t, s, `SELECT count(*) FROM patients WHERE id = $1 AND merged_into = $2`, r2.PatientID, r1.PatientID); got != 1 {
		t.Errorf("namesake not marked merged")
	}
	// Alice: DTaP on 1 March from two clinics (one event) and hep B.
	if got := count(t, s, `SELECT count(*) FROM vaccination_events WHERE patient_id = $1`, r1.PatientID); got != 2 {
		t.Errorf("survivor events = %d, want 2", got)
	}
	if got := count(t, s, `SELECT count(*) FROM vaccination_events WHERE patient_id = $1`, r2.PatientID); got != 0 {
		t.Errorf("merged patient keeps %d events", got)
	}
	if got := count(t, s, `SELECT count(*) FROM patient_identifiers WHERE patient_id = $1`, r1.PatientID); got != 2 {
		t.Errorf("survivor identifiers = %d, want 2", got)
	}
	if got := count(t, s, `SELECT count(*) FROM patient_links WHERE survivor_id = $1 AND merged_id = $2 AND decided_by = 'reviewer@example.org'`, r1.PatientID, r2.PatientID); got != 1 {
		t.Errorf("no link row")
	}
	// A later report from the merged record's clinic goes to the survivor.
	r3 := apply(t, s, message(t, "CLINIC_C", "r3", vxu("CLINIC_C", "r3", namesake, "03:20240601")))
	if r3.PatientID != r1.PatientID {
		t.Errorf("report after the merge went to %d (%s), want %d", r3.PatientID, r3.Outcome, r1.PatientID)
	}
}

func TestRebuildBlockingKeys(t *testing.T) {
	s := openStore(t)
	r := apply(t, s, message(t, "CLINIC_A", "k1", vxu("CLINIC_A", "k1", alice, "20:20240301")))
	want := count(t, s, `SELECT count(*) FROM patient_blocking_keys WHERE patient_id = $1`, r.PatientID)
	if _, err := s.Pool().Exec(context.Background(), `DELETE FROM patient_blocking_keys`); err != nil {
		t.Fatal(err)
	}
	n, err := s.RebuildBlockingKeys(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("rebuild: %d, %v", n, err)
	}
	if got := count(t, s, `SELECT count(*) FROM patient_blocking_keys WHERE patient_id = $1`, r.PatientID); got != want || got == 0 {
		t.Errorf("keys after rebuild = %d, want %d", got, want)
	}
	// The patient is found again.
	r2 := apply(t, s, message(t, "CLINIC_A", "k2", vxu("CLINIC_A", "k2", alice, "08:20240401")))
	if r2.PatientID != r.PatientID {
		t.Errorf("after rebuild the report went to %d (%s), want %d", r2.PatientID, r2.Outcome, r.PatientID)
	}
}

// TestNotEventsStanding: a refusal and a 998 record of immunity are part
// of the patient's record (History) until their sender deletes them; a
// refusal resent under the same filler order is one refusal.
func TestNotEventsStanding(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	msg := func(ctl, msh7, body string) []byte {
		return []byte("MSH|^~\\&|EHR|CLINIC_A|IIS|IIS|" + msh7 + "||VXU^V04^VXU_V04|" + ctl + "|P|2.5.1|||ER|AL|||||Z22^CDCPHINVS\r" +
			"PID|1||NE1^^^CLINIC_A^MR||Larkspur^Wren^^^^^L||20220101|F\r" + body)
	}
	refusal := "ORC|RE||R1^CLINIC_A\rRXA|0|1|20240301||21^varicella^CVX|999||||||||||||00^Parental decision^NIP002||RE|A\r"
	immunity := "ORC|RE||I1^CLINIC_A\rRXA|0|1|20240301||998^No vaccine administered^CVX|999||||||||||||||NA|A\r" +
		"OBX|1|CE|59784-9^Disease with presumed immunity^LN|1|38907003^Varicella infection^SCT||||||F\r"
	r := apply(t, s, message(t, "CLINIC_A", "n1", msg("n1", "20240301120000", refusal+immunity)))
	apply(t, s, message(t, "CLINIC_A", "n2", msg("n2", "20240302120000", refusal)))
	kinds := func() []string {
		_, vs, err := s.History(ctx, r.PatientID)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, v := range vs {
			out = append(out, v.CVX+"/"+v.CompletionStatus)
		}
		slices.Sort(out)
		return out
	}
	if got := kinds(); !slices.Equal(got, []string{"21/RE", "998/NA"}) {
		t.Fatalf("record %v, want the refusal and the 998 record once each", got)
	}
	apply(t, s, message(t, "CLINIC_A", "n3", msg("n3", "20240303120000",
		strings.Replace(refusal, "|RE|A\r", "|RE|D\r", 1)+
			strings.Replace(strings.SplitN(immunity, "OBX", 2)[0], "|NA|A\r", "|NA|D\r", 1))))
	if got := kinds(); len(got) != 0 {
		t.Errorf("record after the deletes %v, want none", got)
	}
}
