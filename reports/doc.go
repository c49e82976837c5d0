// Package reports runs population reports in the background and keeps
// their results: a run is started on demand from /reports (or the
// coverage page's "Run in the background" button) or by a schedule
// inside iisd; its progress, parameters, the data version it was
// computed on (the newest source report when it started), its CSV and a
// JSON summary are stored in the registry's report_runs table and listed
// at /reports for download later. Each run is audited. A clinic user sees
// their clinic's runs; program staff see all.
//
// Scheduled runs happen once across several iisd replicas: each replica's
// Scheduler, at a slot's time, claims the slot in one transaction that
// takes pg_try_advisory_xact_lock on a key derived from (kind, schedule,
// slot) and inserts the slot's row, unique on (schedule, slot); a replica
// that finds the lock taken or the row there skips the slot. PostgreSQL
// is already every replica's shared state and the result lands there, so
// this needs no other moving part: river would add a job library with
// its own tables, migrations and worker pool for a handful of runs a
// month, and JetStream would add a second system whose delivery must then
// be reconciled with the row the result is stored in.
package reports
