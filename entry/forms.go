package entry

import (
	"cmp"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/iisproject/iis"
	"github.com/iisproject/iis/codeset"
)

// PatientForm is the new patient form as posted.
type PatientForm struct {
	Family, Given, Middle string
	BirthDate             string // YYYY-MM-DD
	Sex                   string // F, M, U
	Language              string // PID-15 primary language (ISO 639-2): eng, spa, or empty
	BirthOrder            string // empty, or 1, 2, … for a multiple birth
	MotherFamily          string // mother's maiden name
	MotherGiven           string
	Street, City, State   string
	Zip                   string
	Phone                 string // digits: area code and number
	GuardianFamily        string
	GuardianGiven         string
	GuardianRelationship  string // HL7 table 0063: MTH, FTH, GRD …
	MRN                   string // the clinic's medical record number
}

// DoseForm is the record-a-dose form as posted.
type DoseForm struct {
	Historical      bool   // a dose given elsewhere, reported from a record
	Source          string // historical: NIP001 01-08
	CVX             string
	Date            string // YYYY-MM-DD
	Lot             string
	MVX             string
	Expiration      string
	Site            string // HL7 0163
	Route           string // NCIT code
	Amount          string
	Units           string // UCUM, mL
	VISDoc          string // GS1 document code
	VISDate         string // presented on
	Eligibility     string // V01-V07
	FundingSource   string
	ClinicianID     string
	ClinicianFamily string
	ClinicianGiven  string
}

// Problems are messages beside form fields: field name → sentences; ""
// holds the messages about the entry as a whole.
type Problems map[string][]string

func (p Problems) add(field, msg string) { p[field] = append(p[field], msg) }

// For returns the messages for field (templates).
func (p Problems) For(field string) []string { return p[field] }

// Form field names, as in the templates and the ERR mapping.
const (
	fFamily, fGiven, fMiddle, fBirthDate, fSex, fBirthOrder = "family", "given", "middle", "birth_date", "sex", "birth_order"
	fLanguage                                               = "language"
	fMotherFamily, fMotherGiven                             = "mother_family", "mother_given"
	fStreet, fCity, fState, fZip, fPhone                    = "street", "city", "state", "zip", "phone"
	fGuardianFamily, fGuardianGiven, fGuardianRel           = "guardian_family", "guardian_given", "guardian_relationship"
	fMRN                                                    = "mrn"
	fKind, fSource, fCVX, fDate, fLot, fMVX, fExpiration    = "kind", "source", "cvx", "date", "lot", "mvx", "expiration"
	fSite, fRoute, fAmount, fUnits                          = "site", "route", "amount", "units"
	fVISDoc, fVISDate, fEligibility, fFundingSource         = "vis_document", "vis_date", "eligibility", "funding_source"
	fClinicianID, fClinicianFamily, fClinicianGiven         = "clinician_id", "clinician_family", "clinician_given"
)

// ReadPatientForm reads the posted new patient form.
func ReadPatientForm(v url.Values) PatientForm {
	g := func(k string) string { return strings.TrimSpace(v.Get(k)) }
	return PatientForm{Family: g(fFamily), Given: g(fGiven), Middle: g(fMiddle), BirthDate: g(fBirthDate), Sex: g(fSex), Language: g(fLanguage),
		BirthOrder: g(fBirthOrder), MotherFamily: g(fMotherFamily), MotherGiven: g(fMotherGiven), Street: g(fStreet),
		City: g(fCity), State: g(fState), Zip: g(fZip), Phone: g(fPhone), GuardianFamily: g(fGuardianFamily),
		GuardianGiven: g(fGuardianGiven), GuardianRelationship: g(fGuardianRel), MRN: g(fMRN)}
}

// ReadDoseForm reads the posted dose form.
func ReadDoseForm(v url.Values) DoseForm {
	g := func(k string) string { return strings.TrimSpace(v.Get(k)) }
	return DoseForm{Historical: g(fKind) == "historical", Source: g(fSource), CVX: g(fCVX), Date: g(fDate), Lot: g(fLot),
		MVX: g(fMVX), Expiration: g(fExpiration), Site: g(fSite), Route: g(fRoute), Amount: g(fAmount), Units: g(fUnits),
		VISDoc: g(fVISDoc), VISDate: g(fVISDate), Eligibility: g(fEligibility), FundingSource: g(fFundingSource),
		ClinicianID: g(fClinicianID), ClinicianFamily: g(fClinicianFamily), ClinicianGiven: g(fClinicianGiven)}
}

