package registry

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/iisproject/iis"
)

// The detail columns (source_vaccinations.detail, patient_observations.detail,
// patient_guardians.detail, patients.races/ethnicities) keep what a report
// said beyond the columns consolidation and matching read, so that an
// answer gives each fact as the sender gave it. The rarely read ones are
// JSON of the types below (short keys, empty values left out); a dose's,
// read for every dose of every answer, has its own positional encoding
// (dosecodec.go).

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
