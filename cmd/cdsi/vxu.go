package main

import (
	"errors"

	"github.com/iisproject/iis/forecast"
	"github.com/iisproject/iis/hl7/immz"
)

// fromVXU decodes an HL7 VXU^V04 (CDC IG R1.5) into forecast input with
// forecast.(*Engine).FromRecord, the mapping the registry's query answers
// use too: the patient's birth date and sex, every administered dose, the
// OBX evidence of immunity, contraindications and indications as CDSi
// observations, and the refusals.
func fromVXU(e *forecast.Engine, raw []byte) (forecast.Record, error) {
	res := immz.New(immz.Config{}).Decode(raw)
	if res.VXU == nil {
		for _, is := range res.Issues {
			if is.Severity == immz.Error {
				return forecast.Record{}, errors.New("VXU rejected: " + is.Message)
			}
		}
		return forecast.Record{}, errors.New("not a usable VXU^V04 message")
	}
	v := res.VXU
	if v.Patient.BirthDate.IsZero() {
		return forecast.Record{}, errors.New("VXU has no patient birth date (PID-7)")
	}
	return e.FromRecord(&v.Patient, v.Vaccinations), nil
}
