// Package match decides whether two patient reports describe the same
// person: a deterministic identifier step followed by a Fellegi–Sunter style
// probabilistic comparison of names, birth date, sex, address, phone,
// mother's maiden name, guardians and multiple-birth data, with three
// outcomes (Match, PossibleMatch, NonMatch). BlockingKeys gives the keys a
// store indexes to fetch candidates without comparing every pair.
//
// A Matcher is immutable after New and safe for concurrent use; Compare on
// normalised records (see Normalize) does not allocate.
package match

import (
	"math"
	"strings"
)

// Outcome is the decision for a pair of records.
type Outcome int8

// Outcomes.
const (
	// NonMatch: a different patient (create a new one).
	NonMatch Outcome = iota
	// PossibleMatch: queue the pair for human review; never merge.
	PossibleMatch
	// Match: the same patient; link automatically.
	Match
)

func (o Outcome) String() string {
	switch o {
	case Match:
		return "Match"
	case PossibleMatch:
		return "PossibleMatch"
	default:
		return "NonMatch"
	}
}

// Field identifies a compared attribute.
type Field int8

// Compared fields.
const (
	FieldFirst Field = iota
	FieldMiddle
	FieldLast
	FieldOtherLast
	FieldSuffix
	FieldBirthDate
	FieldSex
	FieldSSN
	FieldMedicaid
	FieldMRN
	FieldPhone
	FieldAddress
	FieldMotherMaiden
	FieldMotherFirst
	FieldGuardian
	FieldBirthOrder
	NumFields
)

var fieldNames = [NumFields]string{"first", "middle", "last", "otherLast", "suffix", "birthDate", "sex", "ssn", "medicaid", "mrn", "phone", "address", "motherMaiden", "motherFirst", "guardian", "birthOrder"}

func (f Field) String() string {
	if f < 0 || f >= NumFields {
		return "?"
	}
	return fieldNames[f]
}

// Level is how well a field agrees.
type Level int8

// Agreement levels, from none to full.
const (
	Missing    Level = iota // unknown on either side: neutral
	Disagree                // both known and different
	Initial                 // an initial agrees with a name
	Phonetic                // same Soundex code
	Typo                    // close spelling (edit distance / Jaro–Winkler)
	Partial                 // part agrees: hyphenated or changed last name, street without ZIP, local phone digits, birth year and month
	Swapped                 // first and middle names swapped
	Nickname                // given-name equivalence (Bill ~ William)
	Alias                   // agrees with a reported alias or a name token
	Transposed              // birth date with day and month swapped
	OffByOne                // birth date one day, month or year away, or one digit mistyped
	Exact                   // equal after normalisation
)

var levelNames = [...]string{"missing", "disagree", "initial", "phonetic", "typo", "partial", "swapped", "nickname", "alias", "transposed", "offByOne", "exact"}

func (l Level) String() string {
	if l < 0 || int(l) >= len(levelNames) {
		return "?"
	}
	return levelNames[l]
}

// FieldScore is one field's contribution to a comparison.
type FieldScore struct {
	Level  Level
	Weight float64 // log2 likelihood ratio added to the score
}

// Reason names the rule that decided a comparison.
type Reason string

// Decision reasons.
const (
	ReasonScore          Reason = "score"                                     // thresholds on the summed weights
	ReasonIdentifier     Reason = "identifier"                                // same strong identifier, nothing contradicting
	ReasonBirthOrder     Reason = "different birth order"                     // twins: never merged
	ReasonTwins          Reason = "multiple birth, different names"           // twins: never merged
	ReasonFirstConflict  Reason = "first names conflict"                      // capped at PossibleMatch
	ReasonDOBConflict    Reason = "birth dates conflict"                      // capped at PossibleMatch
	ReasonSexConflict    Reason = "sexes conflict"                            // capped at PossibleMatch
	ReasonSuffixConflict Reason = "suffixes conflict"                         // capped at PossibleMatch
	ReasonCorroborated   Reason = "name and birth date exact, same household" // household rule
)

