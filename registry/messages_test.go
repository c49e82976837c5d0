package registry_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/iisproject/iis/registry"
)

// seedBrowser fills s with SeedMessages' synthetic store of n messages,
// plus ties: four messages received at the same instant, and one with ERR
// code 101 at two severities (two message_errors rows).
func seedBrowser(t *testing.T, s *registry.Store, n int) {
	t.Helper()
	ctx := context.Background()
	sample, err := os.ReadFile("../testdata/hl7/samples/cdc-ig/vxu_z22_ig_ex1_basic_historical_plus_2_admin_vfc_vis.hl7")
	if err != nil {
		t.Fatal(err)
	}
	if err := registry.SeedMessages(ctx, s.Pool(), n, sample); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pool().Exec(ctx, `WITH ins AS (INSERT INTO source_reports (facility, control_id, message_type, kind, ack_code, transport, received_at, raw_digest, issues)
		SELECT 'CLINIC013', 'TIE-' || g, 'VXU', 'vxu', 'AE', 'mllp', now() - interval '100 seconds', sha256('\x00'), ARRAY['E:101:6:RXA-17', 'W:101:5:RXA-5']
		FROM generate_series(1, 4) g RETURNING id, received_at, kind)
		INSERT INTO message_bodies (report_id, received_at, kind, raw, ack) SELECT id, received_at, kind, '\x00', '' FROM ins`); err != nil {
		t.Fatal(err)
	}
}

// TestSearchMessagesKeyset: following the cursor page by page lists every
// message a filter selects exactly once, newest first (received time,
// then id for messages received at the same instant), on every search
// path: source_reports, the ERR-code walk of message_errors (a message with
// the code at two severities once), patients by name, birth date or
// identifier.
func TestSearchMessagesKeyset(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	seedBrowser(t, s, 400)
	var fam string
	var dob time.Time
	if err := s.Pool().QueryRow(ctx, `SELECT family_name, birth_date FROM patients WHERE id = 7`).Scan(&fam, &dob); err != nil {
		t.Fatal(err)
	}
	from, to := time.Now().Add(-300*time.Second), time.Now().Add(-90*time.Second)
	patientReports := `r.id IN (SELECT report_id FROM source_vaccinations WHERE patient_id = 7)`
	cases := []struct {
		name string
		f    registry.MessageFilter
		want string // the condition on source_reports r of the same messages
	}{
		{"all", registry.MessageFilter{}, `true`},
		{"facility", registry.MessageFilter{Facility: "CLINIC013"}, `r.facility = 'CLINIC013'`},
		{"ACK", registry.MessageFilter{Ack: "AE"}, `r.ack_code = 'AE'`},
		{"type", registry.MessageFilter{Type: "QBP"}, `false`},
		{"MSH-10", registry.MessageFilter{ControlID: "MSG-42"}, `r.control_id = 'MSG-42'`},
		{"time span", registry.MessageFilter{From: from, To: to},
			`r.received_at >= '` + from.Format(time.RFC3339Nano) + `' AND r.received_at < '` + to.Format(time.RFC3339Nano) + `'`},
		{"ERR code", registry.MessageFilter{ErrCode: "101"}, `'E:101:6:RXA-17' = ANY (r.issues)`},
		{"ERR code and facility", registry.MessageFilter{ErrCode: "101", Facility: "CLINIC013"}, `'E:101:6:RXA-17' = ANY (r.issues) AND r.facility = 'CLINIC013'`},
		{"warning code", registry.MessageFilter{ErrCode: "103"}, `'W:103:3:RXA-9' = ANY (r.issues)`},
		{"family name and birth date", registry.MessageFilter{Name: strings.ToUpper(fam), BirthDate: dob},
			`r.id IN (SELECT report_id FROM source_vaccinations v JOIN patients p ON p.id = v.patient_id WHERE p.family_name = '` + fam + `' AND p.birth_date = '` + dob.Format("2006-01-02") + `')`},
		{"identifier", registry.MessageFilter{Identifier: "MRN7"}, patientReports},
		{"name with given name", registry.MessageFilter{Name: "Fam7, given7"}, patientReports},
		{"nobody", registry.MessageFilter{Name: "Fam7, Nobody"}, `false`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var want []int64
			rows, err := s.Pool().Query(ctx, `SELECT id FROM source_reports r WHERE `+c.want+` ORDER BY received_at DESC, id DESC`)
			if err == nil {
				want, err = pgx.CollectRows(rows, pgx.RowTo[int64])
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(want) == 0 && c.want != "false" {
				t.Fatal("the reference query selects nothing: the test data do not exercise this filter")
			}
			got, pages := pageThrough(t, s, c.f, 7)
			if !slices.Equal(got, want) {
				t.Errorf("%d messages in %d pages, want %d:\n got %v\nwant %v", len(got), pages, len(want), got, want)
			}
		})
	}
}

