package registry

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/iisproject/iis"
)

// The detail columns (source_vaccinations.detail, patient_observations.detail)
// keep what a report said beyond the columns consolidation reads, so that
// an answer gives each fact as the sender gave it. They are JSON of the
// types below: short keys, empty values left out.

// jcode is an iis.Code.
type jcode struct {
	C  string `json:"c,omitempty"`
	T  string `json:"t,omitempty"`
	S  string `json:"s,omitempty"`
	AC string `json:"ac,omitempty"`
	AT string `json:"at,omitempty"`
	AS string `json:"as,omitempty"`
}

func toJ(c iis.Code) jcode {
	return jcode{c.Code, c.Text, c.System, c.AltCode, c.AltText, c.AltSystem}
}

func (j jcode) code() iis.Code {
	return iis.Code{Code: j.C, Text: j.T, System: j.S, AltCode: j.AC, AltText: j.AT, AltSystem: j.AS}
}

func toJs(cs []iis.Code) []jcode {
	if len(cs) == 0 {
		return nil
	}
	out := make([]jcode, len(cs))
	for i, c := range cs {
		out[i] = toJ(c)
	}
	return out
}

func codesOf(js []jcode) []iis.Code {
	if len(js) == 0 {
		return nil
	}
	out := make([]iis.Code, len(js))
	for i, j := range js {
		out[i] = j.code()
	}
	return out
}

// jprovider is an iis.Provider, jorg an iis.Organization (same fields).
type jprovider struct {
	ID        string `json:"id,omitempty"`
	Family    string `json:"f,omitempty"`
	Given     string `json:"g,omitempty"`
	Authority string `json:"a,omitempty"`
}

type jorg struct {
	Name      string `json:"n,omitempty"`
	ID        string `json:"id,omitempty"`
	IDType    string `json:"t,omitempty"`
	Authority string `json:"a,omitempty"`
}

type jvis struct {
	Doc       jcode     `json:"doc,omitzero"`
	Type      jcode     `json:"type,omitzero"`
	Published time.Time `json:"pub,omitzero"`
	Presented time.Time `json:"pres,omitzero"`
}

// jobs is an iis.Observation.
type jobs struct {
	Set    int       `json:"set,omitempty"`
	VT     string    `json:"vt,omitempty"`
	ID     jcode     `json:"id,omitzero"`
	Sub    string    `json:"sub,omitempty"`
	Coded  jcode     `json:"cv,omitzero"`
	Value  string    `json:"v,omitempty"`
	Units  jcode     `json:"u,omitzero"`
	Status string    `json:"st,omitempty"`
	Date   time.Time `json:"d,omitzero"`
	Method jcode     `json:"m,omitzero"`
}

func toJObs(o iis.Observation) jobs {
	return jobs{o.SetID, o.ValueType, toJ(o.ID), o.SubID, toJ(o.Coded), o.Value, toJ(o.Units), o.Status, o.Date, toJ(o.Method)}
}

func (j jobs) observation() iis.Observation {
	return iis.Observation{SetID: j.Set, ValueType: j.VT, ID: j.ID.code(), SubID: j.Sub, Coded: j.Coded.code(), Value: j.Value,
		Units: j.Units.code(), Status: j.Status, Date: j.Date, Method: j.Method.code()}
}

// doseDetail is the part of an iis.Vaccination that source_vaccinations'
// other columns do not hold.
type doseDetail struct {
	Vaccine       jcode     `json:"vx,omitzero"` // RXA-5 as sent
	End           time.Time `json:"end,omitzero"`
	Placer        string    `json:"po,omitempty"`
	PlacerNS      string    `json:"pons,omitempty"`
	EnteredBy     jprovider `json:"eb,omitzero"`
	OrderedBy     jprovider `json:"ob,omitzero"`
	Amount        string    `json:"amt,omitempty"`
	Units         jcode     `json:"units,omitzero"`
	Source        jcode     `json:"src,omitzero"`
	By            jprovider `json:"by,omitzero"`
	Facility      jorg      `json:"fac,omitzero"`
	Lots          []string  `json:"lots,omitempty"` // every RXA-15 repetition
	Expiration    time.Time `json:"exp,omitzero"`
	Manufacturer  jcode     `json:"mvx,omitzero"`
	Refusals      []jcode   `json:"ref,omitempty"`
	SystemEntry   time.Time `json:"sys,omitzero"`
	Route         jcode     `json:"route,omitzero"`
	Site          jcode     `json:"site,omitzero"`
	Eligibility   jcode     `json:"elig,omitzero"`
	EligMethod    jcode     `json:"eligm,omitzero"`
	FundingSource jcode     `json:"fund,omitzero"`
	VIS           []jvis    `json:"vis,omitempty"`
	Immunity      []jcode   `json:"imm,omitempty"`
	Contra        []jcode   `json:"ci,omitempty"`
	Reactions     []jcode   `json:"rx,omitempty"`
	Observations  []jobs    `json:"obs,omitempty"`
}