// formDate reads a date input (YYYY-MM-DD; YYYYMMDD and MM/DD/YYYY are
// taken too); "" gives the zero time, anything else a problem.
func formDate(s, field, what string, p Problems) time.Time {
	if s == "" {
		return time.Time{}
	}
	for _, layout := range []string{time.DateOnly, "20060102", "01/02/2006", "1/2/2006"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t
		}
	}
	p.add(field, what+" "+strconvQuote(s)+" is not a date (YYYY-MM-DD)")
	return time.Time{}
}

func strconvQuote(s string) string { return strconv.Quote(s) }

// Patient is the form's patient as an iis.Patient, with the clinic's MRN
// under facility's authority; without an MRN, the entry's tracking id
// (controlID, type PI) identifies the patient, since PID-3 is required.
// Problems the form itself can tell (an unreadable date or number) are
// added to p; everything else is left to the registry's validation.
func (f PatientForm) Patient(facility, controlID string, p Problems) iis.Patient {
	pt := iis.Patient{
		Names:     []iis.Name{{Family: f.Family, Given: f.Given, Middle: f.Middle, Type: "L"}},
		BirthDate: formDate(f.BirthDate, fBirthDate, "Birth date", p),
		Sex:       f.Sex,
	}
	if f.Family == "" && f.Given == "" {
		pt.Names = nil
	}
	switch f.Language {
	case "":
	case "eng", "spa":
		pt.PrimaryLanguage = iis.Code{Code: f.Language, Text: map[string]string{"eng": "English", "spa": "Spanish"}[f.Language], System: "HL70296"}
	default:
		p.add(fLanguage, "Language "+strconvQuote(f.Language)+" is not one the registry prints letters in (eng or spa)")
	}
	if f.MRN != "" {
		pt.Identifiers = []iis.Identifier{{Value: f.MRN, Authority: facility, Type: "MR"}}
	} else {
		pt.Identifiers = []iis.Identifier{{Value: controlID, Authority: facility, Type: "PI"}}
	}
	if f.BirthOrder != "" {
		n, err := strconv.Atoi(f.BirthOrder)
		if err != nil || n < 1 || n > 9 {
			p.add(fBirthOrder, "Birth order "+strconvQuote(f.BirthOrder)+" is not a number from 1 to 9")
		} else {
			pt.MultipleBirth, pt.BirthOrder = "Y", n
		}
	}
	if f.MotherFamily != "" || f.MotherGiven != "" {
		pt.MotherMaidenName = iis.Name{Family: f.MotherFamily, Given: f.MotherGiven, Type: "M"}
	}
	if f.Street != "" || f.City != "" || f.State != "" || f.Zip != "" {
		pt.Addresses = []iis.Address{{Street: f.Street, City: f.City, State: f.State, Zip: f.Zip, Country: "USA", Type: "L"}}
	}
	if ph := phone(f.Phone); ph != (iis.Phone{}) {
		pt.Phones = []iis.Phone{ph}
	}
	if f.GuardianFamily != "" || f.GuardianGiven != "" || f.GuardianRelationship != "" {
		g := iis.Guardian{Name: iis.Name{Family: f.GuardianFamily, Given: f.GuardianGiven, Type: "L"}}
		if f.GuardianRelationship != "" {
			g.Relationship = iis.Code{Code: f.GuardianRelationship, Text: relationshipText(f.GuardianRelationship), System: "HL70063"}
		}
		pt.Guardians = []iis.Guardian{g}
	}
	return pt
}

// phone reads a US phone number typed any way ("(860) 555-0101"): the
// last ten digits are the area code and number.
func phone(s string) iis.Phone {
	var d []byte
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			d = append(d, s[i])
		}
	}
	if len(d) == 11 && d[0] == '1' {
		d = d[1:]
	}
	if len(d) == 0 {
		return iis.Phone{}
	}
	if len(d) != 10 {
		return iis.Phone{Use: "PRN", Equipment: "PH", UnformattedText: s}
	}
	return iis.Phone{Use: "PRN", Equipment: "PH", Area: string(d[:3]), Local: string(d[3:])}
}

var relationships = []struct{ Code, Text string }{
	{"MTH", "Mother"}, {"FTH", "Father"}, {"GRD", "Guardian"}, {"SEL", "Self"}, {"GRP", "Grandparent"},
	{"SIB", "Sibling"}, {"FCH", "Foster child"}, {"OTH", "Other"},
}

func relationshipText(code string) string {
	for _, r := range relationships {
		if r.Code == code {
			return r.Text
		}
	}
	return ""
}

