// Package synth generates synthetic patient populations with known truth
// for evaluating the matcher: households (mother, guardian, address, phone)
// with one to four children, twins among them, names drawn with a
// common-name skew, and a share of children re-reported by other
// facilities with realistic noise (typos, nicknames, swapped day and month,
// changed or hyphenated last names, moves, missing fields). Evaluate runs
// the matcher over the whole population through blocking, as a registry
// would, and counts precision and recall of automatic links.
package synth

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/iisproject/iis/match"
)

// Config sets the population's size and noise.
type Config struct {
	// Patients is the number of distinct children.
	Patients int
	// DuplicateRate is the share of children reported more than once.
	DuplicateRate float64
	// TwinRate is the share of births that are twins.
	TwinRate float64
	// Seed makes the population reproducible.
	Seed uint64
}

// DefaultConfig is a population of n children, 25% re-reported, 3% twins.
func DefaultConfig(n int) Config {
	return Config{Patients: n, DuplicateRate: 0.25, TwinRate: 0.03, Seed: 1}
}

// Population is a set of reports with the person each describes.
type Population struct {
	Records []*match.Record
	Person  []int32 // Person[i] is the true identity of Records[i]
	Twins   int     // number of twin pairs generated
	Noise   map[string]int
	// Applied[i] lists the perturbations applied to Records[i], in order
	// (empty for a report without any; missing fields that every report
	// may lack are not listed).
	Applied [][]string
	// TwinOf maps each twin's identity to the other twin's.
	TwinOf map[int32]int32
}

type household struct {
	last, motherFirst, motherMaiden, guardianFirst string
	addr                                           match.Address
	phone                                          string
	city                                           int
	clinics                                        [2]int // the facilities the family usually uses
}

type child struct {
	first, middle, last, sex string
	dob                      match.Date
	multi                    bool
	order                    int
	ssn, medicaid            string
	mrnSeed                  int
	h                        *household
}

type gen struct {
	r        *rand.Rand
	maleZ    *zipf
	femaleZ  *zipf
	surnameZ *zipf
	noise    map[string]int
}

// zipf draws indexes 0..n-1 with probability proportional to 1/(i+1)^s.
type zipf struct{ cum []float64 }

func newZipf(n int, s float64) *zipf {
	z := &zipf{cum: make([]float64, n)}
	t := 0.0
	for i := range n {
		t += 1 / math.Pow(float64(i+1), s)
		z.cum[i] = t
	}
	for i := range z.cum {
		z.cum[i] /= t
	}
	return z
}