// encodeDose returns v's detail column.
func encodeDose(v *iis.Vaccination) string {
	d := doseDetail{
		Vaccine: toJ(v.Vaccine), End: v.AdministeredEnd, Placer: v.PlacerOrder.Value, PlacerNS: v.PlacerOrder.Authority,
		EnteredBy: jprovider(v.EnteredBy), OrderedBy: jprovider(v.OrderedBy),
		Amount: v.Amount, Units: toJ(v.Units), Source: toJ(v.InformationSource), By: jprovider(v.AdministeredBy),
		Facility: jorg(v.Facility), Lots: v.Lots, Expiration: v.Expiration, Manufacturer: toJ(v.Manufacturer),
		Refusals: toJs(v.RefusalReasons), SystemEntry: v.SystemEntry, Route: toJ(v.Route), Site: toJ(v.Site),
		Eligibility: toJ(v.FundingEligibility), EligMethod: toJ(v.EligibilityMethod), FundingSource: toJ(v.FundingSource),
		Immunity: toJs(v.Immunity), Contra: toJs(v.Contraindications), Reactions: toJs(v.Reactions),
	}
	for _, x := range v.VIS {
		d.VIS = append(d.VIS, jvis{toJ(x.Document), toJ(x.VaccineType), x.Published, x.Presented})
	}
	for _, o := range v.Observations {
		d.Observations = append(d.Observations, toJObs(o))
	}
	b, err := json.Marshal(&d)
	if err != nil { // strings, codes and times only: cannot fail
		panic(fmt.Sprintf("registry: encode dose detail: %v", err))
	}
	return string(b)
}

// decodeDose fills v from a detail column (” leaves v as it is).
func decodeDose(s string, v *iis.Vaccination) error {
	if s == "" {
		return nil
	}
	var d doseDetail
	if err := json.Unmarshal([]byte(s), &d); err != nil {
		return fmt.Errorf("dose detail: %w", err)
	}
	if !(d.Vaccine == jcode{}) {
		v.Vaccine = d.Vaccine.code()
	}
	v.AdministeredEnd, v.PlacerOrder = d.End, iis.Identifier{Value: d.Placer, Authority: d.PlacerNS}
	v.EnteredBy, v.OrderedBy = iis.Provider(d.EnteredBy), iis.Provider(d.OrderedBy)
	v.Amount, v.Units, v.AdministeredBy, v.Facility = d.Amount, d.Units.code(), iis.Provider(d.By), iis.Organization(d.Facility)
	if !(d.Source == jcode{}) {
		v.InformationSource = d.Source.code()
	} else {
		v.InformationSource = iis.Code{}
	}
	if len(d.Lots) > 0 {
		v.Lots = d.Lots
	}
	v.Expiration = d.Expiration
	if !(d.Manufacturer == jcode{}) {
		v.Manufacturer = d.Manufacturer.code()
	}
	v.RefusalReasons, v.SystemEntry, v.Route, v.Site = codesOf(d.Refusals), d.SystemEntry, d.Route.code(), d.Site.code()
	v.FundingEligibility, v.EligibilityMethod, v.FundingSource = d.Eligibility.code(), d.EligMethod.code(), d.FundingSource.code()
	v.VIS = nil
	for _, x := range d.VIS {
		v.VIS = append(v.VIS, iis.VIS{Document: x.Doc.code(), VaccineType: x.Type.code(), Published: x.Published, Presented: x.Presented})
	}
	v.Immunity, v.Contraindications, v.Reactions = codesOf(d.Immunity), codesOf(d.Contra), codesOf(d.Reactions)
	v.Observations = nil
	for _, o := range d.Observations {
		v.Observations = append(v.Observations, o.observation())
	}
	return nil
}