// Vaccination is the form's dose as an iis.Vaccination for the clinic
// facility (the administering facility of an administered dose). Problems
// the form itself can tell are added to p.
func (f DoseForm) Vaccination(codes *codeset.Set, facility string, p Problems) iis.Vaccination {
	v := iis.Vaccination{
		CVX:            f.CVX,
		AdministeredAt: formDate(f.Date, fDate, "Date", p),
		Historical:     f.Historical,
		Action:         "A",
	}
	if f.CVX != "" {
		v.Vaccine = iis.Code{Code: f.CVX, System: "CVX"}
		if vac, ok := codes.Vaccine(f.CVX); ok {
			v.Vaccine.Text = vac.ShortName
		}
	}
	if f.Historical {
		src := cmp.Or(f.Source, "01")
		v.InformationSource = iis.Code{Code: src, Text: display(codes.InformationSource(), src), System: "NIP001"}
		v.Amount = "999"
		return v
	}
	v.InformationSource = iis.Code{Code: "00", Text: "New immunization record", System: "NIP001"}
	v.Amount = cmp.Or(f.Amount, "999")
	if f.Amount != "" {
		v.Units = iis.Code{Code: cmp.Or(f.Units, "mL"), Text: "milliliter", System: "UCUM"}
	}
	if f.Lot != "" {
		v.Lots = []string{f.Lot}
	}
	v.Expiration = formDate(f.Expiration, fExpiration, "Expiration date", p)
	if f.MVX != "" {
		v.Manufacturer = iis.Code{Code: f.MVX, Text: display(codes.MVX(), f.MVX), System: "MVX"}
	}
	if f.Route != "" {
		v.Route = iis.Code{Code: f.Route, Text: display(codes.Route(), f.Route), System: routeSystem(codes, f.Route)}
	}
	if f.Site != "" {
		v.Site = iis.Code{Code: f.Site, Text: display(codes.Site(), f.Site), System: "HL70163"}
	}
	if f.Eligibility != "" {
		v.FundingEligibility = iis.Code{Code: f.Eligibility, Text: display(codes.FinancialClass(), f.Eligibility), System: "HL70064"}
		v.EligibilityMethod = iis.Code{Code: "VXC40", Text: "Eligibility captured at the immunization level", System: "CDCPHINVS"}
	}
	if f.FundingSource != "" {
		v.FundingSource = iis.Code{Code: f.FundingSource, Text: display(codes.Table(codeset.FundingSource), f.FundingSource), System: "CDCPHINVS"}
	}
	if f.VISDoc != "" || f.VISDate != "" {
		x := iis.VIS{Presented: formDate(f.VISDate, fVISDate, "VIS presented date", p)}
		if f.VISDoc != "" {
			x.Document = iis.Code{Code: f.VISDoc, Text: display(codes.VISDocuments(), f.VISDoc), System: "cdcgs1vis"}
		}
		v.VIS = []iis.VIS{x}
	}
	if f.ClinicianID != "" || f.ClinicianFamily != "" || f.ClinicianGiven != "" {
		v.AdministeredBy = iis.Provider{ID: f.ClinicianID, Family: f.ClinicianFamily, Given: f.ClinicianGiven}
	}
	v.Facility = iis.Organization{Name: facility}
	return v
}

// DoseFormOf is the form showing stored dose v (to correct it).
func DoseFormOf(v *iis.Vaccination) DoseForm {
	f := DoseForm{Historical: v.Historical, CVX: v.CVX, Date: isoDate(v.AdministeredAt), MVX: v.Manufacturer.Code,
		Expiration: isoDate(v.Expiration), Site: v.Site.Code, Route: v.Route.Code, Eligibility: v.FundingEligibility.Code,
		FundingSource: v.FundingSource.Code, ClinicianID: v.AdministeredBy.ID, ClinicianFamily: v.AdministeredBy.Family,
		ClinicianGiven: v.AdministeredBy.Given}
	if v.Historical {
		f.Source = v.InformationSource.Code
	}
	if v.Amount != "999" {
		f.Amount, f.Units = v.Amount, v.Units.Code
	}
	if len(v.Lots) > 0 {
		f.Lot = v.Lots[0]
	}
	if len(v.VIS) > 0 {
		f.VISDoc, f.VISDate = v.VIS[0].Document.Code, isoDate(v.VIS[0].Presented)
	}
	return f
}

func isoDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.DateOnly)
}

func display(t *codeset.Table, code string) string {
	if e, ok := t.Lookup(code); ok {
		return e.Display
	}
	return ""
}

// routeSystem is the coding system of a route code: NCIT for the FDA
// codes (C28161 …), HL70162 for the HL7 ones (IM …).
func routeSystem(codes *codeset.Set, code string) string {
	t := codes.Route()
	if e, ok := t.Lookup(code); ok {
		if s := t.Field(e, "coding_system"); s != "" {
			return s
		}
	}
	if strings.HasPrefix(code, "C") {
		return "NCIT"
	}
	return "HL70162"
}
