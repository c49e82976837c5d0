package forecast

import (
	"encoding/xml"
	"fmt"
	"io/fs"
	"path"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// compiler collects the first error met while converting text fields, so
// the conversion code stays linear.
type compiler struct {
	where string
	err   error
	durs  []Duration       // every distinct duration, indexed by span.text
	durAt map[string]int32 // duration text → index in durs
}

func (c *compiler) fail(format string, args ...any) {
	if c.err == nil {
		c.err = fmt.Errorf("%s: "+format, append([]any{c.where}, args...)...)
	}
}

func (c *compiler) dur(s string) span {
	d, err := ParseDuration(s)
	if err != nil {
		c.fail("%v", err)
	}
	if !d.Set {
		return span{}
	}
	i, ok := c.durAt[d.Text]
	if !ok || c.durs[i] != d {
		i = int32(len(c.durs))
		c.durs = append(c.durs, d)
		if !ok {
			if c.durAt == nil {
				c.durAt = map[string]int32{}
			}
			c.durAt[d.Text] = i
		}
	}
	return span{Months: int32(d.Months), Days: int32(d.Days), Set: true, text: i}
}

func (c *compiler) date(s string) Date {
	s = strings.TrimSpace(s)
	if s == "" || strings.EqualFold(s, "n/a") {
		return NoDate
	}
	d, err := ParseDate(s)
	if err != nil {
		c.fail("%v", err)
	}
	return d
}

// code parses a numeric code (CVX or observation code); empty gives 0, ok=false.
func code(s string) (int, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

func (c *compiler) cvx(s string) int {
	n, ok := code(s)
	if !ok || n >= maxCVX {
		c.fail("bad CVX %q", s)
		return 0
	}
	return n
}

func (c *compiler) obs(s string) int {
	n, ok := code(s)
	if !ok || n >= maxObs {
		c.fail("bad observation code %q", s)
		return 0
	}
	return n
}

func yes(s string) bool {
	s = strings.TrimSpace(strings.ToLower(s))
	return s == "yes" || s == "y" || s == "true"
}

func splitList(s string) []string {
	f := strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == ',' || r == ' ' })
	return f
}

// New loads a CDC supporting-data release from fsys: the file
// ScheduleSupportingData.xml and every AntigenSupportingData*.xml at its
// root. The result is immutable and safe for concurrent use.
func New(fsys fs.FS) (*Engine, error) {
	raw, err := fs.ReadFile(fsys, "ScheduleSupportingData.xml")
	if err != nil {
		return nil, fmt.Errorf("forecast: read schedule: %w", err)
	}
	var sched xSchedule
	if err := xml.Unmarshal(raw, &sched); err != nil {
		return nil, fmt.Errorf("forecast: parse ScheduleSupportingData.xml: %w", err)
	}
	names, err := fs.Glob(fsys, "AntigenSupportingData*.xml")
	if err != nil {
		return nil, fmt.Errorf("forecast: list antigen files: %w", err)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("forecast: no AntigenSupportingData*.xml files")
	}
	sort.Strings(names)
	var xants []xAntigen
	for _, n := range names {
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, fmt.Errorf("forecast: read %s: %w", n, err)
		}
		var a xAntigen
		if err := xml.Unmarshal(b, &a); err != nil {
			return nil, fmt.Errorf("forecast: parse %s: %w", path.Base(n), err)
		}
		if len(a.Series) == 0 {
			return nil, fmt.Errorf("forecast: %s has no series", n)
		}
		xants = append(xants, a)
	}
	if v, err := fs.ReadFile(fsys, "VERSION.txt"); err == nil {
		first, _, _ := strings.Cut(string(v), "\n")
		return compile(&sched, xants, strings.TrimSpace(first))
	}
	return compile(&sched, xants, "")
}

