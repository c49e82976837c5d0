package fhirapi

import (
	"strings"

	cpb "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/codes_go_proto"
	dpb "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/datatypes_go_proto"
	ppb "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/resources/patient_go_proto"

	"github.com/iisproject/iis"
	"github.com/iisproject/iis/registry"
)

// authoritySystem is the identifier system of patient identifiers whose
// assigning authority (PID-3.4) is not itself a URI.
const authoritySystem = "urn:iis:assigning-authority:"

// identifierSystem names an assigning authority as a URI.
func identifierSystem(authority string) string {
	if authority == "" {
		return ""
	}
	if strings.HasPrefix(authority, "urn:") || strings.HasPrefix(authority, "http://") || strings.HasPrefix(authority, "https://") {
		return authority
	}
	return authoritySystem + authority
}

// authorityOf is the assigning authority an identifier system names.
func authorityOf(system string) string {
	return strings.TrimPrefix(system, authoritySystem)
}

// toPatient maps a registry patient (PID, PD1, NK1 as consolidated) to a
// FHIR Patient, after the V2-to-FHIR PID→Patient map.
func toPatient(r *registry.DisclosableRecord) *ppb.Patient {
	p := &r.Patient
	out := &ppb.Patient{Id: fid(r.PatientID), Meta: &dpb.Meta{LastUpdated: finstant(r.Updated)}}
	for _, id := range p.Identifiers {
		fi := &dpb.Identifier{Value: fstr(id.Value)}
		if sys := identifierSystem(id.Authority); sys != "" {
			fi.System = furi(sys)
		}
		if id.Type != "" {
			fi.Type = conceptOf(codeSystems["HL70203"], id.Type, "")
		}
		out.Identifier = append(out.Identifier, fi)
	}
	for _, n := range p.Names {
		if hn := humanName(n); hn != nil {
			out.Name = append(out.Name, hn)
		}
	}
	if !p.MotherMaidenName.IsZero() {
		out.Extension = append(out.Extension, extension("http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName",
			&dpb.Extension_ValueX{Choice: &dpb.Extension_ValueX_StringValue{StringValue: fstr(strings.TrimSpace(p.MotherMaidenName.Family + " " + p.MotherMaidenName.Given))}}))
	}
	out.Gender = gender(p.Sex)
	out.BirthDate = fdate(p.BirthDate)
	switch {
	case !p.DeathDate.IsZero():
		out.Deceased = &ppb.Patient_DeceasedX{Choice: &ppb.Patient_DeceasedX_DateTime{DateTime: fday(p.DeathDate)}}
	case p.DeathIndicator == "Y":
		out.Deceased = &ppb.Patient_DeceasedX{Choice: &ppb.Patient_DeceasedX_Boolean{Boolean: fbool(true)}}
	}
	switch {
	case p.MultipleBirth == "Y" && p.BirthOrder > 0:
		out.MultipleBirth = &ppb.Patient_MultipleBirthX{Choice: &ppb.Patient_MultipleBirthX_Integer{Integer: &dpb.Integer{Value: int32(p.BirthOrder)}}}
	case p.MultipleBirth == "Y" || p.MultipleBirth == "N":
		out.MultipleBirth = &ppb.Patient_MultipleBirthX{Choice: &ppb.Patient_MultipleBirthX_Boolean{Boolean: fbool(p.MultipleBirth == "Y")}}
	}
	for _, a := range p.Addresses {
		out.Address = append(out.Address, address(a))
	}
	for _, ph := range p.Phones {
		if cp := contactPoint(ph); cp != nil {
			out.Telecom = append(out.Telecom, cp)
		}
	}
	for _, g := range p.Guardians {
		out.Contact = append(out.Contact, contact(g))
	}
	return out
}

