// Package consolidate turns the vaccination reports a registry received for
// one patient into consolidated vaccination events, following the AIRA/MIROW
// best practices for vaccination event de-duplication.
//
// Consolidate is a pure function of the set of reports: it sorts everything
// it needs by keys carried in the reports themselves, so the result never
// depends on the order in which the reports arrived. The registry calls it on
// every write with all of a patient's source rows and replaces the patient's
// events with the result.
//
// The rules, in the order they apply:
//
//  1. Updates and deletions (RXA-21 U and D) apply to the earlier reports of
//     the same source: the same sending facility and the same ORC-3 filler
//     order. Within such a chain the reports are ordered by message time
//     (MSH-7), then action (A, U, D: NIST's AD-3 and AD-4 share MSH-7),
//     receipt time, control id and position; an A or U
//     replaces the current version, a D removes it. A D without a filler
//     order matches nothing; a U without one counts as an A.
//  2. Refusals (RXA-20 RE), doses not administered (NA) and the
//     no-vaccine code 998 are kept as reports but are not vaccination
//     events.
//  3. The remaining reports are ranked best first: administered before
//     historical, a specific CVX before an unspecified formulation (140
//     before 88), a report with lot number and manufacturer before one with
//     one of them before one with neither; ties go to the earlier message.
//  4. In that order each report joins the first event whose winning report
//     it duplicates, or starts a new event. Two reports are duplicates when
//     they share a vaccine group (CDC's CVX→group table; a combination
//     vaccine belongs to several) and their dates are within that group's
//     window (see Windows), unless both are administered (not historical)
//     reports from the same facility on different dates — a clinic knows
//     what it gave — or they come from the same message.
package consolidate

import (
	"cmp"
	"slices"
	"time"

	"github.com/iisproject/iis/codeset"
)

// Report is one reported vaccination (an accepted RXA group) as the
// registry stored it.
type Report struct {
	ID          int64 // the store's id of the source row; last tie-breaker
	Facility    string
	ControlID   string // MSH-10
	Position    int    // RXA ordinal in the message
	MessageTime time.Time
	Received    time.Time
	FillerOrder string // ORC-3 (value^namespace); empty if not sent

	CVX        string
	NDC        string    // RXA-5 NDC, used when no CVX is known
	Date       time.Time // RXA-3, date only
	Lot        string
	MVX        string
	Historical bool
	Action     string // RXA-21: A, U, D ("" means A)
	Completion string // RXA-20: CP, PA, RE, NA ("" means CP)
}

// Event is one consolidated vaccination event: a dose the patient received.
type Event struct {
	Winner  int64   // ID of the report whose values the event carries
	Sources []int64 // IDs of every report consolidated into it, winner first
	Groups  []string
	CVX     string
	Date    time.Time
	Lot     string
	MVX     string
	// Historical is true when no administering provider reported the dose.
	Historical bool
}

// Actions counts what consolidation did, for metrics.
type Actions struct {
	Events     int // events produced
	Duplicates int // reports folded into another report's event
	Updated    int // reports replaced by a later update from the same source
	Deleted    int // reports removed by a deletion from the same source
	NotEvents  int // refusals, not-administered and 998 reports
}

// Result is the outcome of Consolidate.
type Result struct {
	Events []Event
	// NotEvents are the IDs of the refusals, not-administered and 998
	// reports that stand (not updated or deleted by a later report of
	// their source).
	NotEvents []int64
	Actions   Actions
}

// Windows are the de-duplication windows in days per CDC vaccine group: two
// reports of the same group whose dates differ by at most the window may be
// the same dose. They are the group's shortest minimum interval between
// doses less CDSi's 4-day grace period, so that two doses that could both
// count are never merged; groups with rapid schedules get short windows.
// Groups not listed use DefaultWindow; a CVX without a group (or an NDC
// without a CVX) only matches the same code on the same date.
var defaultWindows = map[string]int{
	"COVID-19":                17, // 3-week primary interval
	"RABIES":                  2,  // days 0, 3, 7, 14
	"VEE":                     3,  // days 0, 7, 28
	"TYPHOID":                 1,  // oral capsules every other day
	"ANTHRAX":                 10,
	"Tick-borne encephalitis": 10, // rapid schedule, 14 days
	"H1N1 flu":                24,
}

// DefaultWindow is the window of a group without its own: the common
// 4-week minimum interval less the 4-day grace period.
const DefaultWindow = 24

// Consolidator applies the rules with a code set's vaccine groups.
type Consolidator struct {
	codes   *codeset.Set
	windows map[string]int
}

// New returns a Consolidator using codes (codeset.Default() if nil).
func New(codes *codeset.Set) *Consolidator {
	if codes == nil {
		codes = codeset.Default()
	}
	return &Consolidator{codes: codes, windows: defaultWindows}
}

// Window returns the de-duplication window of a vaccine group, in days.
func (c *Consolidator) Window(group string) int {
	if w, ok := c.windows[group]; ok {
		return w
	}
	return DefaultWindow
}

type candidate struct {
	r           *Report
	groups      []string
	unspecified bool
}

