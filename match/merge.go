package match

import "slices"

// Merge folds what a newly linked report (add) contributes to a patient's
// record (have) and returns the result; neither argument is modified.
// Identifiers, phones, addresses and guardians accumulate; the report's
// last and first names are kept as other last names and aliases when they
// differ from the patient's; the middle name, mother's maiden and first
// names, multiple-birth data and sex are filled in when the patient's are
// unknown. The patient's own name, birth date and sex stay as they are (the
// matcher already found the report compatible with them).
//
// The result is not normalised: call Normalize before comparing it. The
// registry keeps each patient's match record this way, one linked report
// after another.
func Merge(have, add *Record) *Record {
	m := *have
	m.n = normalized{}
	m.Identifiers = slices.Clone(have.Identifiers)
	for _, id := range add.Identifiers {
		m.Identifiers = appendNew(m.Identifiers, id)
	}
	m.Phones = slices.Clone(have.Phones)
	for _, p := range add.Phones {
		m.Phones = appendNew(m.Phones, p)
	}
	m.Addresses = slices.Clone(have.Addresses)
	for _, a := range add.Addresses {
		m.Addresses = appendNew(m.Addresses, a)
	}
	m.Guardians = slices.Clone(have.Guardians)
	for _, g := range add.Guardians {
		m.Guardians = appendNew(m.Guardians, g)
	}
	m.OtherLastNames = slices.Clone(have.OtherLastNames)
	for _, n := range append(slices.Clone(add.OtherLastNames), add.Last) {
		if n != "" && n != m.Last {
			m.OtherLastNames = appendNew(m.OtherLastNames, n)
		}
	}
	m.Aliases = slices.Clone(have.Aliases)
	for _, n := range append(slices.Clone(add.Aliases), add.First) {
		if n != "" && n != m.First {
			m.Aliases = appendNew(m.Aliases, n)
		}
	}
	if m.Middle == "" {
		m.Middle = add.Middle
	}
	if m.MotherMaidenName == "" {
		m.MotherMaidenName = add.MotherMaidenName
	}
	if m.MotherFirst == "" {
		m.MotherFirst = add.MotherFirst
	}
	if m.MultipleBirth == MultipleBirthUnknown {
		m.MultipleBirth = add.MultipleBirth
	}
	if m.BirthOrder == 0 {
		m.BirthOrder = add.BirthOrder
	}
	if m.Sex == "" {
		m.Sex = add.Sex
	}
	return &m
}

// appendNew appends v to list unless list already holds it.
func appendNew[T comparable](list []T, v T) []T {
	if slices.Contains(list, v) {
		return list
	}
	return append(list, v)
}
