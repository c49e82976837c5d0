package registry_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/iisproject/iis/registry"
	"github.com/jackc/pgx/v5"
)

// partitionName is the name MaintainMessageStore gives table's partition
// of the month of t (kind "" for the period table).
func partitionName(table string, t time.Time, kind string) string {
	t = t.UTC()
	n := fmt.Sprintf("%s_p%04d%02d01", table, t.Year(), t.Month())
	if kind != "" {
		n += "_" + kind
	}
	return n
}

// leafOf returns the partition holding report id's body.
func leafOf(t *testing.T, s *registry.Store, id int64) string {
	t.Helper()
	var leaf string
	if err := s.Pool().QueryRow(context.Background(), `SELECT tableoid::regclass::text FROM message_bodies WHERE report_id = $1`, id).Scan(&leaf); err != nil {
		t.Fatalf("body of report %d: %v", id, err)
	}
	return leaf
}

// TestMessageStorePartitionsAhead: the maintenance creates the current
// period's partition and Ahead more (one leaf per kind), in both tables,
// once; a later run creates the periods that came into range (and drops a
// partition a run detached and did not drop); a message
// lands in its month's leaf of its kind; another holder of the lock makes
// a run skip.
func TestMessageStorePartitionsAhead(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	now := time.Now().UTC()
	ch, err := s.MaintainMessageStore(ctx, registry.MessageStorePolicy{Ahead: 2}, now)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, table := range []string{"message_bodies", "message_errors"} {
		for i := range 3 {
			want = append(want, partitionName(table, time.Date(now.Year(), now.Month()+time.Month(i), 1, 0, 0, 0, 0, time.UTC), ""))
		}
	}
	if !slices.Equal(ch.Created, want) || len(ch.Dropped) != 0 {
		t.Fatalf("created %v dropped %v, want created %v", ch.Created, ch.Dropped, want)
	}
	if n := count(t, s, `SELECT count(*) FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent JOIN pg_class c ON c.oid = i.inhrelid
		WHERE c.relkind = 'r' AND (p.relname LIKE 'message_bodies_p%' OR p.relname LIKE 'message_errors_p%')`); n != 6*4 {
		t.Errorf("%d kind partitions, want 24", n)
	}
	again, err := s.MaintainMessageStore(ctx, registry.MessageStorePolicy{Ahead: 2}, now)
	if err != nil || len(again.Created) != 0 {
		t.Fatalf("second run created %v (%v)", again.Created, err)
	}
	later, err := s.MaintainMessageStore(ctx, registry.MessageStorePolicy{Ahead: 2}, now.AddDate(0, 1, 0))
	if err != nil || len(later.Created) != 2 {
		t.Fatalf("a month later created %v (%v), want one period per table", later.Created, err)
	}

	// A partition detached by a run interrupted before it dropped it is
	// dropped by the next one.
	if _, err := s.Pool().Exec(ctx, `CREATE TABLE message_bodies_p19990101_vxu (LIKE message_bodies)`); err != nil {
		t.Fatal(err)
	}
	cleanup, err := s.MaintainMessageStore(ctx, registry.MessageStorePolicy{Ahead: 2}, now.AddDate(0, 1, 0))
	if err != nil || !slices.Equal(cleanup.Dropped, []string{"message_bodies_p19990101_vxu"}) {
		t.Fatalf("a left-over detached partition: dropped %v (%v)", cleanup.Dropped, err)
	}

	m := message(t, "CLINIC_A", "ahead-1", vxu("CLINIC_A", "ahead-1", alice, "20:20240301:L1"))
	apply(t, s, m)
	id := reportID(t, s, "CLINIC_A", "ahead-1")
	if got, want := leafOf(t, s, id), partitionName("message_bodies", m.Received, "vxu"); got != want {
		t.Errorf("body stored in %s, want %s", got, want)
	}

	conn, err := s.Pool().Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, int64(0x11500070)); err != nil {
		t.Fatal(err)
	}
	skipped, err := s.MaintainMessageStore(ctx, registry.MessageStorePolicy{}, now)
	if err != nil || !skipped.Skipped {
		t.Errorf("run while another replica maintains: %+v, %v", skipped, err)
	}
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_unlock($1)`, int64(0x11500070)); err != nil {
		t.Fatal(err)
	}
}

func reportID(t *testing.T, s *registry.Store, fac, ctl string) int64 {
	t.Helper()
	var id int64
	if err := s.Pool().QueryRow(context.Background(), `SELECT id FROM source_reports WHERE facility = $1 AND control_id = $2`, fac, ctl).Scan(&id); err != nil {
		t.Fatalf("report %s/%s: %v", fac, ctl, err)
	}
	return id
}

// TestMessageStorePruneByKind: messages received months ago wait in the
// default partitions; the maintenance moves them into their months'
// partitions and drops exactly the kind partitions older than each kind's
// retention. A pruned message keeps its report row, its ERR summary and
// its doses' provenance (facility, MSH-10, received time, report); its
// body and ERR rows are gone; a redelivery of it is still recognised; a
// message received in a pruned month is stored without a body.
func TestMessageStorePruneByKind(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	now := time.Now().UTC()
	fiveAgo, twoAgo := now.AddDate(0, -5, 0), now.AddDate(0, -2, 0)
	policy := registry.MessageStorePolicy{Ahead: 1, RetentionMonths: map[string]int{"vxu": 3, "rejected": 6, "query": 1, "other": 2}}

	old := message(t, "CLINIC_A", "old-vxu", vxu("CLINIC_A", "old-vxu", alice, "20:20240301:L1", "08:20240301:L2"))
	old.Received, old.Issues = fiveAgo, "W:103:3:RXA-9"
	apply(t, s, old)
	recent := message(t, "CLINIC_A", "recent-vxu", vxu("CLINIC_A", "recent-vxu", alice, "03:20240601:L3"))
	recent.Received = twoAgo
	apply(t, s, recent)
	rejectedRaw := []byte("MSH|^~\\&|EHR|CLINIC_A|IIS|IIS|20240301||VXU^V04^VXU_V04|old-rej|T|2.5.1\r")
	apply(t, s, &registry.Message{Kind: "rejected", Facility: "CLINIC_A", ControlID: "old-rej", Type: "VXU", Ack: "AR",
		Transport: "mllp", Received: fiveAgo, Raw: rejectedRaw, Issues: "E:202:0:MSH-11", AckBody: []byte("MSA|AR|old-rej\r")})
	storeQuery(t, s, "old-q", twoAgo)
	storeQuery(t, s, "new-q", now)

	ch, err := s.MaintainMessageStore(ctx, policy, now)
	if err != nil {
		t.Fatal(err)
	}
	// 5 bodies and 2 ERR rows (old-vxu's warning, old-rej's error) moved.
	if ch.Moved != 7 {
		t.Errorf("moved %d rows out of the default partitions, want 7", ch.Moved)
	}
	for _, d := range []string{partitionName("message_bodies", fiveAgo, "vxu"), partitionName("message_errors", fiveAgo, "vxu"),
		partitionName("message_bodies", twoAgo, "query")} {
		if !slices.Contains(ch.Dropped, d) {
			t.Errorf("%s not dropped; dropped %v", d, ch.Dropped)
		}
	}
	for _, d := range ch.Dropped {
		if bytes.HasSuffix([]byte(d), []byte("_rejected")) {
			t.Errorf("dropped %s: rejected messages are kept 6 months", d)
		}
	}
	if n := count(t, s, `SELECT count(*) FROM message_bodies_default`) + count(t, s, `SELECT count(*) FROM message_errors_default`); n != 0 {
		t.Errorf("%d rows left in the default partitions", n)
	}

	checkPruned(t, s, reportID(t, s, "CLINIC_A", "old-vxu"), true)
	checkPruned(t, s, reportID(t, s, "CLINIC_A", "old-q"), true)
	checkPruned(t, s, reportID(t, s, "CLINIC_A", "recent-vxu"), false)
	checkPruned(t, s, reportID(t, s, "CLINIC_A", "old-rej"), false)
	checkPruned(t, s, reportID(t, s, "CLINIC_A", "new-q"), false)
	checkProvenance(t, s, old)
	if n := count(t, s, `SELECT count(*) FROM message_errors WHERE code = '103'`); n != 0 {
		t.Errorf("the pruned VXU's ERR rows: %d left", n)
	}
	if n := count(t, s, `SELECT count(*) FROM message_errors WHERE code = '202'`); n != 1 {
		t.Errorf("the kept rejected message's ERR rows: %d, want 1", n)
	}

	if r := apply(t, s, old); !r.Duplicate {
		t.Errorf("redelivery of a pruned message: %+v, want duplicate", r)
	}
	late := message(t, "CLINIC_A", "late-vxu", vxu("CLINIC_A", "late-vxu", alice, "10:20240301:L9"))
	late.Received = fiveAgo
	if r := apply(t, s, late); r.Doses != 1 {
		t.Errorf("a message received in a pruned month: %+v", r)
	}
	checkPruned(t, s, reportID(t, s, "CLINIC_A", "late-vxu"), true)

	again, err := s.MaintainMessageStore(ctx, policy, now)
	if err != nil || len(again.Created)+len(again.Dropped) != 0 || again.Deleted != 0 {
		t.Errorf("second run: %+v, %v", again, err)
	}
}

func storeQuery(t *testing.T, s *registry.Store, ctl string, at time.Time) {
	t.Helper()
	raw := []byte("MSH|^~\\&|EHR|CLINIC_A|IIS|IIS|20240301||QBP^Q11^QBP_Q11|" + ctl + "|P|2.5.1|||ER|AL|||||Z44^CDCPHINVS\r")
	err := pgx.BeginFunc(context.Background(), s.Pool(), func(tx pgx.Tx) error {
		_, err := s.StoreQueries(context.Background(), tx, []*registry.Message{{Kind: registry.KindQuery, Facility: "CLINIC_A",
			ControlID: ctl, Type: "QBP", Ack: "AA", Transport: "soap", Received: at, Raw: raw, AckBody: []byte("MSA|AA|" + ctl + "\r"),
			QueryOutcome: "Z33 NF"}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// checkPruned checks what the message browser shows of report id.
func checkPruned(t *testing.T, s *registry.Store, id int64, pruned bool) {
	t.Helper()
	ctx := context.Background()
	d, err := s.MessageDetail(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	_, bodyErr := s.MessageBody(ctx, id)
	if d.Pruned != pruned || (d.Raw == nil) != pruned || errors.Is(bodyErr, registry.ErrMessagePruned) != pruned {
		t.Errorf("%s: pruned %v, raw %d bytes, body error %v; want pruned %v", d.ControlID, d.Pruned, len(d.Raw), bodyErr, pruned)
	}
}

// checkProvenance: the doses of m still name their report, facility,
// MSH-10 and received time.
func checkProvenance(t *testing.T, s *registry.Store, m *registry.Message) {
	t.Helper()
	ctx := context.Background()
	id := reportID(t, s, m.Facility, m.ControlID)
	d, err := s.MessageDetail(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if d.PatientID == nil || len(d.Doses) != 2 || len(d.Issues) != 1 || !d.Received.Equal(m.Received.Truncate(time.Microsecond)) {
		t.Fatalf("pruned report: patient %v, %d doses, issues %v, received %v", d.PatientID, len(d.Doses), d.Issues, d.Received)
	}
	doses, err := s.FacilityDoses(ctx, *d.PatientID, m.Facility)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, x := range doses {
		if x.ReportID == id {
			n++
			if x.Facility != m.Facility || x.ControlID != m.ControlID || !x.Received.Equal(d.Received) || x.Transport != "mllp" {
				t.Errorf("dose provenance: %s %s %v %s", x.Facility, x.ControlID, x.Received, x.Transport)
			}
		}
	}
	if n != 2 {
		t.Errorf("%d doses of the pruned report, want 2", n)
	}
}

// TestSearchErrCodeWindows: a search by ERR code tries the last month,
// then 400 days, then all time (so that it plans few partitions): the
// pages list every message with the code, newest first, whatever its age,
// in partitions or in the default one; a From bound and a cursor keep
// their meaning.
func TestSearchErrCodeWindows(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	now := time.Now().UTC()
	ages := []time.Duration{time.Hour, 2 * time.Hour, 40 * 24 * time.Hour, 41 * 24 * time.Hour, 500 * 24 * time.Hour}
	var want []int64
	for i, age := range ages {
		var id int64
		if err := s.Pool().QueryRow(ctx, `INSERT INTO source_reports (facility, control_id, message_type, kind, ack_code, transport,
			received_at, raw_digest, issues) VALUES ('CLINIC_W', $1, 'VXU', 'vxu', 'AE', 'mllp', $2, sha256('x'), ARRAY['E:999:6:RXA-17'])
			RETURNING id`, fmt.Sprint("W-", i), now.Add(-age)).Scan(&id); err != nil {
			t.Fatal(err)
		}
		want = append(want, id)
	}
	check := func(label string) {
		for _, limit := range []int{1, 2, 10} {
			ids, _ := pageThrough(t, s, registry.MessageFilter{ErrCode: "999"}, limit)
			if !slices.Equal(ids, want) {
				t.Errorf("%s, pages of %d: %v, want %v", label, limit, ids, want)
			}
		}
		ids, _ := pageThrough(t, s, registry.MessageFilter{ErrCode: "999", From: now.Add(-45 * 24 * time.Hour)}, 1)
		if !slices.Equal(ids, want[:4]) {
			t.Errorf("%s, from 45 days ago: %v, want %v", label, ids, want[:4])
		}
	}
	check("default partition")
	if _, err := s.MaintainMessageStore(ctx, registry.MessageStorePolicy{}, now); err != nil {
		t.Fatal(err)
	}
	check("partitions")
}
