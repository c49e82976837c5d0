package registry

import (
	"reflect"
	"testing"
	"time"

	"github.com/iisproject/iis"
)

// TestDoseDetailRoundTrip: every field the detail column holds comes back
// as it went in, a separator inside a value as a space.
func TestDoseDetailRoundTrip(t *testing.T) {
	c := func(s string) iis.Code {
		return iis.Code{Code: s, Text: s + " text", System: "SYS", AltCode: "a" + s, AltText: "alt", AltSystem: "ASYS"}
	}
	est := time.FixedZone("", -5*3600)
	full := iis.Vaccination{
		Vaccine: c("08"), AdministeredEnd: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC),
		PlacerOrder: iis.Identifier{Value: "P1", Authority: "NS"}, EnteredBy: iis.Provider{ID: "1", Family: "F", Given: "G", Authority: "A"},
		OrderedBy: iis.Provider{ID: "2", Family: "Ord"}, Amount: "0.5", Units: c("mL"), InformationSource: c("00"),
		AdministeredBy: iis.Provider{ID: "3", Given: "Nurse"}, Facility: iis.Organization{Name: "DCS_DC", ID: "1.2.3", IDType: "ISO", Authority: "X"},
		Lots: []string{"L1", "L2"}, Expiration: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), Manufacturer: c("MSD"),
		RefusalReasons: []iis.Code{c("00"), c("01")}, SystemEntry: time.Date(2024, 3, 2, 10, 11, 12, 0, est),
		Route: c("C28161"), Site: c("LT"), FundingEligibility: c("V02"), EligibilityMethod: c("VXC40"), FundingSource: c("VXC2"),
		VIS:      []iis.VIS{{Document: c("2530"), Published: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)}, {VaccineType: c("45"), Presented: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)}},
		Immunity: []iis.Code{c("38907003")}, Contraindications: []iis.Code{c("VXC20")}, Reactions: []iis.Code{c("39579001")},
		Observations: []iis.Observation{{SetID: 7, ValueType: "ST", ID: c("48767-8"), SubID: "2", Value: "a\x1fnote", Units: c("u"),
			Status: "F", Date: time.Date(2024, 3, 1, 9, 0, 0, 0, est), Method: c("m")}},
	}
	var got iis.Vaccination
	if err := decodeDose(encodeDose(&full), &got); err != nil {
		t.Fatal(err)
	}
	want := full
	want.Observations = []iis.Observation{full.Observations[0]}
	want.Observations[0].Value = "a note"
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
	}
	var empty iis.Vaccination
	if err := decodeDose(encodeDose(&iis.Vaccination{}), &empty); err != nil || !reflect.DeepEqual(empty, iis.Vaccination{}) {
		t.Errorf("empty dose: %+v (%v)", empty, err)
	}
}

// FuzzDecodeDose: a damaged detail column is an error, never a panic.
func FuzzDecodeDose(f *testing.F) {
	f.Add(encodeDose(&iis.Vaccination{Lots: []string{"x"}, Immunity: []iis.Code{{Code: "1"}}}))
	f.Add("d2\x1f")
	f.Add("d2\x1f0:a\x1f3:x\x1f30:999999999\x1f")
	f.Fuzz(func(t *testing.T, s string) {
		var v iis.Vaccination
		_ = decodeDose(s, &v)
	})
}