// Result is the outcome of Compare with its explanation.
type Result struct {
	Outcome Outcome
	Score   float64 // sum of the field weights
	Reason  Reason
	Fields  [NumFields]FieldScore
}

// Config sets the thresholds, weights and name frequencies of a Matcher.
type Config struct {
	// MatchThreshold: scores at or above it are a Match (unless a rule caps
	// the outcome). ReviewThreshold: scores at or above it and below
	// MatchThreshold are a PossibleMatch.
	MatchThreshold, ReviewThreshold float64
	Weights                         Weights
	// HouseholdRule links, whatever the score (above ReviewThreshold), a
	// pair whose first name, last name and birth date agree exactly, whose
	// address or phone agrees exactly, and on which no personal field
	// (names, sex, mother, guardian) disagrees: a namesake born the same
	// day in the same household is a twin, and twins differ in first name.
	HouseholdRule bool
	// Frequencies adjusts name agreement weights; nil means
	// DefaultFrequencies.
	Frequencies *Frequencies
}

// Weights are log2 likelihood ratios, log2(m/u), for each field and level:
// m is the probability of the level among true matches, u among
// non-matches. Disagreement weights are negative. Name exact-agreement
// weights come from Frequencies (log2(NameM/frequency), clamped to
// [NameMin, NameMax]).
type Weights struct {
	NameM               float64 // m of an exact name agreement
	FirstMin, FirstMax  float64
	LastMin, LastMax    float64
	FirstNickname       float64
	FirstAlias          float64
	FirstTypo           float64
	FirstPhonetic       float64
	FirstSwapped        float64
	FirstInitial        float64
	FirstDisagree       float64
	LastPartial         float64
	LastTypo            float64
	LastPhonetic        float64
	LastDisagree        float64
	OtherLastExact      float64 // both report other last names and one agrees
	OtherLastDisagree   float64
	MiddleExact         float64 // at most; log2(NameM/frequency) of the middle name, at least MiddleMin
	MiddleMin           float64
	MiddleInitial       float64
	MiddleTypo          float64
	MiddleDisagree      float64
	SuffixExact         float64
	SuffixDisagree      float64
	DOBExact            float64
	DOBTransposed       float64
	DOBOffByOne         float64
	DOBSameMonth        float64 // same year and month, day differs
	DOBDisagree         float64
	SexAgree            float64
	SexDisagree         float64
	SSNExact            float64
	SSNTypo             float64
	SSNDisagree         float64
	MedicaidExact       float64
	MedicaidTypo        float64
	MedicaidDisagree    float64
	MRNExact            float64 // same value, same named authority
	MRNExactNoAuth      float64 // same value, authority unknown on a side
	MRNDisagree         float64 // different values from the same named authority
	PhoneExact          float64
	PhoneLocal          float64 // same seven local digits, area code differs or missing
	PhoneDisagree       float64
	AddressExact        float64 // same house number and street, and same ZIP or city
	AddressPartial      float64 // same street line, different ZIP and city; or typo in it
	AddressZip          float64 // only the ZIP (or city) agrees
	AddressDisagree     float64
	MotherExact         float64
	MotherTypo          float64
	MotherDisagree      float64
	MotherFirstExact    float64
	MotherFirstDisagree float64
	GuardianFirst       float64
	GuardianLast        float64
	GuardianDisagree    float64
	BirthOrderExact     float64
}

