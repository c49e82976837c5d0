package match

// Frequencies holds the relative frequency of first and last names in the
// population the registry matches against. Agreement on a rare name is
// stronger evidence than agreement on a common one: the agreement weight of
// a name is log2(m/u) with u its frequency (Fellegi–Sunter with frequency
// adjustment). Maps are keyed by the normalised name (upper-case letters).
// A Frequencies must not be modified once handed to New.
type Frequencies struct {
	First map[string]float64
	Last  map[string]float64
	// DefaultFirst and DefaultLast are used for names not in the maps
	// (their frequency is taken to be at most this value).
	DefaultFirst, DefaultLast float64
}

func (f *Frequencies) first(name string) float64 {
	if v, ok := f.First[name]; ok && v > f.DefaultFirst {
		return v
	}
	return f.DefaultFirst
}

func (f *Frequencies) last(name string) float64 {
	if v, ok := f.Last[name]; ok && v > f.DefaultLast {
		return v
	}
	return f.DefaultLast
}

// DefaultFrequencies returns a table of the most common US given names and
// surnames with approximate population shares (rounded from the published
// US Census Bureau surname tables and Social Security given-name counts;
// approximations, not copies), and defaults of 1/1000 for other given names
// and 1/3000 for other surnames. A registry should build its own with
// BuildFrequencies once it holds a population.
func DefaultFrequencies() *Frequencies {
	return &Frequencies{
		First: map[string]float64{
			"JAMES": 0.016, "JOHN": 0.015, "ROBERT": 0.015, "MICHAEL": 0.016, "WILLIAM": 0.012, "DAVID": 0.012,
			"RICHARD": 0.007, "JOSEPH": 0.007, "THOMAS": 0.006, "CHARLES": 0.006, "CHRISTOPHER": 0.006,
			"DANIEL": 0.006, "MATTHEW": 0.005, "ANTHONY": 0.004, "JOSHUA": 0.004, "ANDREW": 0.004,
			"MARY": 0.013, "PATRICIA": 0.005, "JENNIFER": 0.005, "LINDA": 0.005, "ELIZABETH": 0.005,
			"BARBARA": 0.004, "SUSAN": 0.004, "JESSICA": 0.004, "SARAH": 0.004, "KAREN": 0.003,
			"EMMA": 0.003, "OLIVIA": 0.003, "SOPHIA": 0.003, "ISABELLA": 0.003, "AVA": 0.003,
			"NOAH": 0.003, "LIAM": 0.003, "ETHAN": 0.003, "MASON": 0.003, "JACOB": 0.004,
		},
		Last: map[string]float64{
			"SMITH": 0.0088, "JOHNSON": 0.0069, "WILLIAMS": 0.0057, "BROWN": 0.0051, "JONES": 0.0050,
			"GARCIA": 0.0040, "MILLER": 0.0039, "DAVIS": 0.0037, "RODRIGUEZ": 0.0036, "MARTINEZ": 0.0035,
			"HERNANDEZ": 0.0034, "LOPEZ": 0.0027, "GONZALEZ": 0.0026, "WILSON": 0.0026, "ANDERSON": 0.0025,
			"THOMAS": 0.0024, "TAYLOR": 0.0024, "MOORE": 0.0023, "JACKSON": 0.0023, "MARTIN": 0.0023,
			"LEE": 0.0022, "PEREZ": 0.0021, "THOMPSON": 0.0021, "WHITE": 0.0021, "HARRIS": 0.0020,
			"SANCHEZ": 0.0020, "CLARK": 0.0018, "RAMIREZ": 0.0018, "LEWIS": 0.0017, "ROBINSON": 0.0017,
			"NGUYEN": 0.0016, "WALKER": 0.0016, "YOUNG": 0.0015, "ALLEN": 0.0015, "KING": 0.0015,
		},
		DefaultFirst: 1.0 / 1000,
		DefaultLast:  1.0 / 2000,
	}
}

// BuildFrequencies counts the normalised first and last names of a
// population (records must have been normalised). Names seen fewer than
// minCount times fall back to the defaults, which are set to the frequency
// of a name seen minCount times (but at least 1/100000).
func BuildFrequencies(population []*Record, minCount int) *Frequencies {
	if minCount < 1 {
		minCount = 1
	}
	fc := map[string]int{}
	lc := map[string]int{}
	total := 0
	for _, r := range population {
		n := &r.n
		if !n.done {
			nn := normalize(r)
			n = &nn
		}
		if n.first != "" {
			fc[n.first]++
		}
		if n.last != "" {
			lc[n.last]++
		}
		total++
	}
	f := &Frequencies{First: map[string]float64{}, Last: map[string]float64{}}
	if total == 0 {
		return DefaultFrequencies()
	}
	floor := max(float64(minCount)/float64(total), 1e-5)
	f.DefaultFirst, f.DefaultLast = floor, floor
	for k, c := range fc {
		if c >= minCount {
			f.First[k] = float64(c) / float64(total)
		}
	}
	for k, c := range lc {
		if c >= minCount {
			f.Last[k] = float64(c) / float64(total)
		}
	}
	return f
}
