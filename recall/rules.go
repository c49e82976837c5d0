package recall

import (
	"slices"
	"strings"
	"time"

	"github.com/iisproject/iis"
	"github.com/iisproject/iis/forecast"
	"github.com/iisproject/iis/registry"
)

// The reasons a child is left out of a run.
const (
	ReasonOptedOut    = "opted out"
	ReasonProtected   = "data protected (PD1-12)"
	ReasonNoRecall    = "no reminder/recall (PD1-11)"
	ReasonInactive    = "permanently inactive (PD1-16)"
	ReasonMoved       = "moved or gone elsewhere"
	ReasonDeceased    = "deceased"
	ReasonNoBirthDate = "no birth date"
)

// publicity is what a PD1-11 publicity code (HL7 table 0215) allows.
type publicity struct {
	none         bool // 01: no reminder/recall
	reminderOnly bool // groups due, not overdue
	recallOnly   bool // overdue groups only
	noCalls      bool
}

func publicityOf(code string) publicity {
	switch strings.TrimSpace(code) {
	case "01":
		return publicity{none: true}
	case "03":
		return publicity{noCalls: true}
	case "04", "09", "10":
		return publicity{reminderOnly: true}
	case "05":
		return publicity{reminderOnly: true, noCalls: true}
	case "06", "11", "12":
		return publicity{recallOnly: true}
	case "07":
		return publicity{recallOnly: true, noCalls: true}
	}
	return publicity{}
}

// exclusion is why the child c is left out whatever it is due for, or "".
func exclusion(c *registry.RecallCandidate) string {
	p := &c.Record.Patient
	switch {
	case c.OptedOut:
		return ReasonOptedOut
	case strings.EqualFold(p.Protection, "Y"):
		return ReasonProtected
	case publicityOf(p.PublicityCode.Code).none:
		return ReasonNoRecall
	case strings.EqualFold(p.RegistryStatus, "P"):
		return ReasonInactive
	case strings.EqualFold(p.RegistryStatus, "M"), c.MarkedMoved:
		return ReasonMoved
	case !p.DeathDate.IsZero() || strings.EqualFold(p.DeathIndicator, "Y"):
		return ReasonDeceased
	case p.BirthDate.IsZero():
		return ReasonNoBirthDate
	}
	return ""
}

// Select applies the run's rules to one candidate: the reason it is left
// out, or the child with the chosen groups it is due for (nil when none).
func Select(fc *forecast.Engine, c *registry.RecallCandidate, p *Params) (*Child, string) {
	if r := exclusion(c); r != "" {
		return nil, r
	}
	pat := &c.Record.Patient
	pub := publicityOf(pat.PublicityCode.Code)
	in := fc.FromRecord(pat, c.Record.Vaccinations)
	res := fc.Forecast(in.Patient, in.Doses, p.By)
	by := forecast.DateOf(p.By)
	groups := p.Groups
	if len(groups) == 0 {
		groups = DefaultGroups
	}
	var due []DueGroup
	for i := range res.Groups {
		g := &res.Groups[i]
		if !slices.ContainsFunc(groups, func(s string) bool { return strings.EqualFold(s, g.VaccineGroup) }) {
			continue
		}
		st := groupStatus(g, by)
		switch {
		case st == NotDue,
			p.OverdueOnly && st != Overdue,
			pub.reminderOnly && st == Overdue,
			pub.recallOnly && st != Overdue:
			continue
		}
		due = append(due, DueGroup{Group: g.VaccineGroup, Dose: g.DoseNumber, Status: st,
			Recommended: timeOf(g.Recommended), PastDue: timeOf(g.PastDue)})
	}
	if len(due) == 0 {
		return nil, ""
	}
	return childOf(c, due, pub.noCalls), ""
}

// groupStatus is a group's standing by the date by.
func groupStatus(g *forecast.GroupForecast, by forecast.Date) Status {
	if g.Status != forecast.NotComplete {
		return NotDue
	}
	switch {
	case g.PastDue != forecast.NoDate && by >= g.PastDue:
		return Overdue
	case g.Recommended != forecast.NoDate && by >= g.Recommended,
		g.Recommended == forecast.NoDate && g.Earliest != forecast.NoDate && by >= g.Earliest:
		return Due
	}
	return NotDue
}

func timeOf(d forecast.Date) time.Time {
	if d == forecast.NoDate {
		return time.Time{}
	}
	return d.Time()
}

// childOf is the child's line of the list: name, guardian, the first
// address (the guardian's when the child has none) and the first phone.
func childOf(c *registry.RecallCandidate, due []DueGroup, noCalls bool) *Child {
	p := &c.Record.Patient
	n := p.LegalName()
	ch := &Child{ID: c.ID, Given: n.Given, Family: n.Family, BirthDate: p.BirthDate, Sex: p.Sex, Due: due, Language: LanguageOf(p.PrimaryLanguage.Code),
		Contacts: c.Contacts, LastContact: c.LastContact, LastMethod: c.LastMethod}
	addrs, phones := p.Addresses, p.Phones
	if len(p.Guardians) > 0 {
		g := &p.Guardians[0]
		ch.Guardian = strings.TrimSpace(g.Name.Given + " " + g.Name.Family)
		if len(addrs) == 0 {
			addrs = g.Addresses
		}
		phones = append(slices.Clip(phones), g.Phones...)
	}
	if len(addrs) > 0 {
		a := addrs[0]
		ch.Address = Address{Street: a.Street, Other: a.Other, City: a.City, State: a.State, Zip: a.Zip}
	}
	if !noCalls {
		ch.Phone = firstPhone(phones)
	}
	return ch
}

func firstPhone(ps []iis.Phone) string {
	for _, ph := range ps {
		if n := ph.Number(); n != "" {
			return n
		}
	}
	return ""
}
