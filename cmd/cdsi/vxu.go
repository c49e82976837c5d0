package main

import (
	"errors"
	"strings"

	"github.com/iisproject/iis/forecast"
	"github.com/iisproject/iis/hl7/immz"
)

// fromVXU decodes an HL7 VXU^V04 (CDC IG R1.5) into forecast input: the
// patient's birth date and sex, every administered dose (deleted, refused
// and not-administered RXA groups are left out; expired or partial doses
// are flagged), and OBX evidence of immunity and contraindications mapped
// to CDSi observation codes through the supporting data's coded values.
func fromVXU(e *forecast.Engine, raw []byte) (forecast.Patient, []forecast.Dose, error) {
	var p forecast.Patient
	res := immz.New(immz.Config{}).Decode(raw)
	if res.VXU == nil {
		for _, is := range res.Issues {
			if is.Severity == immz.Error {
				return p, nil, errors.New("VXU rejected: " + is.Message)
			}
		}
		return p, nil, errors.New("not a usable VXU^V04 message")
	}
	v := res.VXU
	p.DOB = v.Patient.BirthDate
	if p.DOB.IsZero() {
		return p, nil, errors.New("VXU has no patient birth date (PID-7)")
	}
	p.Gender = forecast.ParseGender(v.Patient.Sex)
	seen := map[string]bool{}
	addObs := func(codes ...string) {
		for _, c := range codes {
			if o := e.ObservationCode(c); o != "" && !seen[o] {
				seen[o] = true
				p.Observations = append(p.Observations, forecast.Observation{Code: o})
			}
		}
	}
	for _, o := range v.Patient.Observations {
		addObs(o.Coded.Code, o.Coded.AltCode)
	}
	var doses []forecast.Dose
	for _, vac := range v.Vaccinations {
		for _, c := range vac.Immunity {
			addObs(c.Code, c.AltCode)
		}
		for _, c := range vac.Contraindications {
			addObs(c.Code, c.AltCode)
		}
		for _, o := range vac.Observations {
			addObs(o.Coded.Code, o.Coded.AltCode)
		}
		status := strings.ToUpper(vac.CompletionStatus)
		if strings.EqualFold(vac.Action, "D") || status == "RE" || status == "NA" || vac.CVX == "" || vac.AdministeredAt.IsZero() {
			continue
		}
		d := forecast.Dose{Date: vac.AdministeredAt, CVX: vac.CVX, MVX: vac.Manufacturer.Code}
		switch {
		case !vac.Expiration.IsZero() && vac.AdministeredAt.After(vac.Expiration):
			d.Condition = forecast.ConditionExpired
		case status == "PA":
			d.Condition = forecast.ConditionSubpotent
		}
		doses = append(doses, d)
	}
	return p, doses, nil
}