// pageThrough lists every message f selects, limit at a time, following
// the cursor; it fails when a page is short before the last or claims more
// after it.
func pageThrough(t *testing.T, s *registry.Store, f registry.MessageFilter, limit int) ([]int64, int) {
	t.Helper()
	var ids []int64
	for pages := 1; ; pages++ {
		rows, more, err := s.SearchMessages(context.Background(), f, limit)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			ids = append(ids, r.ID)
		}
		if !more {
			return ids, pages
		}
		if len(rows) != limit {
			t.Fatalf("page %d: %d rows and more to follow, want %d", pages, len(rows), limit)
		}
		if pages > 1000 {
			t.Fatal("the cursor does not advance")
		}
		last := rows[len(rows)-1]
		f.BeforeTime, f.BeforeID = last.Received, last.ID
	}
}

// TestErrorCounts: errors (severity E, not warnings) are counted per
// facility, code and position; a position without a CDC 0533 code ("0")
// has none.
func TestErrorCounts(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	seedBrowser(t, s, 400)
	counts, err := s.ErrorCounts(ctx, time.Now().Add(-time.Hour), "CLINIC013")
	if err != nil {
		t.Fatal(err)
	}
	want := count(t, s, `SELECT count(*) FROM source_reports WHERE facility = 'CLINIC013' AND 'E:101:6:RXA-17' = ANY (issues)`)
	if len(counts) != 1 || counts[0].Code != "101" || counts[0].AppCode != "6" || counts[0].Position != "RXA-17" ||
		counts[0].Messages != want || counts[0].First.After(counts[0].Last) || counts[0].LastID == 0 {
		t.Errorf("CLINIC013: %+v, want 101 6 RXA-17 on %d messages", counts, want)
	}
	all, err := s.ErrorCounts(ctx, time.Now().Add(-time.Hour), "")
	if err != nil {
		t.Fatal(err)
	}
	var rejected int
	for _, c := range all {
		if c.Code == "202" {
			rejected += c.Messages
			if c.AppCode != "" || c.Position != "MSH-11" {
				t.Errorf("MSH-11 group %+v, want no application code", c)
			}
		}
	}
	if want := count(t, s, `SELECT count(*) FROM source_reports WHERE ack_code = 'AR'`); rejected != want || want == 0 {
		t.Errorf("202 counted on %d messages, want %d", rejected, want)
	}
}

