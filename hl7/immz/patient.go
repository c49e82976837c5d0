package immz

import (
	"strconv"

	"github.com/iisproject/iis"
	"github.com/iisproject/iis/hl7"
)

// WritePID writes p's PID with set ID setID (PID-1) as the registry
// holds it: identifiers, names, mother's maiden name, birth date, sex,
// races, addresses, phones, ethnicities, multiple birth and birth order,
// death date and indicator.
func WritePID(w *hl7.Writer, setID int, p *iis.Patient) {
	w.Segment("PID")
	w.Fields(strconv.Itoa(setID), "")
	reps := make([][]string, 0, len(p.Identifiers))
	for _, id := range p.Identifiers {
		reps = append(reps, []string{id.Value, "", "", id.Authority, id.Type})
	}
	w.Repeated(reps...)
	w.Fields("")
	names := make([][]string, 0, len(p.Names))
	for _, n := range p.Names {
		names = append(names, nameComps(n))
	}
	w.Repeated(names...)
	if p.MotherMaidenName.IsZero() {
		w.Field()
	} else {
		w.Field(nameComps(p.MotherMaidenName)...)
	}
	w.Fields(dateOrEmpty(p.BirthDate), p.Sex, "")
	races := make([][]string, 0, len(p.Races))
	for _, c := range p.Races {
		races = append(races, codeComps(c))
	}
	w.Repeated(races...)
	addrs := make([][]string, 0, len(p.Addresses))
	for _, a := range p.Addresses {
		addrs = append(addrs, addressComps(a))
	}
	w.Repeated(addrs...)
	w.Fields("")
	phones := make([][]string, 0, len(p.Phones))
	for _, ph := range p.Phones {
		phones = append(phones, phoneComps(ph))
	}
	w.Repeated(phones...)
	w.Field() // PID-14
	if p.PrimaryLanguage.IsZero() {
		w.Field()
	} else {
		w.Field(codeComps(p.PrimaryLanguage)...)
	}
	for range 6 { // PID-16 … PID-21
		w.Field()
	}
	eth := make([][]string, 0, len(p.Ethnicities))
	for _, c := range p.Ethnicities {
		eth = append(eth, codeComps(c))
	}
	w.Repeated(eth...)
	w.Fields("", p.MultipleBirth)
	order := ""
	if p.BirthOrder > 0 {
		order = strconv.Itoa(p.BirthOrder)
	}
	// PID-25 birth order, PID-29 death date, PID-30 death indicator: up
	// to the last one reported.
	tail := []string{order, "", "", "", dateOrEmpty(p.DeathDate), p.DeathIndicator}
	for len(tail) > 0 && tail[len(tail)-1] == "" {
		tail = tail[:len(tail)-1]
	}
	w.Fields(tail...)
}

// WritePD1 writes p's PD1 (publicity, protection, registry status and
// their dates) when p has any of them.
func WritePD1(w *hl7.Writer, p *iis.Patient) {
	if p.PublicityCode.IsZero() && p.Protection == "" && p.RegistryStatus == "" {
		return
	}
	w.Segment("PD1")
	for range 10 {
		w.Field()
	}
	w.Field(codeComps(p.PublicityCode)...)
	w.Fields(p.Protection, dateOrEmpty(p.ProtectionDate), "", "", p.RegistryStatus, dateOrEmpty(p.RegistryStatusDate), dateOrEmpty(p.PublicityDate))
}

// WriteNK1s writes an NK1 for each of p's guardians: name,
// relationship, addresses and phones.
func WriteNK1s(w *hl7.Writer, p *iis.Patient) {
	for i, g := range p.Guardians {
		w.Segment("NK1")
		w.Fields(strconv.Itoa(i + 1))
		w.Field(nameComps(g.Name)...)
		w.Field(codeComps(g.Relationship)...)
		addrs := make([][]string, 0, len(g.Addresses))
		for _, a := range g.Addresses {
			addrs = append(addrs, addressComps(a))
		}
		w.Repeated(addrs...)
		phones := make([][]string, 0, len(g.Phones))
		for _, ph := range g.Phones {
			phones = append(phones, phoneComps(ph))
		}
		w.Repeated(phones...)
	}
}

func nameComps(n iis.Name) []string {
	return []string{n.Family, n.Given, n.Middle, n.Suffix, n.Prefix, "", n.Type}
}

func addressComps(a iis.Address) []string {
	return []string{a.Street, a.Other, a.City, a.State, a.Zip, a.Country, a.Type, "", a.County}
}

func phoneComps(p iis.Phone) []string {
	return []string{p.UnformattedText, p.Use, p.Equipment, p.Email, p.Country, p.Area, p.Local, p.Extension}
}
