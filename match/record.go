package match

import (
	"fmt"
	"strings"
)

// Identifier types the matcher knows. Other values of Identifier.Type are
// compared like MRNs: strong only within a named assigning authority.
const (
	IDSSN      = "SS" // Social Security number (HL7 identifier type SS)
	IDMedicaid = "MA" // Medicaid number (MA)
	IDMRN      = "MR" // medical record number (MR)
)

// Identifier is a patient identifier: its value, the authority that assigned
// it (a facility or program; may be empty when unknown) and its HL7 type.
type Identifier struct {
	Value     string
	Authority string
	Type      string
}

// Address is a postal address as reported.
type Address struct {
	Street1, Street2, City, State, Zip string
}

// PersonName is a related person's name (a guardian or next of kin).
type PersonName struct {
	First, Last string
}

// Date is a calendar date without time zone. The zero Date means unknown.
type Date struct {
	Year, Month, Day int
}

// IsZero reports whether the date is unknown.
func (d Date) IsZero() bool { return d.Year == 0 }

// String formats the date as YYYYMMDD (empty when unknown).
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%04d%02d%02d", d.Year, d.Month, d.Day)
}

// ParseDate parses a YYYYMMDD date (the HL7 DT form; anything after the
// eighth character, such as a time, is ignored). An empty string is the zero
// Date.
func ParseDate(s string) (Date, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Date{}, nil
	}
	if len(s) < 8 {
		return Date{}, fmt.Errorf("parse date %q: want YYYYMMDD", s)
	}
	var v [3]int
	for i, w := range [][2]int{{0, 4}, {4, 6}, {6, 8}} {
		for _, c := range s[w[0]:w[1]] {
			if c < '0' || c > '9' {
				return Date{}, fmt.Errorf("parse date %q: want YYYYMMDD", s)
			}
			v[i] = v[i]*10 + int(c-'0')
		}
	}
	d := Date{Year: v[0], Month: v[1], Day: v[2]}
	if d.Year < 1800 || d.Month < 1 || d.Month > 12 || d.Day < 1 || d.Day > 31 {
		return Date{}, fmt.Errorf("parse date %q: out of range", s)
	}
	return d, nil
}

// MultipleBirth says whether the patient was born in a multiple birth.
type MultipleBirth int8

// MultipleBirth values.
const (
	MultipleBirthUnknown MultipleBirth = iota
	SingleBirth
	MultipleBirthYes
)

// Record is what the matcher knows of one patient report. Fill the exported
// fields with the reported values (any case, punctuation or format) and call
// Normalize once; Compare then works on the normalised form without
// allocating. Empty fields are unknown, never a disagreement.
type Record struct {
	Identifiers []Identifier

	First, Middle, Last, Suffix string
	// Aliases are other names the patient is known by (first or last).
	Aliases []string
	// OtherLastNames are previous, maiden or alternative last names,
	// including the parts a hyphenated name may be reported under.
	OtherLastNames []string

	BirthDate     Date
	Sex           string // M, F; anything else is unknown
	MultipleBirth MultipleBirth
	BirthOrder    int // 1, 2, ... within a multiple birth; 0 unknown

	MotherMaidenName string
	MotherFirst      string
	Guardians        []PersonName
	Phones           []string
	Addresses        []Address

	n normalized
}

// normalized is the comparison-ready form of a Record, computed once.
type normalized struct {
	done bool

	first     string // letters only, tokens joined
	firstTok  string // first token of the first name
	firstSdx  [4]byte
	firstNick []uint16 // nickname groups of first (and firstTok)
	middle    string
	altFirsts []string // aliases and other given-name tokens

	last       string // letters only, tokens joined
	lastSdx    [4]byte
	lastAlts   []string // hyphen/space parts, other last names, aliases
	otherLasts []string // reported other last names only
	suffix     string

	dob        Date
	sex        byte // 'M', 'F' or 0
	multi      MultipleBirth
	birthOrder int

	mmn        string
	motherFst  string
	motherNick []uint16
	guardFirst []string
	guardLast  []string
	phones     []string
	addrs      []normAddress
	ids        []Identifier // normalised value, authority and type
}

type normAddress struct {
	number, street, city, state, zip string
}

// Normalize computes the comparison form of r (case, punctuation and
// diacritics folded, suffixes split from last names, nickname groups looked
// up, phones reduced to digits, ZIP to five digits, street words
// abbreviated). It is idempotent; call it again after changing r's fields.
// Normalize must not run concurrently with a Compare of the same record.
func Normalize(r *Record) {
	r.n = normalize(r)
}

