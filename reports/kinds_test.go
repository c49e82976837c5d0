package reports_test

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/iisproject/iis/accounts"
	"github.com/iisproject/iis/internal/pdftext"
	"github.com/iisproject/iis/registry"
	"github.com/iisproject/iis/reports"
)

// kindsFixture is a registry with four children reported by CLINA: Ana
// (8 months old in May 2025, HepB at birth only, Spanish-speaking
// family), Ben (2 in June 2025, HepB at birth only), Dee (2 in May 2025,
// the same, opted out) and Eli (2 in
// 2025, a complete DTaP series at CLINB); a runner of every kind.
func kindsFixture(t *testing.T) (*registry.Store, *reports.Runner, map[string]int64) {
	t.Helper()
	ctx := context.Background()
	s, a := open(t)
	day := func(s string) time.Time { d, _ := time.Parse(time.DateOnly, s); return d }
	kids := []registry.SeedChild{
		{Family: "Ruiz", Given: "Ana", Sex: "F", BirthDate: day("2024-09-10"), Town: "Hartford", County: "Hartford", Facility: "CLINA",
			Doses: []registry.SeedDose{{CVX: "08", On: day("2024-09-10")}}},
		{Family: "Okafor", Given: "Ben", Sex: "M", BirthDate: day("2023-06-15"), Town: "Hartford", County: "Hartford", Facility: "CLINA",
			Doses: []registry.SeedDose{{CVX: "08", On: day("2023-06-15")}}},
		{Family: "Hidden", Given: "Dee", Sex: "F", BirthDate: day("2023-05-01"), Town: "Bristol", County: "Hartford", Facility: "CLINA",
			Doses: []registry.SeedDose{{CVX: "08", On: day("2023-05-01")}}},
		{Family: "Other", Given: "Eli", Sex: "M", BirthDate: day("2023-04-01"), Town: "Bristol", County: "Hartford", Facility: "CLINB",
			Doses: []registry.SeedDose{{CVX: "20", On: day("2023-06-01")}, {CVX: "20", On: day("2023-08-01")}, {CVX: "20", On: day("2023-10-01")}, {CVX: "20", On: day("2024-05-01")}}},
	}
	if _, err := registry.SeedChildren(ctx, s.Pool(), kids); err != nil {
		t.Fatal(err)
	}
	ids := map[string]int64{}
	rows, _ := s.Pool().Query(ctx, `SELECT given_name, id FROM patients`)
	for rows.Next() {
		var n string
		var id int64
		rows.Scan(&n, &id)
		ids[n] = id
	}
	if _, err := s.Pool().Exec(ctx, `UPDATE patients SET primary_language = 'spa' WHERE id = $1`, ids["Ana"]); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pool().Exec(ctx, `UPDATE patients SET opted_out = true WHERE id = $1`, ids["Dee"]); err != nil {
		t.Fatal(err)
	}
	if err := s.SetIAPArea(ctx, "Hartford", "Capitol", "user:staff"); err != nil {
		t.Fatal(err)
	}
	acc, err := accounts.New(accounts.Config{Pool: s.Pool(), Audit: s})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := acc.CreateOrganization(ctx, accounts.Organization{Kind: accounts.Clinic, Name: "Clinic A", FacilityID: "CLINA"}); err != nil {
		t.Fatal(err)
	}
	r := reports.NewRunner(ctx, s, a, nil)
	r.Add(reports.Recall{Candidates: s, Forecaster: a.Engine(), Clinics: acc, Now: func() time.Time { return day("2025-06-30") }})
	for _, l := range []string{reports.KindMonthly, reports.KindGoldenrod, reports.KindOutreach} {
		r.Add(reports.Compliancy{List: l, Source: s, Engine: a.Engine()})
	}
	return s, r, ids
}

// runKind starts a run and waits for it; it returns the run.
func runKind(t *testing.T, s *registry.Store, r *reports.Runner, kind, params string) registry.ReportRun {
	t.Helper()
	ctx := context.Background()
	id, err := r.Start(ctx, kind, json.RawMessage(params), "user:ann")
	if err != nil {
		t.Fatalf("%s %s: %v", kind, params, err)
	}
	r.Wait()
	run, err := s.ReportRun(ctx, id)
	if err != nil || run.Status != "done" || run.Progress != 100 {
		t.Fatalf("%s run %+v: %v", kind, run, err)
	}
	return run
}