func compile(sched *xSchedule, xants []xAntigen, version string) (*Engine, error) {
	e := &Engine{version: version, antigenByName: map[string]int{}, groupByName: map[string]int{}, obsByCode: map[string]string{}}
	c := &compiler{where: "ScheduleSupportingData.xml", durs: []Duration{{}}}

	// Vaccine groups and their antigens.
	full := map[string]bool{}
	for _, g := range sched.VaccineGroups {
		full[strings.TrimSpace(g.Name)] = yes(g.AdministerFullVaccineGroup)
	}
	antigenGroup := map[string]int{}
	for _, gm := range sched.GroupMaps {
		name := strings.TrimSpace(gm.Name)
		g := &vaccineGroup{name: name, full: full[name]}
		e.groupByName[strings.ToLower(name)] = len(e.groups)
		for _, a := range gm.Antigens {
			antigenGroup[strings.TrimSpace(a)] = len(e.groups)
		}
		e.groups = append(e.groups, g)
	}

	// Antigens.
	for _, xa := range xants {
		name := strings.TrimSpace(xa.Series[0].TargetDisease)
		c.where = "antigen " + name
		gi, ok := antigenGroup[name]
		if !ok {
			return nil, fmt.Errorf("forecast: antigen %q is in no vaccine group", name)
		}
		a := &antigen{name: name, vaccineGroupIdx: gi}
		ai := len(e.antigens)
		e.antigenByName[strings.ToLower(name)] = ai
		e.groups[gi].antigens = append(e.groups[gi].antigens, ai)
		for _, h := range xa.Immunity.ClinicalHistory {
			if n, ok := code(h.Code); ok {
				a.immunityCodes = append(a.immunityCodes, n)
			}
		}
		for _, d := range xa.Immunity.DateOfBirth {
			im := immunityDOB{before: c.date(d.ImmunityBirthDate), country: strings.TrimSpace(d.BirthCountry)}
			for _, x := range d.Exclusions {
				if n, ok := code(x.Code); ok {
					im.exclusions = append(im.exclusions, n)
				}
			}
			if im.before != NoDate {
				a.immunityDOB = append(a.immunityDOB, im)
			}
		}
		for _, xc := range xa.GroupContraindications {
			a.groupContra = append(a.groupContra, contraindication{code: c.obs(xc.Code), title: strings.TrimSpace(xc.Title),
				text: strings.TrimSpace(xc.Text), begin: c.dur(xc.BeginAge), end: c.dur(xc.EndAge)})
		}
		for _, xc := range xa.VaccineContraindications {
			ct := contraindication{code: c.obs(xc.Code), title: strings.TrimSpace(xc.Title), text: strings.TrimSpace(xc.Text)}
			for _, v := range xc.Vaccines {
				ct.cvx = append(ct.cvx, vaccineRule{cvx: c.cvx(v.CVX), name: strings.TrimSpace(v.VaccineType), begin: c.dur(v.BeginAge), end: c.dur(v.EndAge)})
			}
			a.vaccineContra = append(a.vaccineContra, ct)
		}
		for _, xs := range xa.Series {
			c.where = "series " + xs.Name
			a.series = append(a.series, c.series(xs, ai))
		}
		sort.SliceStable(a.series, func(i, j int) bool { return a.series[i].group < a.series[j].group })
		e.nSeries += len(a.series)
		e.antigens = append(e.antigens, a)
	}
	c.where = "ScheduleSupportingData.xml"

	// CVX to antigen map.
	for _, m := range sched.CVXMaps {
		cv := c.cvx(m.CVX)
		e.cvxName[cv] = strings.TrimSpace(m.ShortDescription)
		for _, as := range m.Associations {
			ai, ok := e.antigenByName[strings.ToLower(strings.TrimSpace(as.Antigen))]
			if !ok {
				return nil, fmt.Errorf("forecast: CVX %s maps to unknown antigen %q", m.CVX, as.Antigen)
			}
			e.cvxAntigens[cv] = append(e.cvxAntigens[cv], cvxAssoc{antigen: ai, begin: c.dur(as.BeginAge), end: c.dur(as.EndAge)})
		}
	}
	// Live virus conflicts, indexed by the current vaccine.
	for _, lv := range sched.LiveVirusConflicts {
		cur := c.cvx(lv.Current.CVX)
		prev := c.cvx(lv.Previous.CVX)
		e.live[cur] = append(e.live[cur], liveConflict{prev: prev, begin: c.dur(lv.ConflictBegin),
			minEnd: c.dur(lv.MinConflictEnd), end: c.dur(lv.ConflictEnd)})
		e.liveFrom[cur].add(prev)
	}
	for _, a := range e.antigens {
		for _, s := range a.series {
			for i := range s.doses {
				sd := &s.doses[i]
				sd.liveCVX = -1
				for _, v := range sd.preferable {
					if len(e.live[v.cvx]) > 0 {
						sd.liveCVX = v.cvx
						break
					}
				}
			}
		}
	}
	for _, o := range sched.Observations {
		if n, ok := code(o.Code); ok && n < maxObs {
			e.obsTitle[n] = strings.TrimSpace(o.Title)
			for _, cv := range o.CodedValues {
				if c := strings.TrimSpace(cv.Code); c != "" {
					e.obsByCode[c] = strings.TrimSpace(o.Code)
				}
			}
		}
	}
	if c.err != nil {
		return nil, fmt.Errorf("forecast: %w", c.err)
	}
	e.durs = c.durs
	e.seasons = seasonsOf(e.groups, e.antigens)
	for ai, a := range e.antigens {
		a.twin = -1
		for bi, b := range e.antigens[:ai] {
			if b.twin >= 0 {
				continue
			}
			if differ, ok := sameRules(a, b); ok {
				a.twin, a.twinDiffer = bi, differ
				break
			}
		}
	}
	return e, nil
}

