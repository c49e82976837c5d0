package main

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// readRegistry reads what the reconciliation needs from the registry.
func readRegistry(ctx context.Context, url string) (registrySnapshot, error) {
	snap := registrySnapshot{reports: map[msgKey]storedReport{}}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return snap, fmt.Errorf("registry: connect: %w", err)
	}
	defer conn.Close(context.Background())

	rows, err := conn.Query(ctx, `SELECT facility, control_id, kind, ack_code FROM source_reports`)
	if err != nil {
		return snap, fmt.Errorf("registry: source_reports: %w", err)
	}
	for rows.Next() {
		var k msgKey
		var st storedReport
		if err := rows.Scan(&k.facility, &k.controlID, &st.kind, &st.ack); err != nil {
			rows.Close()
			return snap, fmt.Errorf("registry: source_reports: %w", err)
		}
		snap.reports[k] = st
	}
	if err := rows.Err(); err != nil {
		return snap, fmt.Errorf("registry: source_reports: %w", err)
	}

	rows, err = conn.Query(ctx, `
		SELECT sv.facility, sv.control_id, count(*),
		       count(*) FILTER (WHERE sv.consolidation IN ('winner', 'duplicate')),
		       count(*) FILTER (WHERE sv.consolidation IN ('winner', 'duplicate') AND e.id IS NULL)
		FROM source_vaccinations sv
		LEFT JOIN vaccination_events e ON e.id = sv.event_id
		GROUP BY sv.facility, sv.control_id`)
	if err != nil {
		return snap, fmt.Errorf("registry: source_vaccinations: %w", err)
	}
	for rows.Next() {
		var k msgKey
		var n, ev, orphan int
		if err := rows.Scan(&k.facility, &k.controlID, &n, &ev, &orphan); err != nil {
			rows.Close()
			return snap, fmt.Errorf("registry: source_vaccinations: %w", err)
		}
		st, ok := snap.reports[k]
		if !ok {
			// Dose rows without their report: count them as a rejected
			// report holding doses, which the reconciliation flags.
			st = storedReport{kind: "missing-report"}
		}
		st.doses, st.eventDoses, st.orphanDoses = n, ev, orphan
		snap.reports[k] = st
	}
	if err := rows.Err(); err != nil {
		return snap, fmt.Errorf("registry: source_vaccinations: %w", err)
	}

	scalars := []struct {
		dst *int64
		sql string
	}{
		{&snap.doseRows, `SELECT count(*) FROM source_vaccinations`},
		{&snap.events, `SELECT count(*) FROM vaccination_events`},
		{&snap.patients, `SELECT count(*) FROM patients`},
		{&snap.duplicates.Reports, `SELECT count(*) FROM (SELECT 1 FROM source_reports GROUP BY facility, control_id HAVING count(*) > 1) d`},
		{&snap.duplicates.Doses, `SELECT count(*) FROM (SELECT 1 FROM source_vaccinations GROUP BY facility, control_id, position HAVING count(*) > 1) d`},
		{&snap.duplicates.Winners, `SELECT count(*) FROM (SELECT 1 FROM source_vaccinations WHERE consolidation = 'winner' GROUP BY event_id HAVING count(*) > 1) d`},
		{&snap.duplicates.OrphanEvents, `SELECT count(*) FROM vaccination_events e LEFT JOIN source_vaccinations s ON s.id = e.id
			WHERE s.id IS NULL OR s.consolidation <> 'winner' OR s.event_id IS DISTINCT FROM e.id OR s.patient_id <> e.patient_id`},
		{&snap.duplicates.CrossPatient, `SELECT count(*) FROM source_vaccinations s JOIN vaccination_events e ON e.id = s.event_id
			WHERE s.consolidation IN ('winner', 'duplicate') AND e.patient_id <> s.patient_id`},
		{&snap.duplicates.SameDose, `SELECT count(*) FROM (SELECT 1 FROM vaccination_events GROUP BY patient_id, cvx, administered_on HAVING count(*) > 1) d`},
	}
	for _, q := range scalars {
		if err := conn.QueryRow(ctx, q.sql).Scan(q.dst); err != nil {
			return snap, fmt.Errorf("registry: %s: %w", q.sql, err)
		}
	}
	return snap, nil
}

// countReports returns the number of stored source reports.
func countReports(ctx context.Context, url string) (int64, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return 0, err
	}
	defer conn.Close(context.Background())
	var n int64
	err = conn.QueryRow(ctx, `SELECT count(*) FROM source_reports`).Scan(&n)
	return n, err
}
