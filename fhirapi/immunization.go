package fhirapi

import (
	"strconv"
	"strings"

	dpb "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/datatypes_go_proto"
	ipb "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/resources/immunization_go_proto"
	vpb "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/valuesets_go_proto"

	"github.com/iisproject/iis"
	"github.com/iisproject/iis/codeset"
)

const actReason = "http://terminology.hl7.org/CodeSystem/v3-ActReason"

// toImmunization maps one vaccination of the registry's record (an
// ORC/RXA/RXR/OBX group as consolidated) to a FHIR Immunization, after the
// V2-to-FHIR IG's RXA, RXR and OBX maps:
//   - RXA-20 RE (refused) and NA (not administered), and the 998 record
//     of immunity, are status not-done with a statusReason (RXA-18's
//     reasons, with v3 ActReason PATOBJ for a refusal and IMMUNE for
//     immunity); PA (partially administered) is completed and subpotent;
//   - RXA-9 other than 00 (historical) is primarySource false, with
//     reportOrigin the RXA-9 code;
//   - lot, expiry, manufacturer (RXA-15/16/17), administering and ordering
//     provider (RXA-10, ORC-12), dose quantity (RXA-6/7), route and site
//     (RXR-1/2), funding eligibility (OBX 64994-7 → programEligibility),
//     funding source (OBX 30963-3), VIS (OBX 69764-9 or 30956-7 with
//     29768-9 and 29769-7 → education).
func toImmunization(id, patientID int64, v *iis.Vaccination) *ipb.Immunization {
	im := &ipb.Immunization{
		Id:            fid(id),
		Status:        &ipb.Immunization_StatusCode{Value: vpb.ImmunizationStatusCodesValueSet_COMPLETED},
		VaccineCode:   vaccineCode(v),
		Patient:       patientRef(patientID),
		Occurrence:    &ipb.Immunization_OccurrenceX{Choice: &ipb.Immunization_OccurrenceX_DateTime{DateTime: fday(v.AdministeredAt)}},
		PrimarySource: fbool(!v.Historical),
	}
	if v.FillerOrder.Value != "" {
		fi := &dpb.Identifier{Value: fstr(v.FillerOrder.Value)}
		if sys := identifierSystem(v.FillerOrder.Authority); sys != "" {
			fi.System = furi(sys)
		}
		im.Identifier = []*dpb.Identifier{fi}
	}
	status(im, v)
	if v.Historical && !v.InformationSource.IsZero() {
		im.ReportOrigin = concept(withSystem(v.InformationSource, "NIP001"))
	}
	if !v.SystemEntry.IsZero() {
		im.Recorded = fday(v.SystemEntry)
	}
	administration(im, v)
	funding(im, v)
	for _, vis := range v.VIS {
		if e := education(vis); e != nil {
			im.Education = append(im.Education, e)
		}
	}
	return im
}

func vaccineCode(v *iis.Vaccination) *dpb.CodeableConcept {
	cc := &dpb.CodeableConcept{}
	if v.CVX != "" {
		cc.Coding = append(cc.Coding, coding(codeSystems["CVX"], v.CVX, v.Vaccine.Text))
	}
	if v.NDC != "" {
		cc.Coding = append(cc.Coding, coding(codeSystems["NDC"], v.NDC, ""))
	}
	if v.CPT != "" {
		cc.Coding = append(cc.Coding, coding(codeSystems["CPT"], v.CPT, ""))
	}
	if len(cc.Coding) == 0 {
		if c := concept(v.Vaccine); c != nil {
			return c
		}
		return &dpb.CodeableConcept{Text: fstr("unknown vaccine")}
	}
	return cc
}

// status sets the status, statusReason and isSubpotent.
func status(im *ipb.Immunization, v *iis.Vaccination) {
	cs := strings.ToUpper(v.CompletionStatus)
	var reason *dpb.CodeableConcept
	switch {
	case cs == "RE":
		reason = conceptOf(actReason, "PATOBJ", "patient objection")
	case v.CVX == codeset.CVXNoVaccineAdministered && len(v.Immunity) > 0:
		reason = conceptOf(actReason, "IMMUNE", "immunity")
	case cs == "NA" || v.CVX == codeset.CVXNoVaccineAdministered:
		reason = &dpb.CodeableConcept{}
	case cs == "PA":
		im.IsSubpotent = fbool(true)
		return
	default:
		return
	}
	im.Status.Value = vpb.ImmunizationStatusCodesValueSet_NOT_DONE
	for _, r := range v.RefusalReasons {
		if c := concept(withSystem(r, "NIP002")); c != nil {
			reason.Coding = append(reason.Coding, c.Coding...)
			if reason.Text == nil {
				reason.Text = c.Text
			}
		}
	}
	if len(reason.Coding) == 0 && reason.Text == nil {
		reason.Text = fstr(map[string]string{"NA": "not administered"}[cs])
		if reason.Text == nil {
			reason.Text = fstr("no vaccine administered")
		}
	}
	im.StatusReason = reason
}

