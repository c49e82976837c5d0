package forecast

import (
	"strings"
	"time"

	"github.com/iisproject/iis"
)

// Record is the engine's input made from a patient's immunization record,
// as a VXU reports it or as the registry consolidates it.
type Record struct {
	Patient Patient
	Doses   []Dose
	// DoseOf[i] is the index, in the vaccinations given to FromRecord, of
	// Doses[i].
	DoseOf []int
	// Refusals are the vaccinations refused (RXA-20 RE). CDSi's logic has
	// no use for them (a refused dose is still due); they are carried so
	// that a caller reports them with the forecast.
	Refusals []Refusal
}

// Refusal is one refused vaccination.
type Refusal struct {
	Date    time.Time
	CVX     string
	Reasons []string // RXA-18 codes (NIP002: 00 parental decision, …)
}

// The OBX-3 observations whose coded values (OBX-5) are CDSi observations:
// evidence of immunity, serological evidence, contraindications and
// precautions, indications, reactions.
var evidenceObservations = map[string]bool{
	"59784-9": true, // disease with presumed immunity
	"75505-8": true, // serological evidence of immunity
	"30945-0": true, // vaccination contraindication and/or precaution
	"59785-6": true, // indication for immunization
	"31044-1": true, // reaction
}

// CodeSystemCDSi names, in an OBX-5 coding system, a CDSi observation code
// sent as itself (e.g. 042^Smoke cigarettes^CDSI), for the observations CDC
// lists no SNOMED or CDCPHINVS code for.
const CodeSystemCDSi = "CDSI"

// FromRecord maps a patient and the patient's vaccinations (reported or
// consolidated) to engine input: birth date and sex; every dose
// administered (deleted, refused and not-administered groups and the 998
// "no vaccine administered" records are left out; doses given after the
// lot's expiry are flagged expired, partial doses subpotent); the CDSi
// observations that the patient's and the doses' evidence of immunity,
// contraindications, indications and reactions name, each once; and the
// refusals.
func (e *Engine) FromRecord(p *iis.Patient, vs []iis.Vaccination) Record {
	r := Record{Patient: Patient{DOB: p.BirthDate, Gender: ParseGender(p.Sex)}}
	seen := map[string]bool{}
	add := func(c iis.Code, on time.Time) {
		for _, t := range [2][2]string{{c.Code, c.System}, {c.AltCode, c.AltSystem}} {
			o := ""
			switch {
			case t[0] == "":
			case strings.EqualFold(t[1], CodeSystemCDSi):
				if e.ObservationTitle(t[0]) != "" {
					o = t[0]
				}
			default:
				o = e.ObservationCode(t[0])
			}
			if o != "" && !seen[o] {
				seen[o] = true
				r.Patient.Observations = append(r.Patient.Observations, Observation{Code: o, Date: on})
			}
		}
	}
	addObs := func(obs []iis.Observation) {
		for _, o := range obs {
			if evidenceObservations[o.ID.Code] || evidenceObservations[o.ID.AltCode] {
				add(o.Coded, o.Date)
			}
		}
	}
	addObs(p.Observations)
	for i := range vs {
		v := &vs[i]
		if strings.EqualFold(v.Action, "D") {
			continue
		}
		for _, cs := range [...][]iis.Code{v.Immunity, v.Contraindications, v.Reactions} {
			for _, c := range cs {
				add(c, time.Time{})
			}
		}
		addObs(v.Observations)
		status := strings.ToUpper(v.CompletionStatus)
		if status == "RE" {
			ref := Refusal{Date: v.AdministeredAt, CVX: v.CVX}
			for _, c := range v.RefusalReasons {
				ref.Reasons = append(ref.Reasons, c.Code)
			}
			r.Refusals = append(r.Refusals, ref)
			continue
		}
		if status == "NA" || v.CVX == "" || v.CVX == "998" || v.AdministeredAt.IsZero() {
			continue
		}
		d := Dose{Date: v.AdministeredAt, CVX: v.CVX, MVX: v.Manufacturer.Code}
		switch {
		case !v.Expiration.IsZero() && v.AdministeredAt.After(v.Expiration):
			d.Condition = ConditionExpired
		case status == "PA":
			d.Condition = ConditionSubpotent
		}
		r.Doses = append(r.Doses, d)
		r.DoseOf = append(r.DoseOf, i)
	}
	return r
}