// DefaultConfig returns the thresholds and weights documented in README.md.
func DefaultConfig() Config {
	return Config{
		MatchThreshold:  39.5,
		HouseholdRule:   true,
		ReviewThreshold: 24,
		Weights: Weights{
			NameM:    0.95,
			FirstMin: 4, FirstMax: 12,
			LastMin: 4, LastMax: 13,
			FirstNickname: 6, FirstAlias: 6, FirstTypo: 5, FirstPhonetic: 4, FirstSwapped: 5, FirstInitial: 1, FirstDisagree: -5,
			LastPartial: 6, LastTypo: 5, LastPhonetic: 4, LastDisagree: -4,
			OtherLastExact: 3, OtherLastDisagree: -1,
			MiddleExact: 8, MiddleMin: 3, MiddleInitial: 1, MiddleTypo: 1.5, MiddleDisagree: -5,
			SuffixExact: 0.5, SuffixDisagree: -6,
			DOBExact: 10, DOBTransposed: 5, DOBOffByOne: 5, DOBSameMonth: 1, DOBDisagree: -6,
			SexAgree: 1, SexDisagree: -6,
			SSNExact: 12, SSNTypo: 4, SSNDisagree: -8,
			MedicaidExact: 6, MedicaidTypo: 2, MedicaidDisagree: -3,
			MRNExact: 10, MRNExactNoAuth: 2, MRNDisagree: -1,
			PhoneExact: 8, PhoneLocal: 4, PhoneDisagree: -1,
			AddressExact: 8, AddressPartial: 4, AddressZip: 1, AddressDisagree: -1,
			MotherExact: 8, MotherTypo: 3, MotherDisagree: -5,
			MotherFirstExact: 5, MotherFirstDisagree: -2,
			GuardianFirst: 5, GuardianLast: 1, GuardianDisagree: -2,
			BirthOrderExact: 1,
		},
	}
}

// Matcher compares patient records. Create it with New; it is immutable and
// safe for concurrent use.
type Matcher struct {
	cfg  Config
	freq *Frequencies
	tab  [NumFields][numLevels]float64 // weight by field and level
}

const numLevels = int(Exact) + 1

// New returns a Matcher for cfg. A zero Config means DefaultConfig.
func New(cfg Config) *Matcher {
	if cfg.MatchThreshold == 0 && cfg.ReviewThreshold == 0 {
		def := DefaultConfig()
		def.Frequencies = cfg.Frequencies
		cfg = def
	}
	f := cfg.Frequencies
	if f == nil {
		f = DefaultFrequencies()
	}
	m := &Matcher{cfg: cfg, freq: f}
	w := &cfg.Weights
	m.tab[FieldMiddle] = levels(map[Level]float64{Exact: w.MiddleExact, Initial: w.MiddleInitial, Typo: w.MiddleTypo, Disagree: w.MiddleDisagree})
	m.tab[FieldOtherLast] = levels(map[Level]float64{Exact: w.OtherLastExact, Disagree: w.OtherLastDisagree})
	m.tab[FieldSuffix] = levels(map[Level]float64{Exact: w.SuffixExact, Disagree: w.SuffixDisagree})
	m.tab[FieldBirthDate] = levels(map[Level]float64{Exact: w.DOBExact, Transposed: w.DOBTransposed, OffByOne: w.DOBOffByOne, Partial: w.DOBSameMonth, Disagree: w.DOBDisagree})
	m.tab[FieldSex] = levels(map[Level]float64{Exact: w.SexAgree, Disagree: w.SexDisagree})
	m.tab[FieldSSN] = levels(map[Level]float64{Exact: w.SSNExact, Typo: w.SSNTypo, Disagree: w.SSNDisagree})
	m.tab[FieldMedicaid] = levels(map[Level]float64{Exact: w.MedicaidExact, Typo: w.MedicaidTypo, Disagree: w.MedicaidDisagree})
	m.tab[FieldMRN] = levels(map[Level]float64{Exact: w.MRNExact, Partial: w.MRNExactNoAuth, Disagree: w.MRNDisagree})
	m.tab[FieldPhone] = levels(map[Level]float64{Exact: w.PhoneExact, Partial: w.PhoneLocal, Disagree: w.PhoneDisagree})
	m.tab[FieldAddress] = levels(map[Level]float64{Exact: w.AddressExact, Partial: w.AddressPartial, Typo: w.AddressPartial, Initial: w.AddressZip, Disagree: w.AddressDisagree})
	m.tab[FieldMotherMaiden] = levels(map[Level]float64{Exact: w.MotherExact, Typo: w.MotherTypo, Disagree: w.MotherDisagree})
	m.tab[FieldMotherFirst] = levels(map[Level]float64{Exact: w.MotherFirstExact, Nickname: w.MotherFirstExact, Disagree: w.MotherFirstDisagree})
	m.tab[FieldBirthOrder] = levels(map[Level]float64{Exact: w.BirthOrderExact})
	return m
}