// TestMessageDetail: a stored VXU is read back with its doses in RXA
// order and its audit trail oldest first, the worker's row first; audit
// rows are stored whatever bytes the actor and detail hold; a missing
// message is pgx.ErrNoRows.
func TestMessageDetail(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	raw := vxu("CLINIC_A", "m1", alice, "20:20240301:L1", "08:20240302")
	res := apply(t, s, message(t, "CLINIC_A", "m1", raw))
	rows, _, err := s.SearchMessages(ctx, registry.MessageFilter{Facility: "CLINIC_A", ControlID: "m1"}, 10)
	if err != nil || len(rows) != 1 {
		t.Fatalf("search: %v %v", rows, err)
	}
	id := rows[0].ID
	pid := res.PatientID
	if err := s.RecordAudit(ctx, registry.AuditEntry{Actor: "console:ana", Action: "console-view", PatientID: &pid, ReportID: &id}); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordAudit(ctx, registry.AuditEntry{Actor: "console:bad\x00name", Action: "resend", PatientID: &pid, ReportID: &id, Detail: "CLINIC \xe9 BAD\x1bID"}); err != nil {
		t.Fatal(err)
	}
	d, err := s.MessageDetail(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if d.Facility != "CLINIC_A" || d.ControlID != "m1" || d.Kind != "vxu" || d.PatientID == nil || *d.PatientID != pid ||
		string(d.Raw) != string(raw) || d.MessageTime == nil {
		t.Errorf("message %+v", d.MessageSummary)
	}
	var doses []string
	for _, x := range d.Doses {
		doses = append(doses, x.CVX+"/"+x.Lot+"/"+x.Consolidation)
		if x.EventID == nil || x.Administered == nil {
			t.Errorf("dose %+v without its event or date", x)
		}
	}
	if strings.Join(doses, ",") != "20/L1/winner,08//winner" {
		t.Errorf("doses %q", doses)
	}
	var audit []string
	for _, a := range d.Audit {
		audit = append(audit, a.Actor+" "+a.Action+" "+a.Detail)
	}
	if len(audit) != 3 || strings.HasPrefix(audit[0], "console:") ||
		audit[1] != "console:ana console-view " || audit[2] != `console:bad\x00name resend CLINIC \xE9 BAD\x1BID` {
		t.Errorf("audit trail %q", audit)
	}
	b, err := s.MessageBody(ctx, id)
	if err != nil || b.Facility != "CLINIC_A" || b.Kind != "vxu" || string(b.Raw) != string(raw) || b.PatientID == nil || *b.PatientID != pid {
		t.Errorf("body %+v %v", b, err)
	}
	if _, err := s.MessageDetail(ctx, id+1000); !errors.Is(err, pgx.ErrNoRows) {
		t.Errorf("missing message: %v", err)
	}
	if _, err := s.MessageBody(ctx, id+1000); !errors.Is(err, pgx.ErrNoRows) {
		t.Errorf("missing message body: %v", err)
	}
}

// TestPatientOverview: a patient's identifiers, events, messages, merges
// (undoable until undone) and access trail, newest first; missing
// patients and links are pgx.ErrNoRows.
func TestPatientOverview(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	bob := person{mrn: "B7", authority: "CLINIC_B", last: "Okafor", first: "Chidi", dob: "20210101", sex: "M"}
	r1 := apply(t, s, message(t, "CLINIC_A", "p1", vxu("CLINIC_A", "p1", alice, "20:20240301:L1", "08:20240501")))
	r2 := apply(t, s, message(t, "CLINIC_B", "p2", vxu("CLINIC_B", "p2", bob, "20:20240301")))
	if err := s.RecordAudit(ctx, registry.AuditEntry{Actor: "console:ana", Action: "console-view", PatientID: &r1.PatientID, Detail: "patient page"}); err != nil {
		t.Fatal(err)
	}
	p, err := s.PatientOverview(ctx, r1.PatientID)
	if err != nil {
		t.Fatal(err)
	}
	if p.Family != "Whitfield" || p.Given != "Alice" || p.BirthDate == nil || p.BirthDate.Format("20060102") != alice.dob || p.Sex != "F" || p.MergedInto != nil {
		t.Errorf("patient %+v", p)
	}
	if strings.Join(p.Identifiers, ",") != "A100 (CLINIC_A MR)" {
		t.Errorf("identifiers %q", p.Identifiers)
	}
	if len(p.Events) != 2 || p.Events[0].CVX != "20" || p.Events[0].Lot != "L1" || p.Events[0].Sources != 1 || p.Events[1].CVX != "08" {
		t.Errorf("events %+v", p.Events)
	}
	if len(p.Messages) != 1 || p.Messages[0].ControlID != "p1" {
		t.Errorf("messages %+v", p.Messages)
	}
	if len(p.Access) != 2 || p.Access[0].Actor != "console:ana" || p.Access[0].Detail != "patient page" {
		t.Errorf("access trail (newest first) %+v", p.Access)
	}
	if len(p.Links) != 0 {
		t.Errorf("links before any merge %+v", p.Links)
	}

	if err := s.Merge(ctx, r1.PatientID, r2.PatientID, "console:ed"); err != nil {
		t.Fatal(err)
	}
	merged, err := s.PatientOverview(ctx, r2.PatientID)
	if err != nil {
		t.Fatal(err)
	}
	if merged.MergedInto == nil || *merged.MergedInto != r1.PatientID || len(merged.Links) != 1 {
		t.Fatalf("merged patient %+v", merged)
	}
	l := merged.Links[0]
	if l.Kind != "merge" || l.Survivor != r1.PatientID || l.Merged != r2.PatientID || l.By != "console:ed" || !l.Undoable || l.UndoneAt != nil {
		t.Errorf("merge link %+v", l)
	}
	if got, err := s.MergeLink(ctx, l.ID); err != nil || got != l {
		t.Errorf("MergeLink = %+v, %v; want %+v", got, err, l)
	}
	if err := s.Unmerge(ctx, l.ID, "console:ed"); err != nil {
		t.Fatal(err)
	}
	survivor, err := s.PatientOverview(ctx, r1.PatientID)
	if err != nil {
		t.Fatal(err)
	}
	if len(survivor.Links) != 2 || survivor.Links[0].Kind != "unmerge" || survivor.Links[1].ID != l.ID ||
		survivor.Links[1].Undoable || survivor.Links[1].UndoneAt == nil {
		t.Errorf("links after the unmerge (newest first) %+v", survivor.Links)
	}
	if _, err := s.PatientOverview(ctx, r2.PatientID+1000); !errors.Is(err, pgx.ErrNoRows) {
		t.Errorf("missing patient: %v", err)
	}
	if _, err := s.MergeLink(ctx, l.ID+1000); !errors.Is(err, pgx.ErrNoRows) {
		t.Errorf("missing link: %v", err)
	}
}