// sameRules reports whether antigens a and b are in the same vaccine group
// and have, series by series, the same rules (names and the texts built
// from them aside) once the vaccines that only one of them mentions,
// returned in differ, are left out.
func sameRules(a, b *antigen) (differ cvxSet, ok bool) {
	if a.vaccineGroupIdx != b.vaccineGroupIdx || len(a.series) != len(b.series) {
		return differ, false
	}
	var ma, mb cvxSet
	for i := range a.series {
		mentioned(a.series[i], &ma)
		mentioned(b.series[i], &mb)
	}
	for i := range differ {
		differ[i] = ma[i] ^ mb[i]
	}
	for i := range a.series {
		x, y := withoutVaccines(a.series[i], &differ), withoutVaccines(b.series[i], &differ)
		if !reflect.DeepEqual(x, y) {
			return differ, false
		}
	}
	return differ, true
}

// mentioned adds to m every vaccine the rules of series s name.
func mentioned(s *series, m *cvxSet) {
	or := func(c *cvxSet) {
		for i := range m {
			m[i] |= c[i]
		}
	}
	or(&s.vaccines)
	for _, d := range s.doses {
		or(&d.inadvertent)
		for _, v := range d.preferable {
			m.add(v.cvx)
		}
		for _, v := range d.allowable {
			m.add(v.cvx)
		}
		for _, iv := range d.intervals {
			or(&iv.fromMostRecent)
		}
		for _, iv := range d.allowInts {
			or(&iv.fromMostRecent)
		}
		for _, sk := range d.skips {
			for _, set := range sk.sets {
				for _, c := range set.conds {
					or(&c.cvx)
				}
			}
		}
	}
}

// withoutVaccines is a deep copy of s without its names and the texts
// built from them, and without the vaccines in drop.
func withoutVaccines(s *series, drop *cvxSet) series {
	and := func(c cvxSet) cvxSet {
		for i := range c {
			c[i] &^= drop[i]
		}
		return c
	}
	rules := func(vs []vaccineRule) []vaccineRule {
		var out []vaccineRule
		for _, v := range vs {
			if !drop.has(v.cvx) {
				out = append(out, v)
			}
		}
		return out
	}
	intervals := func(ivs []intervalRule) []intervalRule {
		out := make([]intervalRule, len(ivs))
		for i, iv := range ivs {
			iv.fromMostRecent = and(iv.fromMostRecent)
			out[i] = iv
		}
		return out
	}
	x := *s
	x.name, x.antigen = "", 0
	x.dueReasons, x.validReasons, x.validAllowReasons = nil, nil, nil
	x.vaccines = and(x.vaccines)
	x.doses = make([]seriesDose, len(s.doses))
	for i, d := range s.doses {
		d.inadvertent = and(d.inadvertent)
		d.preferable, d.allowable = rules(d.preferable), rules(d.allowable)
		d.intervals, d.allowInts = intervals(d.intervals), intervals(d.allowInts)
		skips := make([]skipRule, len(d.skips))
		for j, sk := range d.skips {
			sets := make([]skipSet, len(sk.sets))
			for k, set := range sk.sets {
				conds := make([]condition, len(set.conds))
				for l, c := range set.conds {
					c.cvx = and(c.cvx)
					conds[l] = c
				}
				set.conds = conds
				sets[k] = set
			}
			sk.sets = sets
			skips[j] = sk
		}
		d.skips = skips
		x.doses[i] = d
	}
	return x
}