func levels(ws map[Level]float64) (t [numLevels]float64) {
	for l, v := range ws {
		t[l] = v
	}
	return t
}

// Config returns the matcher's configuration.
func (m *Matcher) Config() Config { return m.cfg }

// Compare decides whether a and b are the same patient. Records should have
// been normalised (Normalize); an un-normalised record is normalised on a
// private copy, which allocates.
func (m *Matcher) Compare(a, b *Record) Result {
	na, nb := &a.n, &b.n
	if !na.done {
		x := normalize(a)
		na = &x
	}
	if !nb.done {
		x := normalize(b)
		nb = &x
	}
	return m.compare(na, nb)
}

func (m *Matcher) compare(a, b *normalized) Result {
	w := &m.cfg.Weights
	var r Result
	set := func(f Field, l Level, weight float64) {
		r.Fields[f] = FieldScore{Level: l, Weight: weight}
		r.Score += weight
	}

	first := m.compareFirst(a, b)
	set(FieldFirst, first, m.firstWeight(first, a.first))
	mid := compareMiddle(a, b, first)
	midW := m.tab[FieldMiddle][mid]
	if mid == Exact {
		midW = clamp(math.Log2(w.NameM/m.freq.first(a.middle)), w.MiddleMin, w.MiddleExact)
	}
	set(FieldMiddle, mid, midW)
	last := compareLast(a, b)
	set(FieldLast, last, m.lastWeight(last, a.last))
	ol := compareOtherLast(a.otherLasts, b.otherLasts)
	set(FieldOtherLast, ol, m.tab[FieldOtherLast][ol])
	sfx := compareSuffix(a.suffix, b.suffix)
	set(FieldSuffix, sfx, m.tab[FieldSuffix][sfx])
	dob := compareDOB(a.dob, b.dob)
	set(FieldBirthDate, dob, m.tab[FieldBirthDate][dob])
	sex := Missing
	if a.sex != 0 && b.sex != 0 {
		sex = Disagree
		if a.sex == b.sex {
			sex = Exact
		}
	}
	set(FieldSex, sex, m.tab[FieldSex][sex])
	ssn := compareID(a, b, IDSSN)
	set(FieldSSN, ssn, m.tab[FieldSSN][ssn])
	mcd := compareID(a, b, IDMedicaid)
	set(FieldMedicaid, mcd, m.tab[FieldMedicaid][mcd])
	mrn := compareMRN(a, b)
	set(FieldMRN, mrn, m.tab[FieldMRN][mrn])
	ph := comparePhones(a.phones, b.phones)
	set(FieldPhone, ph, m.tab[FieldPhone][ph])
	ad := compareAddresses(a.addrs, b.addrs)
	set(FieldAddress, ad, m.tab[FieldAddress][ad])
	mm := compareName(a.mmn, b.mmn)
	set(FieldMotherMaiden, mm, m.tab[FieldMotherMaiden][mm])
	mf := compareMotherFirst(a, b)
	set(FieldMotherFirst, mf, m.tab[FieldMotherFirst][mf])
	g, gw := compareGuardians(a, b, w)
	set(FieldGuardian, g, gw)
	bo := Missing
	if a.birthOrder > 0 && b.birthOrder > 0 {
		bo = Disagree
		if a.birthOrder == b.birthOrder {
			bo = Exact
		}
	}
	set(FieldBirthOrder, bo, m.tab[FieldBirthOrder][bo])

	// Twins are never merged: a different birth order, or a multiple birth
	// with different first names, is a different child.
	if bo == Disagree {
		r.Outcome, r.Reason = NonMatch, ReasonBirthOrder
		return r
	}
	if (a.multi == MultipleBirthYes || b.multi == MultipleBirthYes) && (first == Disagree || first == Phonetic) {
		r.Outcome, r.Reason = NonMatch, ReasonTwins
		return r
	}

	// Identifiers that name one person. Medicaid numbers are family case
	// numbers in some programmes and do not link on their own.
	personalID := ssn == Exact || mrn == Exact

	// Rules that forbid an automatic link, whatever the score.
	capReason := Reason("")
	switch {
	case dob == Disagree:
		capReason = ReasonDOBConflict
	case sex == Disagree:
		capReason = ReasonSexConflict
	case sfx == Disagree:
		capReason = ReasonSuffixConflict
	case first == Typo && (a.multi == MultipleBirthYes || b.multi == MultipleBirthYes) && len(a.firstNick) > 0 && len(b.firstNick) > 0:
		// A multiple birth whose first names are a letter or two apart
		// and both given names in their own right (Ella and Bella): twins
		// are named so. A mistyped name is rarely another real name. A
		// person decides.
		capReason = ReasonTwins
	case first == Disagree || first == Phonetic:
		// Same family, different child: siblings, and twins reported
		// without multiple-birth data (often given similar-sounding
		// names). Not even a shared identifier overrules a different
		// given name: twins' identifiers get swapped, and a renamed
		// newborn can wait for review.
		capReason = ReasonFirstConflict
	}

	switch {
	case capReason == "" && personalID && dob == Exact && r.Score >= m.cfg.ReviewThreshold && !anyDisagree(&r):
		r.Outcome, r.Reason = Match, ReasonIdentifier
	case r.Score >= m.cfg.MatchThreshold:
		r.Outcome, r.Reason = Match, ReasonScore
	case capReason == "" && m.cfg.HouseholdRule && r.Score >= m.cfg.ReviewThreshold && corroborated(&r):
		r.Outcome, r.Reason = Match, ReasonCorroborated
	case r.Score >= m.cfg.ReviewThreshold:
		r.Outcome, r.Reason = PossibleMatch, ReasonScore
	default:
		r.Outcome, r.Reason = NonMatch, ReasonScore
	}
	if r.Outcome == Match && capReason != "" {
		r.Outcome, r.Reason = PossibleMatch, capReason
	}
	return r
}