// administration sets lot, expiry, manufacturer, performers, dose, route
// and site.
func administration(im *ipb.Immunization, v *iis.Vaccination) {
	if len(v.Lots) > 0 && v.Lots[0] != "" {
		im.LotNumber = fstr(v.Lots[0])
	}
	im.ExpirationDate = fdate(v.Expiration)
	if v.Manufacturer.Code != "" {
		im.Manufacturer = &dpb.Reference{Identifier: &dpb.Identifier{System: furi(codeSystems["MVX"]), Value: fstr(v.Manufacturer.Code)},
			Display: fstr(v.Manufacturer.Text)}
	}
	for _, p := range []struct {
		who  iis.Provider
		role string
		name string
	}{{v.AdministeredBy, "AP", "Administering Provider"}, {v.OrderedBy, "OP", "Ordering Provider"}} {
		if ref := provider(p.who); ref != nil {
			im.Performer = append(im.Performer, &ipb.Immunization_Performer{
				Function: conceptOf("http://terminology.hl7.org/CodeSystem/v2-0443", p.role, p.name), Actor: ref})
		}
	}
	if v.Facility.Name != "" || v.Facility.ID != "" {
		org := &dpb.Reference{Display: fstr(v.Facility.Name)}
		if v.Facility.ID != "" {
			org.Identifier = &dpb.Identifier{Value: fstr(v.Facility.ID)}
		}
		im.Performer = append(im.Performer, &ipb.Immunization_Performer{Actor: org})
	}
	if amount, err := strconv.ParseFloat(v.Amount, 64); err == nil && v.Amount != "999" && amount > 0 {
		q := &dpb.SimpleQuantity{Value: fdecimal(strings.TrimSpace(v.Amount))}
		if v.Units.Code != "" {
			q.Unit, q.System, q.Code = fstr(orText(v.Units)), furi(codeSystems["UCUM"]), fcode(v.Units.Code)
		}
		im.DoseQuantity = q
	}
	im.Route = concept(withSystem(v.Route, "HL70162"))
	im.Site = concept(withSystem(v.Site, "HL70163"))
}

func orText(c iis.Code) string {
	if c.Text != "" {
		return c.Text
	}
	return c.Code
}

func provider(p iis.Provider) *dpb.Reference {
	name := strings.TrimSpace(p.Given + " " + p.Family)
	if p.ID == "" && name == "" {
		return nil
	}
	ref := &dpb.Reference{Display: fstr(name)}
	if p.ID != "" {
		ref.Identifier = &dpb.Identifier{Value: fstr(p.ID)}
		if sys := identifierSystem(p.Authority); sys != "" {
			ref.Identifier.System = furi(sys)
		}
	}
	return ref
}

// funding sets programEligibility (OBX 64994-7) and fundingSource (OBX
// 30963-3).
func funding(im *ipb.Immunization, v *iis.Vaccination) {
	if c := concept(withSystem(v.FundingEligibility, "HL70064")); c != nil {
		im.ProgramEligibility = []*dpb.CodeableConcept{c}
	}
	im.FundingSource = concept(withSystem(v.FundingSource, "PHVS_ImmunizationFundingSource_IIS"))
}

// education maps a VIS: a GS1 document code is its documentType; a VIS
// named by vaccine type is documentType "<system> <code>".
func education(vis iis.VIS) *ipb.Immunization_Education {
	e := &ipb.Immunization_Education{PublicationDate: fday(vis.Published), PresentationDate: fday(vis.Presented)}
	switch {
	case vis.Document.Code != "":
		e.DocumentType = fstr(vis.Document.Code)
	case vis.VaccineType.Code != "":
		e.DocumentType = fstr(strings.TrimSpace(orDefault(vis.VaccineType.System, "CVX") + " " + vis.VaccineType.Code))
	default:
		return nil
	}
	return e
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
