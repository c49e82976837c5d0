package match

// Field comparators. Each returns the agreement Level of one field on two
// normalised records; none allocates.

// similar reports a close spelling: one edit (or transposition) for names
// of four letters or more, two edits with a high Jaro–Winkler for longer
// names.
func similar(a, b string) bool {
	if len(a) < 3 || len(b) < 3 {
		return false
	}
	d := editDistance(a, b, 2)
	if d <= 1 {
		return min(len(a), len(b)) >= 4 || a[0] == b[0]
	}
	return d == 2 && min(len(a), len(b)) >= 6 && jaroWinkler(a, b) >= 0.88
}

func (m *Matcher) compareFirst(a, b *normalized) Level {
	if a.first == "" || b.first == "" {
		return Missing
	}
	if a.first == b.first {
		return Exact
	}
	if len(a.first) == 1 || len(b.first) == 1 {
		if a.first[0] == b.first[0] {
			return Initial
		}
		if a.middle != "" && b.middle != "" && (a.first[0] == b.middle[0] && len(a.first) == 1 && b.first == a.middle ||
			b.first[0] == a.middle[0] && len(b.first) == 1 && a.first == b.middle) {
			return Swapped
		}
		return Disagree
	}
	if shareGroup(a.firstNick, b.firstNick) {
		return Nickname
	}
	if contains(b.altFirsts, a.first) || contains(a.altFirsts, b.first) ||
		a.firstTok == b.firstTok && len(a.firstTok) >= 3 {
		return Alias
	}
	if similar(a.first, b.first) {
		return Typo
	}
	if swappedNames(a, b) || swappedNames(b, a) {
		return Swapped
	}
	if a.firstSdx == b.firstSdx {
		return Phonetic
	}
	return Disagree
}

// swappedNames reports a's first name reported as b's middle name, with
// a's middle name agreeing with b's first name: "Rose Anne" and "Anne
// Rose" (or "R Anne"). One-sided coincidences, or a missing middle name,
// do not count: a twin's first name is often the other's middle name.
func swappedNames(a, b *normalized) bool {
	if b.middle == "" || a.first != b.middle || a.middle == "" {
		return false
	}
	return a.middle == b.first || len(a.middle) == 1 && a.middle[0] == b.first[0]
}

func compareMiddle(a, b *normalized, first Level) Level {
	if a.middle == "" || b.middle == "" {
		return Missing
	}
	if first == Swapped {
		// The names were already credited to the first-name field.
		return Missing
	}
	if a.middle == b.middle {
		if len(a.middle) == 1 {
			// Two initials agreeing are an initial's evidence, not a
			// name's.
			return Initial
		}
		return Exact
	}
	if (len(a.middle) == 1 || len(b.middle) == 1) && a.middle[0] == b.middle[0] {
		return Initial
	}
	if similar(a.middle, b.middle) {
		return Typo
	}
	return Disagree
}

func compareLast(a, b *normalized) Level {
	if a.last == "" || b.last == "" {
		return Missing
	}
	if a.last == b.last {
		return Exact
	}
	// Hyphenated, double or changed last names: one reported name (or a
	// part of it) is among the other's parts, previous names or aliases.
	if contains(b.lastAlts, a.last) || contains(a.lastAlts, b.last) || intersects(a.lastAlts, b.lastAlts) {
		return Partial
	}
	if similar(a.last, b.last) {
		return Typo
	}
	if a.lastSdx == b.lastSdx {
		return Phonetic
	}
	return Disagree
}

// compareOtherLast compares the reported other last names (previous,
// maiden, alternative): agreement on one is extra evidence.
func compareOtherLast(a, b []string) Level {
	if len(a) == 0 || len(b) == 0 {
		return Missing
	}
	if intersects(a, b) {
		return Exact
	}
	return Disagree
}

func compareSuffix(a, b string) Level {
	if a == "" || b == "" {
		return Missing
	}
	if a == b {
		return Exact
	}
	return Disagree
}

// compareName compares two single-valued names (mother's maiden name).
func compareName(a, b string) Level {
	if a == "" || b == "" {
		return Missing
	}
	if a == b {
		return Exact
	}
	if similar(a, b) {
		return Typo
	}
	return Disagree
}

// compareMotherFirst compares the mother's given names, allowing
// nicknames and typos.
func compareMotherFirst(a, b *normalized) Level {
	if a.motherFst == "" || b.motherFst == "" {
		return Missing
	}
	if a.motherFst == b.motherFst || similar(a.motherFst, b.motherFst) {
		return Exact
	}
	if shareGroup(a.motherNick, b.motherNick) {
		return Nickname
	}
	return Disagree
}

// dayNumber counts days from a fixed epoch (proleptic Gregorian), for the
// one-day-apart test across month and year ends.
func dayNumber(d Date) int {
	y, m := d.Year, d.Month
	if m <= 2 {
		y--
		m += 12
	}
	return 365*y + y/4 - y/100 + y/400 + (153*(m-3)+2)/5 + d.Day
}

func compareDOB(a, b Date) Level {
	if a.IsZero() || b.IsZero() {
		return Missing
	}
	if a == b {
		return Exact
	}
	if a.Year == b.Year && a.Month == b.Day && a.Day == b.Month {
		return Transposed
	}
	diff := dayNumber(a) - dayNumber(b)
	if diff == 1 || diff == -1 {
		return OffByOne
	}
	// One component one away, the others equal (month or year slip).
	if a.Day == b.Day && (a.Year == b.Year && absInt(a.Month-b.Month) == 1 || a.Month == b.Month && absInt(a.Year-b.Year) == 1) {
		return OffByOne
	}
	// One mistyped or two swapped adjacent digits.
	if dateDigitTypo(a, b) {
		return OffByOne
	}
	// Same year and month, another day: a mistyped day. Two children of
	// one family are not born in the same month unless they are twins,
	// whom the first-name and birth-order rules keep apart.
	if a.Year == b.Year && a.Month == b.Month {
		return Partial
	}
	return Disagree
}

