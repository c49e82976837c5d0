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
package coverage