// encodeObservation returns a patient_observations detail.
func encodeObservation(o iis.Observation) string {
	b, err := json.Marshal(toJObs(o))
	if err != nil {
		panic(fmt.Sprintf("registry: encode observation: %v", err))
	}
	return string(b)
}

func decodeObservation(s string) (iis.Observation, error) {
	var j jobs
	if err := json.Unmarshal([]byte(s), &j); err != nil {
		return iis.Observation{}, fmt.Errorf("observation detail: %w", err)
	}
	return j.observation(), nil
}

// encodeCodes returns a column of codes (” for none).
func encodeCodes(cs []iis.Code) string {
	if len(cs) == 0 {
		return ""
	}
	b, err := json.Marshal(toJs(cs))
	if err != nil {
		panic(fmt.Sprintf("registry: encode codes: %v", err))
	}
	return string(b)
}

func decodeCodes(s string) ([]iis.Code, error) {
	if s == "" {
		return nil, nil
	}
	var js []jcode
	if err := json.Unmarshal([]byte(s), &js); err != nil {
		return nil, fmt.Errorf("codes: %w", err)
	}
	return codesOf(js), nil
}

// jname is an iis.Name, jaddr an iis.Address, jphone an iis.Phone (same
// fields).
type jname struct {
	Family string `json:"f,omitempty"`
	Given  string `json:"g,omitempty"`
	Middle string `json:"m,omitempty"`
	Suffix string `json:"s,omitempty"`
	Prefix string `json:"p,omitempty"`
	Type   string `json:"t,omitempty"`
}

type jaddr struct {
	Street  string `json:"st,omitempty"`
	Other   string `json:"o,omitempty"`
	City    string `json:"c,omitempty"`
	State   string `json:"s,omitempty"`
	Zip     string `json:"z,omitempty"`
	Country string `json:"co,omitempty"`
	Type    string `json:"t,omitempty"`
	County  string `json:"cy,omitempty"`
}

type jphone struct {
	Use             string `json:"u,omitempty"`
	Equipment       string `json:"e,omitempty"`
	Email           string `json:"em,omitempty"`
	Area            string `json:"a,omitempty"`
	Local           string `json:"l,omitempty"`
	Extension       string `json:"x,omitempty"`
	Country         string `json:"c,omitempty"`
	UnformattedText string `json:"ut,omitempty"`
}

type jguardian struct {
	Name         jname    `json:"n,omitzero"`
	Relationship jcode    `json:"r,omitzero"`
	Addresses    []jaddr  `json:"a,omitempty"`
	Phones       []jphone `json:"p,omitempty"`
}

// encodeGuardian returns a patient_guardians detail.
func encodeGuardian(g *iis.Guardian) string {
	j := jguardian{Name: jname(g.Name), Relationship: toJ(g.Relationship)}
	for _, a := range g.Addresses {
		j.Addresses = append(j.Addresses, jaddr(a))
	}
	for _, p := range g.Phones {
		j.Phones = append(j.Phones, jphone(p))
	}
	b, err := json.Marshal(&j)
	if err != nil {
		panic(fmt.Sprintf("registry: encode guardian: %v", err))
	}
	return string(b)
}

func decodeGuardian(s string) (iis.Guardian, error) {
	var j jguardian
	if err := json.Unmarshal([]byte(s), &j); err != nil {
		return iis.Guardian{}, fmt.Errorf("guardian detail: %w", err)
	}
	g := iis.Guardian{Name: iis.Name(j.Name), Relationship: j.Relationship.code()}
	for _, a := range j.Addresses {
		g.Addresses = append(g.Addresses, iis.Address(a))
	}
	for _, p := range j.Phones {
		g.Phones = append(g.Phones, iis.Phone(p))
	}
	return g, nil
}
