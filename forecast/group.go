package forecast

// Vaccine group roll-up (CDSi logic specification chapter 9).

import (
	"strings"
)

// group rolls antigen outcomes up to a vaccine group (spec chapter 9).
// buf is empty with room for the group's doses (shared backing array).
func (st *state) group(g *vaccineGroup, ants []*antigenOutcome, buf []GroupDose) (GroupForecast, bool) {
	gf := GroupForecast{VaccineGroup: g.name}
	var presentBuf [4]*antigenOutcome
	present := presentBuf[:0]
	nd := 0
	for _, ai := range g.antigens {
		if o := ants[ai]; o != nil {
			nd += len(o.best.ad)
		}
	}
	if nd > 0 {
		gf.Doses = buf[:0:nd]
	}
	for _, ai := range g.antigens {
		if o := ants[ai]; o != nil {
			present = append(present, o)
		}
	}
	if len(present) == 0 {
		return gf, false
	}
	count := func(s SeriesStatus) int {
		n := 0
		for _, o := range present {
			if o.status == s {
				n++
			}
		}
		return n
	}
	switch {
	case count(Immune) == len(present):
		gf.Status = Immune
	case count(NotComplete) > 0:
		gf.Status = NotComplete
	case count(Contraindicated) > 0:
		gf.Status = Contraindicated
	case count(Complete)+count(Immune) == len(present):
		gf.Status = Complete
	case count(AgedOut) > 0:
		gf.Status = AgedOut
	default:
		gf.Status = NotRecommended
	}
	var reasonBuf [4]string
	reasons := reasonBuf[:0]
	if gf.Status == NotComplete {
		var e, r, p, l Date
		first := true
		for _, o := range present {
			if o.status != NotComplete {
				continue
			}
			b := o.best
			if first {
				e, r, p, l = b.earliest, b.rec, b.past, b.latest
				gf.DoseNumber = b.fdose
				first = false
				continue
			}
			if g.full {
				// The whole group is given together: no earlier than every
				// antigen allows, recommended and past due with the most
				// pressing antigen.
				e, r, p = maxD(e, b.earliest), minD(r, b.rec), minD(p, b.past)
				l = minD(l, b.latest)
			} else {
				if b.earliest < e {
					gf.DoseNumber = b.fdose
				}
				e, r, p = minD(e, b.earliest), minD(r, b.rec), minD(p, b.past)
				l = maxD(l, b.latest)
			}
		}
		// Nothing is forecast before the latest dose already given in the
		// group (e.g. a DT given as DTaP dose 5 still leaves pertussis due).
		for _, o := range present {
			for k := len(o.best.ad) - 1; k >= 0 && e != NoDate; k-- {
				if d := &st.doses[o.best.ad[k]]; !d.sub {
					e = maxD(e, d.date)
					break
				}
			}
		}
		if r < e {
			r = e
		}
		if p != NoDate && p < r {
			p = r
		}
		gf.Earliest, gf.Recommended, gf.PastDue, gf.Latest = e, r, p, l
	}
	for _, o := range present {
		if o.reason != "" {
			reasons = append(reasons, o.reason)
		}
	}
	gf.Reason = joinUnique(reasons)

	// Dose verdicts rolled up across the group's antigens.
	for _, ai := range g.antigens {
		o := ants[ai]
		if o == nil {
			continue
		}
		r := o.best
		for k, di := range r.ad {
			d := st.doses[di].idx
			status, why := r.st[k], st.reasonText(r, k)
			if status != Valid {
				// A dose that counts in the best series of another series
				// group (e.g. a PCV dose of a completed childhood series when
				// a risk series is being forecast) is reported valid.
				for _, b := range o.bests {
					if b != r && b.done() && b.st[k] == Valid {
						status, why = Valid, ""
						break
					}
				}
			}
			pos := -1
			for i := range gf.Doses {
				if gf.Doses[i].Dose == d {
					pos = i
					break
				}
			}
			if pos < 0 {
				gf.Doses = append(gf.Doses, GroupDose{Dose: d, Status: status, Reason: why})
				continue
			}
			cur := &gf.Doses[pos]
			if rank(status) > rank(cur.Status) {
				cur.Status, cur.Reason = status, why
			}
		}
	}
	sortGroupDoses(gf.Doses)
	return gf, true
}

func rank(s EvalStatus) int {
	switch s {
	case NotValid:
		return 3
	case SubStandard:
		return 2
	case Valid:
		return 1
	}
	return 0 // Extraneous
}

func sortGroupDoses(ds []GroupDose) {
	for i := 1; i < len(ds); i++ {
		for j := i; j > 0 && ds[j].Dose < ds[j-1].Dose; j-- {
			ds[j], ds[j-1] = ds[j-1], ds[j]
		}
	}
}

// joinUnique joins distinct strings with "; ".
func joinUnique(ss []string) string {
	switch len(ss) {
	case 0:
		return ""
	case 1:
		return ss[0]
	}
	var b strings.Builder
	for i, s := range ss {
		dup := false
		for _, p := range ss[:i] {
			if p == s {
				dup = true
				break
			}
		}
		if dup {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("; ")
		}
		b.WriteString(s)
	}
	return b.String()
}
