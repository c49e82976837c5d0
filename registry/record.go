package registry

import (
	"slices"

	"github.com/iisproject/iis"
	"github.com/iisproject/iis/match"
)

// MatchRecord returns the matcher's view of a reported patient (not yet
// normalised).
func MatchRecord(p *iis.Patient) *match.Record {
	r := &match.Record{}
	for _, id := range p.Identifiers {
		if id.Value == "" {
			continue
		}
		r.Identifiers = append(r.Identifiers, match.Identifier{Value: id.Value, Authority: id.Authority, Type: id.Type})
	}
	legal := p.LegalName()
	r.First, r.Middle, r.Last, r.Suffix = legal.Given, legal.Middle, legal.Family, legal.Suffix
	for _, n := range p.Names {
		if n == legal {
			continue
		}
		if n.Family != "" && n.Family != legal.Family {
			r.OtherLastNames = appendNew(r.OtherLastNames, n.Family)
		}
		if n.Given != "" && n.Given != legal.Given {
			r.Aliases = appendNew(r.Aliases, n.Given)
		}
	}
	if !p.BirthDate.IsZero() {
		r.BirthDate = match.Date{Year: p.BirthDate.Year(), Month: int(p.BirthDate.Month()), Day: p.BirthDate.Day()}
	}
	r.Sex = p.Sex
	switch p.MultipleBirth {
	case "Y":
		r.MultipleBirth = match.MultipleBirthYes
	case "N":
		r.MultipleBirth = match.SingleBirth
	}
	r.BirthOrder = p.BirthOrder
	r.MotherMaidenName = p.MotherMaidenName.Family
	r.MotherFirst = p.MotherMaidenName.Given
	for _, g := range p.Guardians {
		if g.Name.IsZero() {
			continue
		}
		r.Guardians = append(r.Guardians, match.PersonName{First: g.Name.Given, Last: g.Name.Family})
		if g.Relationship.Code == "MTH" && r.MotherFirst == "" {
			r.MotherFirst = g.Name.Given
		}
	}
	for _, ph := range p.Phones {
		if n := ph.Number(); n != "" {
			r.Phones = appendNew(r.Phones, n)
		}
	}
	for _, a := range p.Addresses {
		if a.Street == "" && a.Zip == "" && a.City == "" {
			continue
		}
		r.Addresses = append(r.Addresses, match.Address{Street1: a.Street, Street2: a.Other, City: a.City, State: a.State, Zip: a.Zip})
	}
	return r
}

// mergeRecords folds what a new report adds to a linked patient's record:
// identifiers, phones, addresses, guardians and other names accumulate;
// the name, birth date and sex stay those of the patient (the matcher
// already found them compatible). The result is not normalised.
func mergeRecords(have, add *match.Record) *match.Record {
	m := *have
	m.Identifiers = slices.Clone(have.Identifiers)
	for _, id := range add.Identifiers {
		if !slices.Contains(m.Identifiers, id) {
			m.Identifiers = append(m.Identifiers, id)
		}
	}
	m.Phones = slices.Clone(have.Phones)
	for _, p := range add.Phones {
		m.Phones = appendNew(m.Phones, p)
	}
	m.Addresses = slices.Clone(have.Addresses)
	for _, a := range add.Addresses {
		if !slices.Contains(m.Addresses, a) {
			m.Addresses = append(m.Addresses, a)
		}
	}
	m.Guardians = slices.Clone(have.Guardians)
	for _, g := range add.Guardians {
		if !slices.Contains(m.Guardians, g) {
			m.Guardians = append(m.Guardians, g)
		}
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
	if m.MultipleBirth == match.MultipleBirthUnknown {
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

func appendNew(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}
