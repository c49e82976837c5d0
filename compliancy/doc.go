// Package compliancy makes the lists a clinic answers by sending the
// histories the registry is missing, and the state program's outreach
// lists:
//
//   - Monthly, per pediatric clinic: the children who turned 8 months or
//     20 months old in a chosen month and were not up to date for their
//     age on that day (Monthly).
//   - Yearly, per clinic: the 2-year-old clean-up ("Goldenrod") list: the
//     children who turn 2 in the chosen year (up to the day the list is
//     run) and are not up to date for the 4:3:1:3:3:1:4 series by their
//     2nd birthday, as package coverage assesses one child (Goldenrod).
//   - For the Immunization Action Plan (IAP) coordinators: the late
//     children of the state, by town, grouped by IAP area with the town →
//     area map the program edits (registry.Store.IAPAreas; Outreach).
//
// # Up to date for age
//
// A child is up to date for their age on a day when, in the CDSi forecast
// computed as of that day from the doses given on or before it, no
// childhood vaccine group (ChildhoodGroups: DTaP, polio, Hib, HepB,
// pneumococcal, rotavirus, MMR, varicella, HepA) is overdue: a group is
// overdue when its series is not complete and the forecast's past-due
// date of the next dose has been reached. A group complete, immune,
// contraindicated, aged out or with no series for the child is not
// overdue; influenza and COVID-19 (seasonal) are not counted. What is
// missing is each overdue group with the dose due and its past-due date.
// The day a child reaches n months is the birth date plus n calendar
// months (a child born on 31 January reaches 8 months on 1 October).
//
// The children of a clinic are those the coverage report attributes to
// it (registry.CohortChild.Facility: the clinic that most recently
// reported the child, unless it marked the child moved or gone
// elsewhere). An opted-out or protected child is named to program staff
// only; a clinic sees what is missing without the name.
//
// # Pages
//
// Pages serves /compliancy (the monthly list), /compliancy/goldenrod (the
// yearly list), /compliancy/outreach and /compliancy/iap (program staff
// only: the outreach lists and the town → area map), each list also as
// CSV. Clinic users and vaccine coordinators get their own clinic's lists;
// program staff any clinic's. Every run is written to the audit log
// (compliancy-report, with the parameters and the number of children).
package compliancy