// Normalized reports whether Normalize has been run on r.
func (r *Record) Normalized() bool { return r.n.done }

func normalize(r *Record) normalized {
	n := normalized{done: true}

	ft, fsfx := nameTokens(r.First)
	if len(ft) > 0 {
		n.first = strings.Join(ft, "")
		n.firstTok = ft[0]
		n.firstSdx = soundex(n.first)
		n.firstNick = appendGroups(nil, n.first)
		if n.firstTok != n.first {
			n.firstNick = appendGroups(n.firstNick, n.firstTok)
			n.altFirsts = append(n.altFirsts, ft...)
		}
	}
	mt, _ := nameTokens(r.Middle)
	n.middle = strings.Join(mt, "")

	lt, lsfx := nameTokens(r.Last)
	if len(lt) > 0 {
		n.last = strings.Join(lt, "")
		n.lastSdx = soundex(n.last)
		if len(lt) > 1 {
			n.lastAlts = append(n.lastAlts, lt...)
		}
	}
	for _, o := range r.OtherLastNames {
		ot, _ := nameTokens(o)
		if len(ot) == 0 {
			continue
		}
		n.lastAlts = appendUnique(n.lastAlts, strings.Join(ot, ""))
		n.otherLasts = appendUnique(n.otherLasts, strings.Join(ot, ""))
		if len(ot) > 1 {
			for _, t := range ot {
				n.lastAlts = appendUnique(n.lastAlts, t)
			}
		}
	}
	for _, a := range r.Aliases {
		at, asfx := nameTokens(a)
		if len(at) == 0 {
			if asfx != "" && n.suffix == "" {
				n.suffix = asfx
			}
			continue
		}
		for _, t := range at {
			n.altFirsts = appendUnique(n.altFirsts, t)
			n.lastAlts = appendUnique(n.lastAlts, t)
		}
	}
	n.suffix = normSuffix(r.Suffix)
	if n.suffix == "" {
		n.suffix = lsfx
	}
	if n.suffix == "" {
		n.suffix = fsfx
	}

	n.dob = r.BirthDate
	switch strings.ToUpper(strings.TrimSpace(r.Sex)) {
	case "M", "MALE":
		n.sex = 'M'
	case "F", "FEMALE":
		n.sex = 'F'
	}
	n.multi = r.MultipleBirth
	n.birthOrder = r.BirthOrder
	if n.birthOrder > 1 {
		n.multi = MultipleBirthYes
	}

	mm, _ := nameTokens(r.MotherMaidenName)
	n.mmn = strings.Join(mm, "")
	mf, _ := nameTokens(r.MotherFirst)
	n.motherFst = strings.Join(mf, "")
	n.motherNick = appendGroups(nil, n.motherFst)
	for _, g := range r.Guardians {
		gf, _ := nameTokens(g.First)
		gl, _ := nameTokens(g.Last)
		if len(gf) > 0 {
			n.guardFirst = appendUnique(n.guardFirst, strings.Join(gf, ""))
		}
		if len(gl) > 0 {
			n.guardLast = appendUnique(n.guardLast, strings.Join(gl, ""))
		}
	}
	for _, p := range r.Phones {
		if d := normPhone(p); d != "" {
			n.phones = appendUnique(n.phones, d)
		}
	}
	for _, a := range r.Addresses {
		var na normAddress
		na.number, na.street = normStreet(a.Street1)
		na.city = normCity(a.City)
		na.state = normState(a.State)
		na.zip = normZip(a.Zip)
		if na.street == "" && na.city == "" && na.zip == "" {
			continue
		}
		n.addrs = append(n.addrs, na)
	}
	for _, id := range r.Identifiers {
		v := normIdentifier(id.Value)
		typ := strings.ToUpper(strings.TrimSpace(id.Type))
		if typ == "" {
			typ = IDMRN
		}
		if placeholderID(typ, v) {
			continue
		}
		n.ids = append(n.ids, Identifier{Value: v, Authority: strings.ToUpper(strings.TrimSpace(id.Authority)), Type: typ})
	}
	return n
}

// placeholderID reports identifier values that stand for "unknown".
func placeholderID(typ, v string) bool {
	if v == "" {
		return true
	}
	same := true
	for i := 1; i < len(v); i++ {
		if v[i] != v[0] {
			same = false
			break
		}
	}
	if same && len(v) > 2 {
		return true
	}
	if typ == IDSSN {
		return len(v) != 9 || v == "123456789" || strings.HasPrefix(v, "000") || strings.HasPrefix(v, "666")
	}
	return false
}

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}