func table(t *testing.T, b []byte, program bool) *reports.Table {
	t.Helper()
	tb, err := reports.ReadTable(b, program)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

// A coverage run stores its drill-down: each child not up to date with
// the measures and the reasons; an opted-out child is named to program
// staff only.
func TestCoverageRunKeepsDrillDown(t *testing.T) {
	ctx := context.Background()
	s, r, ids := kindsFixture(t)
	run := runKind(t, s, r, reports.KindCoverage, `{"asof": "2025-06-30", "cohort": "afix"}`)
	f, err := s.ReportRunFile(ctx, run.ID, reports.FileChildren)
	if err != nil {
		t.Fatal(err)
	}
	staff, clinic := table(t, f.Body, true), table(t, f.Body, false)
	if len(staff.Rows) != 3 {
		t.Fatalf("drill-down rows %q, want Ben, Dee and Eli", staff.Rows)
	}
	joined := func(tb *reports.Table) string {
		var b strings.Builder
		for _, r := range tb.Rows {
			b.WriteString(strings.Join(r, "|") + "\n")
		}
		return b.String()
	}
	if j := joined(staff); !strings.Contains(j, "Okafor, Ben") || !strings.Contains(j, "Hidden, Dee") || !strings.Contains(j, "DTaP: ") {
		t.Errorf("program staff's drill-down:\n%s", j)
	}
	if j := joined(clinic); strings.Contains(j, "Hidden") || strings.Contains(j, "|"+itoa(ids["Dee"])+"|") || !strings.Contains(j, "Record not disclosed") {
		t.Errorf("a clinic's drill-down names the opted-out child:\n%s", j)
	}
	staff.Filter(reports.MeasuresColumn, "DTaP")
	if len(staff.Rows) != 2 {
		t.Errorf("not up to date for DTaP: %q, want Ben and Dee (Eli has 4 DTaP)", staff.Rows)
	}
}

// pdfText is the text pdftotext reads from a PDF, its spaces folded.
func pdfText(t *testing.T, pdf []byte) string {
	return strings.Join(strings.Fields(pdftext.Text(t, pdf)), " ")
}

// A reminder/recall run in the background stores the list, each family's
// letter in its language, and the labels; the opted-out child is left
// out.
func TestRecallRun(t *testing.T) {
	ctx := context.Background()
	s, r, _ := kindsFixture(t)
	run := runKind(t, s, r, reports.KindRecall, `{"clinic": "CLINA", "by": "2025-06-30", "group": "DTaP/Tdap/Td,Polio"}`)
	if run.Facility != "CLINA" {
		t.Fatalf("run's clinic %q", run.Facility)
	}
	list, err := s.ReportRunCSV(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if l := string(list); !strings.Contains(l, "Ruiz,Ana") || !strings.Contains(l, "Okafor,Ben") || strings.Contains(l, "Hidden") || !strings.Contains(l, ",es\n") {
		t.Fatalf("list:\n%s", l)
	}
	letters, err := s.ReportRunFile(ctx, run.ID, reports.FileLetters)
	if err != nil {
		t.Fatal(err)
	}
	text := pdfText(t, letters.Body)
	if !strings.Contains(text, "Estimado padre, madre o tutor de Ana Ruiz:") || !strings.Contains(text, "Dear parent or guardian of Ben Okafor,") {
		t.Errorf("letters:\n%s", text)
	}
	if _, err := s.ReportRunFile(ctx, run.ID, reports.FileLabels); err != nil {
		t.Error(err)
	}
	var sum reports.Summary
	json.Unmarshal(run.Summary, &sum)
	if sum.Counts["due"] != 2 || sum.Counts["families"] != 2 || sum.Counts["left out: opted out"] != 1 {
		t.Errorf("summary %+v", sum)
	}
	for _, bad := range []string{`{"by": "2025-06-30"}`, `{"clinic": "CLINA", "by": "2025-02-30"}`, `{"clinic": "CLINA", "by": "2025-06-30", "group": "Measles"}`} {
		if _, err := r.Start(ctx, reports.KindRecall, json.RawMessage(bad), "user:ann"); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

// The compliancy lists run in the background: the monthly list (Ana at 8
// months in May), the Goldenrod list (Ben and Dee, turning 2 in 2025) and
// the statewide outreach list by IAP area.
func TestListRuns(t *testing.T) {
	ctx := context.Background()
	s, r, _ := kindsFixture(t)
	for _, tc := range []struct {
		kind, params string
		want, not    []string
	}{
		{reports.KindMonthly, `{"clinic": "CLINA", "month": "2025-05"}`, []string{"Ruiz, Ana", "DTaP"}, []string{"Okafor"}},
		{reports.KindGoldenrod, `{"clinic": "CLINA", "year": "2025"}`, []string{"Okafor, Ben", "Hidden, Dee"}, []string{"Ruiz", "Other"}},
		{reports.KindOutreach, `{"asof": "2025-06-30", "months": "36"}`, []string{"Ruiz, Ana", "Capitol", "(no IAP area)"}, nil},
	} {
		run := runKind(t, s, r, tc.kind, tc.params)
		b, err := s.ReportRunCSV(ctx, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range tc.want {
			if !strings.Contains(string(b), w) {
				t.Errorf("%s lacks %q:\n%s", tc.kind, w, b)
			}
		}
		for _, w := range tc.not {
			if strings.Contains(string(b), w) {
				t.Errorf("%s has %q:\n%s", tc.kind, w, b)
			}
		}
	}
}

// Scheduled lists take their dates from the slot: the monthly list of
// the month before, the outreach list of the slot's day.
func TestScheduledListsTakeTheSlot(t *testing.T) {
	ctx := context.Background()
	s, r, _ := kindsFixture(t)
	now := time.Date(2025, 6, 1, 3, 0, 0, 0, time.UTC)
	sc, err := reports.NewScheduler(r, []reports.Schedule{
		{Name: "clina-monthly", Kind: reports.KindMonthly, Day: 1, Hour: 2, Params: json.RawMessage(`{"clinic": "CLINA"}`)},
		{Name: "outreach", Kind: reports.KindOutreach, Day: 1, Hour: 2},
		{Name: "clina-recall", Kind: reports.KindRecall, Day: 0, Hour: 2, Params: json.RawMessage(`{"clinic": "CLINA"}`)},
	}, func() time.Time { return now }, nil)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := sc.Tick(ctx)
	r.Wait()
	if err != nil || len(ids) != 3 {
		t.Fatalf("%v %v", ids, err)
	}
	want := map[string]string{"clina-monthly": `"month": "2025-05"`, "outreach": `"asof": "2025-06-01"`, "clina-recall": `"by": "2025-06-01"`}
	for _, id := range ids {
		run, _ := s.ReportRun(ctx, id)
		if run.Status != "done" || !strings.Contains(string(run.Params), want[run.Schedule]) {
			t.Errorf("%s: %s %s, want %s", run.Schedule, run.Status, run.Params, want[run.Schedule])
		}
	}
	if _, err := reports.NewScheduler(r, []reports.Schedule{{Name: "x", Kind: reports.KindMonthly, Day: 1}}, nil, nil); err == nil ||
		!strings.Contains(err.Error(), "choose a clinic") {
		t.Errorf("a monthly schedule without a clinic: %v", err)
	}
}

// The pages start runs of every kind within the user's scope, show the
// drill-down as the user may see it, and serve the stored files; a
// recall run's letters are recorded as disclosures.
func TestPagesOfKinds(t *testing.T) {
	ctx := context.Background()
	s, r, ids := kindsFixture(t)
	pages, err := reports.NewPages(r, orgs{{ID: 1, Kind: accounts.Clinic, Name: "Clinic A", FacilityID: "CLINA"},
		{ID: 2, Kind: accounts.Clinic, Name: "Clinic B", FacilityID: "CLINB"}, {ID: 3, Kind: accounts.Program, Name: "Program"}},
		func() time.Time { return time.Date(2025, 6, 30, 12, 0, 0, 0, time.UTC) }, nil)
	if err != nil {
		t.Fatal(err)
	}
	do := serve(t, pages)
	for _, tc := range []struct {
		user, path string
		form       url.Values
		status     int
		want       string
	}{
		{"coord", "/reports/outreach", url.Values{"asof": {"2025-06-30"}}, 403, "for the immunization program"},
		{"coord", "/reports/recall", url.Values{"by": {"2025-06-30"}, "clinic": {"CLINB"}}, 403, "your own clinic only"},
		{"coord", "/reports/recall", url.Values{"by": {"2025-06-31"}}, 400, "the due-by date must be a date"},
		{"coord", "/reports/nosuch", url.Values{}, 404, "No such report"},
		{"staff", "/reports/monthly", url.Values{"month": {"2025-05"}}, 400, "choose a clinic"},
	} {
		res, body := do(tc.user, "POST", tc.path, tc.form)
		if res.StatusCode != tc.status || !strings.Contains(body, tc.want) {
			t.Errorf("%s %s %v: %d, want %d with %q\n%.2000s", tc.user, tc.path, tc.form, res.StatusCode, tc.status, tc.want, body)
		}
	}
	start := func(user, path string, form url.Values) string {
		t.Helper()
		res, body := do(user, "POST", path, form)
		if res.StatusCode != 303 {
			t.Fatalf("%s %s: %d\n%s", user, path, res.StatusCode, body)
		}
		r.Wait()
		return res.Header.Get("Location")
	}
	// The coordinator's recall run: the letters PDF, disclosed.
	rec := start("coord", "/reports/recall", url.Values{"by": {"2025-06-30"}, "group": {"DTaP/Tdap/Td", "Polio"}})
	res, body := do("coord", "GET", rec, nil)
	if !strings.Contains(body, `id="file-letters.pdf"`) || !strings.Contains(body, "children due by 2025-06-30 for DTaP/Tdap/Td, Polio, clinic CLINA") {
		t.Fatalf("recall run page: %d\n%s", res.StatusCode, body)
	}
	res, body = do("coord", "GET", rec+"/files/letters.pdf", nil)
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/pdf" || !strings.Contains(pdfText(t, []byte(body)), "Estimado padre") {
		t.Fatalf("letters: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if res, _ := do("other", "GET", rec+"/files/letters.pdf", nil); res.StatusCode != 404 {
		t.Errorf("another clinic's letters: %d", res.StatusCode)
	}
	if ds, err := s.Disclosures(ctx, ids["Ana"]); err != nil || len(ds) != 1 || ds[0].Facility != "CLINA" || !strings.Contains(ds[0].What, "letters.pdf") {
		t.Errorf("Ana's disclosures %+v %v, want the letters to CLINA", ds, err)
	}
	// A clinic's coverage run: the drill-down by measure, the opted-out
	// child without a name; program staff see who.
	cov := start("coord", "/reports/coverage", url.Values{"asof": {"2025-06-30"}, "cohort": {"afix"}})
	_, body = do("coord", "GET", cov, nil)
	if !strings.Contains(body, `data-measure="DTaP"`) {
		t.Fatalf("coverage run page:\n%s", body)
	}
	_, body = do("coord", "GET", cov+"/children?measure=DTaP", nil)
	if !strings.Contains(body, "Okafor, Ben") || strings.Contains(body, "Hidden") || !strings.Contains(body, "Record not disclosed") || !strings.Contains(body, "DTaP: ") {
		t.Errorf("coordinator's drill-down:\n%s", body)
	}
	_, body = do("staff", "GET", cov+"/children?measure=DTaP", nil)
	if !strings.Contains(body, "Hidden, Dee") {
		t.Errorf("staff's drill-down:\n%s", body)
	}
	res, body = do("coord", "GET", cov+"/files/children.csv", nil)
	if res.StatusCode != 200 || strings.Contains(body, "Hidden") || !strings.Contains(body, "Okafor, Ben") {
		t.Errorf("coordinator's drill-down CSV: %d\n%s", res.StatusCode, body)
	}
	// Program staff's statewide outreach list.
	out := start("staff", "/reports/outreach", url.Values{"asof": {"2025-06-30"}, "months": {"36"}})
	_, body = do("staff", "GET", out+"/children", nil)
	if !strings.Contains(body, "Ruiz, Ana") || !strings.Contains(body, "Capitol") {
		t.Errorf("outreach list:\n%s", body)
	}
}