func (z *zipf) draw(r *rand.Rand) int {
	u := r.Float64()
	lo, hi := 0, len(z.cum)-1
	for lo < hi {
		mid := (lo + hi) / 2
		if z.cum[mid] < u {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// Generate builds a population. The same Config always gives the same
// population.
func Generate(cfg Config) *Population {
	g := &gen{
		r:        rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		maleZ:    newZipf(len(maleNames), 0.9),
		femaleZ:  newZipf(len(femaleNames), 0.9),
		surnameZ: newZipf(len(surnames), 0.8),
		noise:    map[string]int{},
	}
	p := &Population{Noise: g.noise, TwinOf: map[int32]int32{}}
	var kids []*child
	for len(kids) < cfg.Patients {
		h := g.household()
		n := 1 + g.r.IntN(3)
		var family []*child
		for k := 0; k < n && len(kids) < cfg.Patients; k++ {
			c := g.child(h)
			// Parents do not give two children the same (or an
			// equivalent) given name.
			for taken(family, c.first) {
				c.first = g.firstName(c.sex)
			}
			family = append(family, c)
			kids = append(kids, c)
			if g.r.Float64() < cfg.TwinRate && len(kids) < cfg.Patients {
				t := g.child(h)
				t.dob = c.dob
				for taken(family, t.first) {
					t.first = g.firstName(t.sex)
				}
				family = append(family, t)
				c.multi, t.multi = true, true
				c.order, t.order = 1, 2
				kids = append(kids, t)
				p.TwinOf[int32(len(kids)-2)], p.TwinOf[int32(len(kids)-1)] = int32(len(kids)-1), int32(len(kids)-2)
				p.Twins++
			}
		}
	}
	for id, c := range kids {
		r, applied := g.report(c, false)
		p.add(r, id, applied)
		if g.r.Float64() < cfg.DuplicateRate {
			extra := 1
			if g.r.Float64() < 0.3 {
				extra = 2
			}
			for range extra {
				r, applied := g.report(c, true)
				p.add(r, id, applied)
			}
		}
	}
	// Reports arrive in no particular order.
	g.r.Shuffle(len(p.Records), func(i, j int) {
		p.Records[i], p.Records[j] = p.Records[j], p.Records[i]
		p.Person[i], p.Person[j] = p.Person[j], p.Person[i]
		p.Applied[i], p.Applied[j] = p.Applied[j], p.Applied[i]
	})
	for _, r := range p.Records {
		match.Normalize(r)
	}
	return p
}

func taken(family []*child, first string) bool {
	for _, c := range family {
		if c.first == first || match.Nicknames(c.first, first) {
			return true
		}
	}
	return false
}

func (p *Population) add(r *match.Record, id int, applied []string) {
	p.Records = append(p.Records, r)
	p.Person = append(p.Person, int32(id))
	p.Applied = append(p.Applied, applied)
}

// syllables build rare, pronounceable names for the long tail of the name
// distribution (most people do not have one of the few hundred commonest
// names).
var (
	onsets = []string{"b", "br", "c", "ch", "d", "dr", "f", "g", "gr", "h", "j", "k", "kr", "l", "m", "n", "p", "r", "s", "sh", "st", "t", "tr", "v", "w", "z"}
	vowels = []string{"a", "e", "i", "o", "u", "ai", "ea", "ou", "y"}
	codas  = []string{"", "n", "r", "l", "s", "th", "nd", "rt", "m", "x", "ck", "ll", "ng"}
)

func (g *gen) rareName(syl int) string {
	var b strings.Builder
	for i := range syl {
		b.WriteString(onsets[g.r.IntN(len(onsets))])
		b.WriteString(vowels[g.r.IntN(len(vowels))])
		if i == syl-1 || g.r.IntN(3) == 0 {
			b.WriteString(codas[g.r.IntN(len(codas))])
		}
	}
	s := b.String()
	return strings.ToUpper(s[:1]) + s[1:]
}

func (g *gen) surname() string {
	if g.r.Float64() < 0.45 {
		return g.rareName(2 + g.r.IntN(2))
	}
	return surnames[g.surnameZ.draw(g.r)]
}

func (g *gen) firstName(sex string) string {
	if g.r.Float64() < 0.35 {
		return g.rareName(2 + g.r.IntN(2))
	}
	if sex == "M" {
		return maleNames[g.maleZ.draw(g.r)]
	}
	return femaleNames[g.femaleZ.draw(g.r)]
}

func (g *gen) address() (match.Address, int) {
	ci := g.r.IntN(len(cities))
	c := cities[ci]
	return match.Address{
		Street1: fmt.Sprintf("%d %s %s", 1+g.r.IntN(9999), streetNames[g.r.IntN(len(streetNames))], streetTypes[g.r.IntN(len(streetTypes))]),
		City:    c.name, State: "MI", Zip: c.zip,
	}, ci
}

func (g *gen) phone(city int) string {
	return fmt.Sprintf("(%s)%03d-%04d", cities[city].area, 200+g.r.IntN(800), g.r.IntN(10000))
}

func (g *gen) household() *household {
	h := &household{
		last:         g.surname(),
		motherFirst:  g.firstName("F"),
		motherMaiden: g.surname(),
	}
	h.addr, h.city = g.address()
	h.phone = g.phone(h.city)
	h.clinics = [2]int{g.r.IntN(numFacilities), g.r.IntN(numFacilities)}
	h.guardianFirst = h.motherFirst
	if g.r.Float64() < 0.3 {
		h.guardianFirst = g.firstName("M")
	}
	return h
}

func (g *gen) child(h *household) *child {
	c := &child{h: h, sex: "F"}
	if g.r.IntN(2) == 0 {
		c.sex = "M"
	}
	c.first = g.firstName(c.sex)
	if g.r.Float64() < 0.7 {
		c.middle = g.firstName(c.sex)
	}
	c.last = h.last
	if g.r.Float64() < 0.05 {
		c.last = h.last + "-" + h.motherMaiden
	}
	y := 2008 + g.r.IntN(18)
	m := 1 + g.r.IntN(12)
	d := 1 + g.r.IntN(daysIn(y, m))
	c.dob = match.Date{Year: y, Month: m, Day: d}
	c.ssn = fmt.Sprintf("%03d%02d%04d", 1+g.r.IntN(665), 1+g.r.IntN(99), 1+g.r.IntN(9999))
	c.medicaid = fmt.Sprintf("%09d", g.r.IntN(1e9))
	c.mrnSeed = g.r.IntN(1 << 30)
	return c
}

// daysIn is the number of days of month m (1-12) of year y: day 0 of the
// next month is the last of this one.
func daysIn(y, m int) int {
	return time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// report writes one facility's report of child c; noisy reports get zero to
// three perturbations and the usual missing fields. It returns the
// perturbations applied.
func (g *gen) report(c *child, noisy bool) (*match.Record, []string) {
	h := c.h
	// Most reports come from the family's usual clinics, which keep one
	// MRN per child; some from anywhere else (pharmacies, schools, other
	// practices).
	fac := g.r.IntN(numFacilities)
	if g.r.Float64() < 0.6 {
		fac = h.clinics[g.r.IntN(2)]
	}
	facility := fmt.Sprintf("FAC%03d", fac)
	r := &match.Record{
		First: c.first, Middle: c.middle, Last: c.last, Sex: c.sex, BirthDate: c.dob,
		MotherMaidenName: h.motherMaiden, MotherFirst: h.motherFirst,
		Guardians: []match.PersonName{{First: h.guardianFirst, Last: h.last}},
		Phones:    []string{h.phone},
		Addresses: []match.Address{h.addr},
		Identifiers: []match.Identifier{
			{Value: fmt.Sprintf("%d", (c.mrnSeed*31+fac*7919)%10000000), Authority: facility, Type: match.IDMRN},
		},
	}
	if c.multi && g.r.Float64() < 0.6 {
		r.MultipleBirth = match.MultipleBirthYes
		r.BirthOrder = c.order
	}
	if g.r.Float64() < 0.3 {
		r.Identifiers = append(r.Identifiers, match.Identifier{Value: c.ssn, Type: match.IDSSN})
	}
	if g.r.Float64() < 0.3 {
		r.Identifiers = append(r.Identifiers, match.Identifier{Value: c.medicaid, Authority: "MIMEDICAID", Type: match.IDMedicaid})
	}
	// Fields that reports commonly leave out.
	g.drop(&r.Middle, 0.3)
	g.drop(&r.MotherMaidenName, 0.4)
	g.drop(&r.MotherFirst, 0.5)
	if g.r.Float64() < 0.4 {
		r.Guardians = nil
	}
	if g.r.Float64() < 0.2 {
		r.Phones = nil
	}
	if !noisy {
		return r, nil
	}
	// Most re-reports differ from the first in one detail or none; a few
	// in several.
	n := 0
	switch u := g.r.Float64(); {
	case u < 0.30:
		n = 0
	case u < 0.75:
		n = 1
	case u < 0.95:
		n = 2
	default:
		n = 3
	}
	var applied []string
	for range n {
		applied = append(applied, g.perturb(r, c))
	}
	return r, applied
}

func (g *gen) drop(s *string, p float64) {
	if g.r.Float64() < p {
		*s = ""
	}
}

var perturbations = []struct {
	name   string
	weight float64
}{
	{"first-typo", 10}, {"first-nickname", 10}, {"last-typo", 8}, {"last-hyphenated", 4}, {"last-changed", 4},
	{"dob-swapped", 5}, {"dob-off-by-one", 5}, {"dob-year", 2}, {"moved", 15}, {"street-typo", 6},
	{"address-missing", 8}, {"phone-changed", 10}, {"phone-missing", 8}, {"sex-missing", 3}, {"middle-initial", 6},
	{"upper-case", 6}, {"no-mrn", 5},
}

// perturb applies one perturbation drawn by weight and returns its name.
func (g *gen) perturb(r *match.Record, c *child) string {
	total := 0.0
	for _, p := range perturbations {
		total += p.weight
	}
	u := g.r.Float64() * total
	name := perturbations[len(perturbations)-1].name
	for _, p := range perturbations {
		if u < p.weight {
			name = p.name
			break
		}
		u -= p.weight
	}
	switch name {
	case "first-typo":
		r.First = g.typo(r.First)
	case "first-nickname":
		nn := nicknameOf(r.First)
		if nn == "" {
			r.First = g.typo(r.First)
			name = "first-typo"
		} else {
			r.First = nn
		}
	case "last-typo":
		r.Last = g.typo(r.Last)
	case "last-hyphenated":
		if !strings.Contains(r.Last, "-") {
			r.Last = r.Last + "-" + c.h.motherMaiden
		}
	case "last-changed":
		// Adoption or a parent's new name: the old name is often kept as
		// a previous name.
		old := r.Last
		r.Last = g.surname()
		if g.r.Float64() < 0.5 {
			r.OtherLastNames = append(r.OtherLastNames, old)
		}
	case "dob-swapped":
		if r.BirthDate.Day <= 12 && r.BirthDate.Day != r.BirthDate.Month {
			r.BirthDate.Month, r.BirthDate.Day = r.BirthDate.Day, r.BirthDate.Month
		} else {
			name = "dob-off-by-one"
			r.BirthDate = addDays(r.BirthDate, 1)
		}
	case "dob-off-by-one":
		r.BirthDate = addDays(r.BirthDate, 1-2*g.r.IntN(2))
	case "dob-year":
		r.BirthDate.Year += 1 - 2*g.r.IntN(2)
		if r.BirthDate.Month == 2 && r.BirthDate.Day == 29 {
			r.BirthDate.Day = 28
		}
	case "moved":
		a, ci := g.address()
		r.Addresses = []match.Address{a}
		if g.r.Float64() < 0.7 {
			r.Phones = []string{g.phone(ci)}
		}
	case "street-typo":
		if len(r.Addresses) > 0 {
			a := r.Addresses[0]
			a.Street1 = g.typo(a.Street1)
			r.Addresses = []match.Address{a}
		}
	case "address-missing":
		r.Addresses = nil
	case "phone-changed":
		r.Phones = []string{g.phone(g.r.IntN(len(cities)))}
	case "phone-missing":
		r.Phones = nil
	case "sex-missing":
		r.Sex = ""
	case "middle-initial":
		if r.Middle != "" {
			r.Middle = r.Middle[:1]
		}
	case "upper-case":
		r.First, r.Last, r.Middle = strings.ToUpper(r.First), strings.ToUpper(r.Last), strings.ToUpper(r.Middle)
	case "no-mrn":
		if len(r.Identifiers) > 0 && r.Identifiers[0].Type == match.IDMRN {
			r.Identifiers = r.Identifiers[1:]
		}
	}
	g.noise[name]++
	return name
}

// typo applies one keyboard-style error: substitution, deletion,
// insertion or adjacent transposition, never on the first letter.
func (g *gen) typo(s string) string {
	b := []byte(s)
	if len(b) < 3 {
		return s
	}
	i := 1 + g.r.IntN(len(b)-1)
	letter := byte('a' + g.r.IntN(26))
	switch g.r.IntN(4) {
	case 0:
		b[i] = letter
	case 1:
		b = append(b[:i], b[i+1:]...)
	case 2:
		b = append(b[:i], append([]byte{letter}, b[i:]...)...)
	default:
		if i+1 < len(b) {
			b[i], b[i+1] = b[i+1], b[i]
		} else {
			b[i-1], b[i] = b[i], b[i-1]
		}
	}
	return string(b)
}

func addDays(d match.Date, n int) match.Date {
	d.Day += n
	if d.Day < 1 {
		d.Month--
		if d.Month < 1 {
			d.Month, d.Year = 12, d.Year-1
		}
		d.Day = daysIn(d.Year, d.Month)
	} else if d.Day > daysIn(d.Year, d.Month) {
		d.Day = 1
		d.Month++
		if d.Month > 12 {
			d.Month, d.Year = 1, d.Year+1
		}
	}
	return d
}

// numFacilities is the number of reporting facilities.
const numFacilities = 200

// nicknames used by the generator: a familiar form for some formal names.
var nicknameFor = map[string]string{
	"WILLIAM": "Bill", "ROBERT": "Bob", "JAMES": "Jim", "JOHN": "Jack", "MICHAEL": "Mike", "JOSEPH": "Joe",
	"THOMAS": "Tom", "CHARLES": "Charlie", "CHRISTOPHER": "Chris", "DANIEL": "Dan", "MATTHEW": "Matt",
	"ANTHONY": "Tony", "JOSHUA": "Josh", "ANDREW": "Andy", "BENJAMIN": "Ben", "SAMUEL": "Sam", "JACOB": "Jake",
	"ALEXANDER": "Alex", "NICHOLAS": "Nick", "NATHAN": "Nate", "JONATHAN": "Jon", "EDWARD": "Ed",
	"ELIZABETH": "Liz", "JENNIFER": "Jenny", "JESSICA": "Jess", "KATHERINE": "Kate", "ALEXANDRA": "Alex",
	"REBECCA": "Becky", "SAMANTHA": "Sam", "VICTORIA": "Vicky", "MARGARET": "Maggie", "PATRICIA": "Patty",
	"ABIGAIL": "Abby", "ISABELLA": "Bella", "CATHERINE": "Cathy", "CHRISTINA": "Tina", "SUSAN": "Sue",
	"THEODORE": "Teddy", "TIMOTHY": "Tim", "RICHARD": "Rick", "STEPHEN": "Steve", "DEBORAH": "Debbie",
}

func nicknameOf(first string) string {
	return nicknameFor[strings.ToUpper(first)]
}