func (c *compiler) series(xs xSeries, ai int) *series {
	s := &series{name: strings.TrimSpace(xs.Name), antigen: ai, vaccineGroup: strings.TrimSpace(xs.VaccineGroup)}
	switch strings.ToLower(strings.TrimSpace(xs.Type)) {
	case "risk":
		s.typ = seriesRisk
	case "evaluation only":
		s.typ = seriesEvaluationOnly
	default:
		s.typ = seriesStandard
	}
	s.group, _ = code(xs.Select.SeriesGroup)
	s.priority = 'A'
	if p := strings.TrimSpace(xs.Select.SeriesPriority); p != "" {
		s.priority = p[0]
	}
	s.preference, _ = code(xs.Select.SeriesPreference)
	if s.preference == 0 {
		s.preference = 99
	}
	s.isDefault = yes(xs.Select.DefaultSeries)
	s.product = yes(xs.Select.ProductPath)
	s.minStart = c.dur(xs.Select.MinAgeToStart)
	s.maxStart = c.dur(xs.Select.MaxAgeToStart)
	for _, g := range xs.RequiredGender {
		switch strings.ToLower(strings.TrimSpace(g)) {
		case "female":
			s.gender |= gFemale
		case "male":
			s.gender |= gMale
		case "unknown":
			s.gender |= gUnknown
		case "transgender":
			s.gender |= gTransgender
		}
	}
	for _, g := range splitList(xs.EquivalentSeriesGroups) {
		if n, ok := code(g); ok {
			s.equivalent = append(s.equivalent, n)
		}
	}
	for _, in := range xs.Indications {
		if n, ok := code(in.Code); ok {
			s.indications = append(s.indications, indication{code: n, desc: strings.TrimSpace(in.Text), begin: c.dur(in.BeginAge), end: c.dur(in.EndAge)})
		}
	}
	for i, xd := range xs.Doses {
		s.doses = append(s.doses, c.dose(xd, i+1))
	}
	for _, d := range s.doses {
		s.dueReasons = append(s.dueReasons, "dose "+strconv.Itoa(d.number)+" of "+s.name+" is due")
		s.validReasons = append(s.validReasons, "counts as dose "+strconv.Itoa(d.number)+" of "+s.name)
		s.validAllowReasons = append(s.validAllowReasons, "counts as dose "+strconv.Itoa(d.number)+" of "+s.name+" (allowable vaccine)")
		for _, v := range d.preferable {
			s.vaccines.add(v.cvx)
		}
		for _, v := range d.allowable {
			s.vaccines.add(v.cvx)
		}
	}
	return s
}