// corroborated is the household rule. First name, last name and birth
// date agree, exactly or with at most one slip (a nickname, alias or typo
// in a name, a hyphenated or changed last name, a near birth date), no
// field other than the address or the phone disagrees, and independent
// evidence that the two reports come from the same family backs the
// identity: each of an exact address, an exact ten-digit phone, the
// mother's maiden name, a parent's given name (guardian or mother) and a
// full middle name counts once. An exact identity needs one of them and
// each slip one more. A family whose address and phone both changed
// (neither agrees, one disagrees) needs an exact identity and a
// surname-like piece (the maiden name or a full middle name).
//
// Why this is safe where the score alone is not: the pairs that agree on
// name and birth date without being the same child are siblings (different
// birth dates), twins (different given names) and namesakes (unrelated
// children with the same name born the same day). The first two fail the
// identity test; a namesake does not share a family with the child, so one
// piece of family evidence that a namesake would have to share by chance
// (a mother's maiden name, a guardian, an address) separates them.
func corroborated(r *Result) bool {
	f := &r.Fields
	for i := range f {
		if f[i].Level == Disagree && Field(i) != FieldAddress && Field(i) != FieldPhone && Field(i) != FieldLast {
			return false
		}
	}
	slips := 0
	switch f[FieldFirst].Level {
	case Exact:
	case Nickname, Alias, Typo:
		slips++
	default:
		return false
	}
	switch f[FieldLast].Level {
	case Exact:
	case Typo, Phonetic, Partial, Disagree:
		// A changed last name (adoption, a parent's marriage) is
		// reported without the previous one as often as with it.
		slips++
	default:
		return false
	}
	switch f[FieldBirthDate].Level {
	case Exact:
	case OffByOne, Transposed, Partial:
		slips++
	default:
		return false
	}
	if slips > 1 {
		return false
	}
	household, surnames, given := 0, 0, 0
	for _, x := range [...]Field{FieldAddress, FieldPhone} {
		if f[x].Level == Exact {
			household++
		}
	}
	if f[FieldMotherMaiden].Level == Exact {
		surnames++
	}
	if f[FieldMiddle].Level == Exact {
		surnames++
	}
	// A guardian is usually the mother: her given name reported as the
	// guardian's and as the mother's is one piece of evidence.
	if f[FieldGuardian].Level == Exact || f[FieldMotherFirst].Level == Exact || f[FieldMotherFirst].Level == Nickname {
		given++
	}
	need := 1 + slips
	if household == 0 && (f[FieldAddress].Level == Disagree || f[FieldPhone].Level == Disagree) {
		// The family moved: the address no longer tells a namesake
		// apart, and a parent's given name alone is too common to. A
		// move is itself a discrepancy: the identity must be exact.
		if surnames == 0 || slips > 0 {
			return false
		}
	}
	return household+surnames+given >= need
}