// Consolidate computes the events of one patient from all its reports.
func (c *Consolidator) Consolidate(reports []Report) Result {
	var res Result
	current := c.applyActions(reports, &res.Actions)

	cands := make([]candidate, 0, len(current))
	for _, r := range current {
		if r.Completion == "RE" || r.Completion == "NA" || r.CVX == codeset.CVXNoVaccineAdministered || r.Date.IsZero() {
			res.Actions.NotEvents++
			res.NotEvents = append(res.NotEvents, r.ID)
			continue
		}
		cd := candidate{r: r}
		if v, ok := c.codes.Vaccine(r.CVX); ok && len(v.Groups) > 0 {
			cd.unspecified = v.Unspecified
			for _, g := range v.Groups {
				cd.groups = append(cd.groups, g.Name)
			}
		} else if r.CVX == "" && r.NDC != "" {
			cd.groups = []string{"NDC:" + r.NDC}
		} else {
			cd.groups = []string{"CVX:" + r.CVX}
		}
		cands = append(cands, cd)
	}
	slices.SortFunc(cands, compareRank)

	type cluster struct {
		win  candidate
		srcs []*Report
	}
	var clusters []*cluster
next:
	for _, cd := range cands {
		for _, cl := range clusters {
			if c.duplicates(cl.win, cd) && !sameMessage(cl.srcs, cd.r) {
				cl.srcs = append(cl.srcs, cd.r)
				res.Actions.Duplicates++
				continue next
			}
		}
		clusters = append(clusters, &cluster{win: cd, srcs: []*Report{cd.r}})
	}
	res.Events = make([]Event, 0, len(clusters))
	for _, cl := range clusters {
		w := cl.win.r
		e := Event{Winner: w.ID, Groups: cl.win.groups, CVX: w.CVX, Date: w.Date, Lot: w.Lot, MVX: w.MVX, Historical: true}
		for _, s := range cl.srcs {
			e.Sources = append(e.Sources, s.ID)
			if !s.Historical {
				e.Historical = false
			}
		}
		res.Events = append(res.Events, e)
	}
	slices.SortStableFunc(res.Events, func(a, b Event) int {
		if c := a.Date.Compare(b.Date); c != 0 {
			return c
		}
		return cmp.Compare(a.Winner, b.Winner)
	})
	res.Actions.Events = len(res.Events)
	return res
}

// applyActions folds each (facility, filler order) chain of A/U/D reports
// into its current version and returns the reports that stand.
func (c *Consolidator) applyActions(reports []Report, acts *Actions) []*Report {
	out := make([]*Report, 0, len(reports))
	type key struct{ facility, filler string }
	chains := map[key][]*Report{}
	for i := range reports {
		r := &reports[i]
		if r.FillerOrder == "" {
			if r.Action == "D" {
				// A deletion that names no dose deletes nothing.
				continue
			}
			out = append(out, r)
			continue
		}
		k := key{r.Facility, r.FillerOrder}
		chains[k] = append(chains[k], r)
	}
	for _, chain := range chains {
		slices.SortFunc(chain, compareSourceOrder)
		var cur *Report
		for _, r := range chain {
			switch r.Action {
			case "D":
				if cur != nil {
					acts.Deleted++
				}
				cur = nil
			case "U":
				if cur != nil {
					acts.Updated++
				}
				cur = r
			default:
				if cur != nil {
					// A resend of the same filler order replaces the
					// earlier report as an update would.
					acts.Updated++
				}
				cur = r
			}
		}
		if cur != nil {
			out = append(out, cur)
		}
	}
	return out
}

// compareSourceOrder orders the reports of one source chain by when the
// sender produced them.
func compareSourceOrder(a, b *Report) int {
	if c := a.MessageTime.Compare(b.MessageTime); c != 0 {
		return c
	}
	// Same message time (NIST's AD-3 and AD-4 share MSH-7): an add comes
	// before an update, an update before a delete.
	if c := cmp.Compare(actionRank(a.Action), actionRank(b.Action)); c != 0 {
		return c
	}
	if c := a.Received.Compare(b.Received); c != 0 {
		return c
	}
	if c := cmp.Compare(a.ControlID, b.ControlID); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Position, b.Position); c != 0 {
		return c
	}
	return cmp.Compare(a.ID, b.ID)
}

func actionRank(a string) int {
	switch a {
	case "U":
		return 1
	case "D":
		return 2
	}
	return 0
}

// quality ranks what a report tells about the dose: lot and manufacturer.
func quality(r *Report) int {
	q := 0
	if r.Lot != "" {
		q++
	}
	if r.MVX != "" {
		q++
	}
	return q
}

// compareRank orders candidates best first (rule 3).
func compareRank(a, b candidate) int {
	if a.r.Historical != b.r.Historical {
		if !a.r.Historical {
			return -1
		}
		return 1
	}
	if a.unspecified != b.unspecified {
		if !a.unspecified {
			return -1
		}
		return 1
	}
	if qa, qb := quality(a.r), quality(b.r); qa != qb {
		return qb - qa
	}
	return compareSourceOrder(a.r, b.r)
}

// duplicates reports whether cd is the same dose as the event won by w.
func (c *Consolidator) duplicates(w, cd candidate) bool {
	days := int(absDuration(w.r.Date.Sub(cd.r.Date)) / (24 * time.Hour))
	if days > 0 && !w.r.Historical && !cd.r.Historical && w.r.Facility == cd.r.Facility {
		return false
	}
	for _, g := range w.groups {
		if !slices.Contains(cd.groups, g) {
			continue
		}
		win := 0
		if len(g) < 4 || (g[:4] != "CVX:" && g[:4] != "NDC:") {
			win = c.Window(g)
		}
		if days <= win {
			return true
		}
	}
	return false
}

func sameMessage(srcs []*Report, r *Report) bool {
	for _, s := range srcs {
		if s.Facility == r.Facility && s.ControlID == r.ControlID {
			return true
		}
	}
	return false
}

func absDuration(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}
