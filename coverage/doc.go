// Package coverage computes immunization coverage the way a CDC AFIX /
// IQIP assessment does (CoCASA's conventions), from the registry's
// consolidated records and the CDSi evaluation of package forecast.
//
// # Rules
//
// A child is up to date for the 4:3:1:3:3:1:4 series with 4 DTaP, 3 polio,
// 1 MMR, 3 HepB, a complete Hib series, 1 varicella and 4 PCV. Only doses
// the CDSi evaluation finds valid count:
//
//   - DTaP, polio, MMR, varicella and PCV: the number of valid doses of the
//     vaccine group (or the group's series complete).
//   - HepB and Hib: the CDSi series status "complete" on the assessment
//     date. For Hib that is 3 or 4 doses by product (fewer when started
//     late); for HepB a dose 3 given before 24 weeks of age is valid as dose
//     3 of CDSi's 4-dose series, which then wants a 4th: the child is not up
//     to date (the seed's most common invalid dose).
//   - Doses given on or after the 2nd birthday do not count for the "at 24
//     months" measure (Timing At24Months: the doses given before the 2nd
//     birthday, evaluated on it); the "at assessment date" measure
//     (AtAssessment) counts every dose given up to the assessment date.
//   - Evidence of immunity (CDSi series status immune: a history of
//     varicella disease, laboratory evidence for MMR or HepB, when reported
//     as an observation) makes the antigen up to date.
//   - A medical contraindication or permanent exemption (CDSi status
//     contraindicated) leaves the antigen not up to date; the child is
//     flagged Contraindicated and counted apart. A reported refusal (RXA-20
//     RE) flags the child Refused; it changes nothing else.
//   - Adolescents (13–17 years on the assessment date): 1 Tdap and 1
//     MenACWY, each a valid dose given at or after the 10th birthday (the
//     NIS-Teen convention), and HPV up to date (CDSi series complete: 2 or
//     3 doses by the age at the first).
//
// Every child not up to date carries its Gaps: for each measure missed,
// each dose that was not valid with the evaluation's reason, then what is
// missing.
//
// # Cohorts and attribution
//
// The AFIX cohort is the children 24 through 35 months old on the
// assessment date; a birth cohort is any range of birth dates; the
// adolescent cohort is 13 through 17 years. Merged-away and deceased
// patients are left out. A child belongs to the clinic that most recently
// reported a vaccination (or refusal) of the child, unless that clinic
// marked the child "moved or gone elsewhere" (MOGE,
// registry.Store.MarkMovedOrGoneElsewhere, with who and when): the child
// then belongs to the next most recent reporter that did not mark it, or
// to no clinic (still counted by town, county and statewide). Town and
// county are the latest reported address's.
//
// # Computation and scale
//
// registry.Store.Cohort streams the cohort in batches of 2,000 children
// (keyset by patient id, the next batch read while the current one is
// evaluated); Run evaluates each batch in GOMAXPROCS workers with
// forecast.(*Engine).FromRecord and the CDSi engine, as a query's
// forecast is, and merges per-worker tallies, so memory holds one batch
// and the children not up to date. Each child's evaluation is independent
// of every other's: past one machine, registry.CohortFilter's Partitions
// and Partition split the cohort by patient id modulo n, each machine (or
// process, against a read replica) computes its part, and the Tally values
// add up (Tally.Add is a sum; the lists concatenate). Nothing is shared
// between parts but the read-only registry.
//
// # Pages
//
// Pages serves /coverage (the form, each measure's count and rate with a
// link to its children, a bar chart by clinic and a trend by the month
// the children turned two, as server-side SVG; by county and town for
// program staff; CSV) and /coverage/children (the drill-down with each
// child's reasons; CSV). Clinic users and vaccine coordinators get their
// own clinic's report only; program staff any clinic, town, county or the
// state. Every run is written to the audit log (coverage-report, with the
// parameters and the number of children, no patient data).
package coverage