func (c *compiler) dose(xd xSeriesDose, n int) seriesDose {
	d := seriesDose{number: n, recurring: yes(xd.Recurring)}
	for _, a := range xd.Ages {
		d.ages = append(d.ages, ageRule{absMin: c.dur(a.AbsMinAge), min: c.dur(a.MinAge), earliestRec: c.dur(a.EarliestRecAge),
			latestRec: c.dur(a.LatestRecAge), max: c.dur(a.MaxAge), eff: c.date(a.EffectiveDate), cess: c.date(a.CessationDate)})
	}
	for _, x := range xd.Intervals {
		r := intervalRule{fromPrevious: yes(x.FromPrevious), absMin: c.dur(x.AbsMinInt), min: c.dur(x.MinInt),
			earliestRec: c.dur(x.EarliestRecInt), latestRec: c.dur(x.LatestRecInt),
			override: strings.EqualFold(strings.TrimSpace(x.Priority), "override"), eff: c.date(x.EffectiveDate), cess: c.date(x.CessationDate)}
		r.fromTarget, _ = code(x.FromTargetDose)
		for _, v := range splitList(x.FromMostRecent) {
			r.fromMostRecent.add(c.cvx(v))
			r.hasMostRecent = true
		}
		if n, ok := code(x.FromObsCode); ok {
			r.fromObs = n
			r.fromObsText = strings.TrimSpace(x.FromObsText)
		}
		if !r.fromPrevious && r.fromTarget == 0 && !r.hasMostRecent && r.fromObs == 0 {
			continue // an empty <interval/> element
		}
		d.intervals = append(d.intervals, r)
	}
	for _, x := range xd.AllowableIntervals {
		r := intervalRule{fromPrevious: yes(x.FromPrevious), absMin: c.dur(x.AbsMinInt), eff: c.date(x.EffectiveDate), cess: c.date(x.CessationDate)}
		r.fromTarget, _ = code(x.FromTargetDose)
		if !r.fromPrevious && r.fromTarget == 0 {
			continue
		}
		d.allowInts = append(d.allowInts, r)
	}
	for _, v := range xd.Preferable {
		if strings.TrimSpace(v.CVX) == "" {
			continue
		}
		d.preferable = append(d.preferable, vaccineRule{cvx: c.cvx(v.CVX), name: strings.TrimSpace(v.VaccineType), begin: c.dur(v.BeginAge),
			end: c.dur(v.EndAge), mvx: strings.TrimSpace(v.MVX), forecast: yes(v.ForecastVaccine)})
	}
	for _, v := range xd.Allowable {
		if strings.TrimSpace(v.CVX) == "" {
			continue
		}
		d.allowable = append(d.allowable, vaccineRule{cvx: c.cvx(v.CVX), name: strings.TrimSpace(v.VaccineType), begin: c.dur(v.BeginAge), end: c.dur(v.EndAge)})
	}
	for _, v := range xd.Inadvertent {
		if strings.TrimSpace(v.CVX) != "" {
			d.inadvertent.add(c.cvx(v.CVX))
		}
	}
	for _, xs := range xd.Skips {
		ctx := strings.ToLower(strings.TrimSpace(xs.Context))
		r := skipRule{evaluation: ctx == "evaluation" || ctx == "both", forecast: ctx == "forecast" || ctx == "both",
			and: strings.EqualFold(strings.TrimSpace(xs.SetLogic), "and")}
		for _, set := range xs.Sets {
			ss := skipSet{desc: strings.TrimSpace(set.Description), eff: c.date(set.EffectiveDate), cess: c.date(set.CessationDate),
				or: strings.EqualFold(strings.TrimSpace(set.ConditionLogic), "or")}
			for _, xc := range set.Conditions {
				cd := condition{start: c.date(xc.StartDate), end: c.date(xc.EndDate), beginAge: c.dur(xc.BeginAge),
					endAge: c.dur(xc.EndAge), interval: c.dur(xc.Interval)}
				switch strings.ToLower(strings.TrimSpace(xc.Type)) {
				case "age":
					cd.kind = condAge
				case "interval":
					cd.kind = condInterval
				case "vaccine count by age":
					cd.kind = condCountByAge
				case "vaccine count by date":
					cd.kind = condCountByDate
				case "vaccine count by date and age":
					cd.kind = condCountByDateAndAge
				case "completed series":
					cd.kind = condCompletedSeries
				default:
					cd.kind = condUnknown
				}
				cd.count, _ = code(xc.DoseCount)
				cd.validOnly = strings.EqualFold(strings.TrimSpace(xc.DoseType), "valid")
				switch strings.ToLower(strings.TrimSpace(xc.DoseCountLogic)) {
				case "equal to", "equal":
					cd.logic = countEqual
				case "less than":
					cd.logic = countLess
				default:
					cd.logic = countGreater
				}
				for _, v := range splitList(xc.VaccineTypes) {
					cd.cvx.add(c.cvx(v))
				}
				cd.anyCVX = cd.cvx.empty()
				for _, g := range splitList(xc.SeriesGroups) {
					if n, ok := code(g); ok {
						cd.groups = append(cd.groups, n)
					}
				}
				ss.conds = append(ss.conds, cd)
			}
			r.sets = append(r.sets, ss)
		}
		d.skips = append(d.skips, r)
	}
	d.seasonStart = c.date(xd.Season.StartDate)
	d.seasonEnd = c.date(xd.Season.EndDate)
	return d
}