func humanName(n iis.Name) *dpb.HumanName {
	if n.IsZero() {
		return nil
	}
	hn := &dpb.HumanName{Family: fstr(n.Family)}
	for _, g := range []string{n.Given, n.Middle} {
		if g != "" {
			hn.Given = append(hn.Given, fstr(g))
		}
	}
	if n.Suffix != "" {
		hn.Suffix = []*dpb.String{fstr(n.Suffix)}
	}
	if n.Prefix != "" {
		hn.Prefix = []*dpb.String{fstr(n.Prefix)}
	}
	use := map[string]cpb.NameUseCode_Value{"L": cpb.NameUseCode_OFFICIAL, "A": cpb.NameUseCode_USUAL, "M": cpb.NameUseCode_MAIDEN,
		"N": cpb.NameUseCode_NICKNAME, "S": cpb.NameUseCode_ANONYMOUS, "T": cpb.NameUseCode_TEMP}[n.Type]
	if use != cpb.NameUseCode_INVALID_UNINITIALIZED {
		hn.Use = &dpb.HumanName_UseCode{Value: use}
	}
	return hn
}

func gender(sex string) *ppb.Patient_GenderCode {
	g := map[string]cpb.AdministrativeGenderCode_Value{"M": cpb.AdministrativeGenderCode_MALE, "F": cpb.AdministrativeGenderCode_FEMALE,
		"U": cpb.AdministrativeGenderCode_UNKNOWN, "X": cpb.AdministrativeGenderCode_OTHER, "O": cpb.AdministrativeGenderCode_OTHER}[strings.ToUpper(sex)]
	if g == cpb.AdministrativeGenderCode_INVALID_UNINITIALIZED {
		return nil
	}
	return &ppb.Patient_GenderCode{Value: g}
}

// genderSex is the v2 sex a FHIR gender search names.
func genderSex(g string) (string, bool) {
	s, ok := map[string]string{"male": "M", "female": "F", "unknown": "U", "other": "X"}[g]
	return s, ok
}

func address(a iis.Address) *dpb.Address {
	fa := &dpb.Address{City: fstr(a.City), State: fstr(a.State), PostalCode: fstr(a.Zip), Country: fstr(a.Country), District: fstr(a.County)}
	for _, l := range []string{a.Street, a.Other} {
		if l != "" {
			fa.Line = append(fa.Line, fstr(l))
		}
	}
	switch a.Type {
	case "H", "L", "P":
		fa.Use = &dpb.Address_UseCode{Value: cpb.AddressUseCode_HOME}
	case "B", "O":
		fa.Use = &dpb.Address_UseCode{Value: cpb.AddressUseCode_WORK}
	}
	return fa
}

func contactPoint(ph iis.Phone) *dpb.ContactPoint {
	if ph.Email != "" {
		return &dpb.ContactPoint{System: &dpb.ContactPoint_SystemCode{Value: cpb.ContactPointSystemCode_EMAIL}, Value: fstr(ph.Email)}
	}
	num := ph.Number()
	if num == "" {
		return nil
	}
	cp := &dpb.ContactPoint{System: &dpb.ContactPoint_SystemCode{Value: cpb.ContactPointSystemCode_PHONE}, Value: fstr(num)}
	switch {
	case ph.Equipment == "CP":
		cp.Use = &dpb.ContactPoint_UseCode{Value: cpb.ContactPointUseCode_MOBILE}
	case ph.Use == "PRN":
		cp.Use = &dpb.ContactPoint_UseCode{Value: cpb.ContactPointUseCode_HOME}
	case ph.Use == "WPN":
		cp.Use = &dpb.ContactPoint_UseCode{Value: cpb.ContactPointUseCode_WORK}
	}
	return cp
}

func contact(g iis.Guardian) *ppb.Patient_Contact {
	c := &ppb.Patient_Contact{Name: humanName(g.Name)}
	if rel := concept(withSystem(g.Relationship, "HL70063")); rel != nil {
		c.Relationship = []*dpb.CodeableConcept{rel}
	}
	for _, ph := range g.Phones {
		if cp := contactPoint(ph); cp != nil {
			c.Telecom = append(c.Telecom, cp)
		}
	}
	if len(g.Addresses) > 0 {
		c.Address = address(g.Addresses[0])
	}
	return c
}

// withSystem gives c the coding system def when it names none.
func withSystem(c iis.Code, def string) iis.Code {
	if c.Code != "" && c.System == "" {
		c.System = def
	}
	return c
}
