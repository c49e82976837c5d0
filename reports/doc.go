// Package reports runs population reports in the background and keeps
// their results. Each kind of report is a Report (coverage: Coverage;
// reminder/recall: Recall; the monthly 8- and 20-month list, the yearly
// Goldenrod list and the statewide IAP outreach list: Compliancy), which
// reads its stored JSON parameters into a Plan that computes a Result: a
// CSV, a JSON summary and files (a coverage run's drill-down, the
// children behind every figure and why each is not up to date; a recall
// run's letters, each family's in its language, and mailing labels).
//
// A run is started on demand from /reports (or the coverage page's "Run
// in the background" button) or by a schedule inside iisd; its progress,
// parameters, the data version it was computed on (the newest source
// report when it started), its CSV, summary and files are stored in the
// registry's report_runs and report_run_files tables and listed at
// /reports for download later. Each run, download and view is audited; a
// recall run's downloads are recorded as disclosures of the children
// listed. A clinic user sees their clinic's runs, without the names of
// children who opted out or are protected; program staff see all.
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