// anyDisagree reports a disagreement on a personal attribute (names, sex,
// mother's maiden name), which stops the identifier step.
func anyDisagree(r *Result) bool {
	for _, f := range [...]Field{FieldFirst, FieldMiddle, FieldLast, FieldSex, FieldMotherMaiden, FieldSuffix} {
		if r.Fields[f].Level == Disagree {
			return true
		}
	}
	return false
}

func (m *Matcher) firstWeight(l Level, name string) float64 {
	w := &m.cfg.Weights
	switch l {
	case Exact:
		return clamp(math.Log2(w.NameM/m.freq.first(name)), w.FirstMin, w.FirstMax)
	case Alias:
		return w.FirstAlias
	case Nickname:
		return w.FirstNickname
	case Typo:
		return w.FirstTypo
	case Phonetic:
		return w.FirstPhonetic
	case Swapped:
		return w.FirstSwapped
	case Initial:
		return w.FirstInitial
	case Disagree:
		return w.FirstDisagree
	}
	return 0
}

func (m *Matcher) lastWeight(l Level, name string) float64 {
	w := &m.cfg.Weights
	switch l {
	case Exact:
		return clamp(math.Log2(w.NameM/m.freq.last(name)), w.LastMin, w.LastMax)
	case Partial:
		return w.LastPartial
	case Typo:
		return w.LastTypo
	case Phonetic:
		return w.LastPhonetic
	case Disagree:
		return w.LastDisagree
	}
	return 0
}

func clamp(v, lo, hi float64) float64 {
	return min(max(v, lo), hi)
}

// Choose compares rec, a new report, with a registry's candidate patients
// in the order given and picks the one it links to: among the candidates
// it matches, one sharing an identifier with a named assigning authority
// first, then the highest score, the earlier candidate on a tie. best is
// -1 when none matches. each, if not nil, receives every candidate's
// result (for the possible matches). The registry's write path decides
// with it, and so does the synthetic evaluation of that path.
func (m *Matcher) Choose(rec *Record, cands []*Record, each func(i int, r Result)) (best int, byIdentifier bool) {
	best = -1
	var bestScore float64
	for i, c := range cands {
		r := m.Compare(rec, c)
		if each != nil {
			each(i, r)
		}
		if r.Outcome != Match {
			continue
		}
		shared := SharesIdentifier(rec, c)
		switch {
		case best < 0,
			shared && !byIdentifier,
			shared == byIdentifier && r.Score > bestScore:
			best, bestScore, byIdentifier = i, r.Score, shared
		}
	}
	return best, byIdentifier
}

// SharesIdentifier reports whether a and b carry the same identifier (type,
// and value and assigning authority regardless of case) from a named
// assigning authority.
func SharesIdentifier(a, b *Record) bool {
	for _, x := range a.Identifiers {
		if x.Authority == "" {
			continue
		}
		for _, y := range b.Identifiers {
			if strings.EqualFold(x.Value, y.Value) && strings.EqualFold(x.Authority, y.Authority) && x.Type == y.Type {
				return true
			}
		}
	}
	return false
}
