package forecast

import (
	"sort"
	"time"
)

// Season is the span of one vaccine group's seasonal recommendations in a
// supporting-data release (CDC's seasonalRecommendation of its series
// doses): the earliest start and the latest end.
type Season struct {
	VaccineGroup string
	Start        Date // NoDate: no start given
	End          Date // NoDate: open-ended (the release sets no end)
}

// Seasons lists, per vaccine group with seasonal recommendations, the span
// its release covers, in vaccine group order. Past a season's End the
// group's doses stay due without dates until a release that carries the
// next season is loaded.
func (e *Engine) Seasons() []Season { return append([]Season(nil), e.seasons...) }

// SeasonsEnded returns the seasons that ended before day: the release
// says nothing about that day's season for those vaccine groups. None:
// the release covers day.
func SeasonsEnded(seasons []Season, day time.Time) []Season {
	d := DateOf(day)
	var out []Season
	for _, s := range seasons {
		if s.End != NoDate && d > s.End {
			out = append(out, s)
		}
	}
	return out
}

// seasonsOf collects each vaccine group's season from its series doses.
func seasonsOf(groups []*vaccineGroup, antigens []*antigen) []Season {
	byGroup := map[int]*Season{}
	open := map[int]bool{} // a seasonal dose without an end date
	for _, a := range antigens {
		for _, s := range a.series {
			for i := range s.doses {
				sd := &s.doses[i]
				if sd.seasonStart == NoDate && sd.seasonEnd == NoDate {
					continue
				}
				g := byGroup[a.vaccineGroupIdx]
				if g == nil {
					g = &Season{VaccineGroup: groups[a.vaccineGroupIdx].name, Start: sd.seasonStart}
					byGroup[a.vaccineGroupIdx] = g
				}
				if sd.seasonStart != NoDate && (g.Start == NoDate || sd.seasonStart < g.Start) {
					g.Start = sd.seasonStart
				}
				if sd.seasonEnd == NoDate {
					open[a.vaccineGroupIdx] = true
				} else if sd.seasonEnd > g.End {
					g.End = sd.seasonEnd
				}
			}
		}
	}
	idx := make([]int, 0, len(byGroup))
	for gi := range byGroup {
		idx = append(idx, gi)
	}
	sort.Ints(idx)
	out := make([]Season, 0, len(idx))
	for _, gi := range idx {
		s := *byGroup[gi]
		if open[gi] {
			s.End = NoDate
		}
		out = append(out, s)
	}
	return out
}