func dateDigitTypo(a, b Date) bool {
	var da, db [8]byte
	dateDigits(&da, a)
	dateDigits(&db, b)
	diffs, first := 0, -1
	for i := range da {
		if da[i] != db[i] {
			if first < 0 {
				first = i
			}
			diffs++
		}
	}
	if diffs == 1 {
		return true
	}
	return diffs == 2 && first < 7 && da[first] == db[first+1] && da[first+1] == db[first]
}

func dateDigits(out *[8]byte, d Date) {
	v := d.Year*10000 + d.Month*100 + d.Day
	for i := 7; i >= 0; i-- {
		out[i] = byte('0' + v%10)
		v /= 10
	}
}

func absInt(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// compareID compares the identifiers of one type that are person-unique
// across assigning authorities (SSN; Medicaid within a state): authorities
// must agree only when both are named.
func compareID(a, b *normalized, typ string) Level {
	best := Missing
	for i := range a.ids {
		x := &a.ids[i]
		if x.Type != typ {
			continue
		}
		for j := range b.ids {
			y := &b.ids[j]
			if y.Type != typ || x.Authority != "" && y.Authority != "" && x.Authority != y.Authority {
				continue
			}
			switch {
			case x.Value == y.Value:
				return Exact
			case digitTypo(x.Value, y.Value):
				best = Typo
			case best == Missing:
				best = Disagree
			}
		}
	}
	return best
}

// compareMRN compares medical record numbers and other facility-assigned
// identifiers. The same value from the same named authority is strong
// (Exact); the same value where an authority is unknown is weak (Partial);
// different values from the same named authority disagree; values from
// different authorities say nothing.
func compareMRN(a, b *normalized) Level {
	best := Missing
	for i := range a.ids {
		x := &a.ids[i]
		if x.Type == IDSSN || x.Type == IDMedicaid {
			continue
		}
		for j := range b.ids {
			y := &b.ids[j]
			if y.Type != x.Type {
				continue
			}
			named := x.Authority != "" && y.Authority != ""
			if named && x.Authority != y.Authority {
				continue
			}
			switch {
			case x.Value == y.Value && named:
				return Exact
			case x.Value == y.Value:
				best = Partial
			case named && best == Missing:
				best = Disagree
			}
		}
	}
	return best
}

func comparePhones(a, b []string) Level {
	if len(a) == 0 || len(b) == 0 {
		return Missing
	}
	best := Disagree
	for _, x := range a {
		for _, y := range b {
			if x == y && len(x) == 10 {
				return Exact
			}
			if x[len(x)-7:] == y[len(y)-7:] {
				best = Partial
			}
		}
	}
	return best
}

// compareAddresses returns the best agreement among all address pairs:
// Exact (same house number and street, and same ZIP or city), Partial (same
// house number and street only), Typo (house number agrees, street close,
// and ZIP or city agrees), Initial (only ZIP or city agrees) or Disagree.
func compareAddresses(a, b []normAddress) Level {
	if len(a) == 0 || len(b) == 0 {
		return Missing
	}
	best := Missing
	rank := func(l Level) int {
		switch l {
		case Exact:
			return 5
		case Partial:
			return 4
		case Typo:
			return 3
		case Initial:
			return 2
		case Disagree:
			return 1
		}
		return 0
	}
	for i := range a {
		for j := range b {
			l := compareAddress(&a[i], &b[j])
			if rank(l) > rank(best) {
				best = l
			}
		}
	}
	return best
}

func compareAddress(a, b *normAddress) Level {
	place := a.zip != "" && a.zip == b.zip || a.city != "" && a.city == b.city
	if a.street == "" || b.street == "" {
		if place {
			return Initial
		}
		return Missing
	}
	sameNumber := a.number == b.number
	if sameNumber && a.street == b.street {
		if place {
			return Exact
		}
		return Partial
	}
	// A slip in the street line (number or name) at the same place, or in
	// the place with the same number and a close street name.
	if place && (sameNumber && similar(a.street, b.street) ||
		a.street == b.street && a.number != "" && b.number != "" && editDistance(a.number, b.number, 1) <= 1) {
		return Typo
	}
	if sameNumber && a.number != "" && similar(a.street, b.street) &&
		(similar(a.city, b.city) || a.zip != "" && b.zip != "" && editDistance(a.zip, b.zip, 1) <= 1) {
		return Typo
	}
	if place {
		return Initial
	}
	return Disagree
}

func compareGuardians(a, b *normalized, w *Weights) (Level, float64) {
	if len(a.guardFirst)+len(a.guardLast) == 0 || len(b.guardFirst)+len(b.guardLast) == 0 {
		return Missing, 0
	}
	firstKnown := len(a.guardFirst) > 0 && len(b.guardFirst) > 0
	firstOK := firstKnown && intersects(a.guardFirst, b.guardFirst)
	lastOK := len(a.guardLast) > 0 && len(b.guardLast) > 0 && intersects(a.guardLast, b.guardLast)
	switch {
	case firstOK && lastOK:
		return Exact, w.GuardianFirst + w.GuardianLast
	case firstOK:
		return Exact, w.GuardianFirst
	case lastOK && !firstKnown:
		return Partial, w.GuardianLast
	case firstKnown:
		return Disagree, w.GuardianDisagree
	}
	return Missing, 0
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func intersects(a, b []string) bool {
	for _, x := range a {
		if contains(b, x) {
			return true
		}
	}
	return false
}
