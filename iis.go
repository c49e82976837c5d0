// Package iis holds the domain types of the immunization information
// system — patients, vaccinations, observations — shared by the HL7
// profile (hl7/immz), the registry and the forecaster without any of them
// importing another. The types carry data only; rules live in the packages
// that apply them.
package iis

import "time"

// Code is a coded value (HL7 CE/CWE): a code with its display text and
// coding system, and the alternate triplet when one was sent.
type Code struct {
	Code, Text, System          string
	AltCode, AltText, AltSystem string
}

// IsZero reports whether neither the code nor its alternate is set.
func (c Code) IsZero() bool { return c.Code == "" && c.AltCode == "" }

// Identifier is a patient or order identifier (HL7 CX/EI): a value issued
// by an assigning authority, with its type (MR, SS, MA, PI, SR …).
type Identifier struct {
	Value     string
	Authority string
	Type      string
}

// Name is a person's name (HL7 XPN). Type is HL7 table 0200: L legal,
// A alias, M maiden, …
type Name struct {
	Family, Given, Middle, Suffix, Prefix string
	Type                                  string
}

// IsZero reports whether the name has neither family nor given part.
func (n Name) IsZero() bool { return n.Family == "" && n.Given == "" }

// Address is a postal address (HL7 XAD). Type is HL7 table 0190 (L, M, H, BR…).
type Address struct {
	Street, Other, City, State, Zip, Country string
	Type                                     string
	County                                   string
}

// Phone is a telecom address (HL7 XTN). Use is table 0201 (PRN, ORN, NET…),
// Equipment table 0202 (PH, CP, Internet…).
type Phone struct {
	Use, Equipment  string
	Email           string
	Area, Local     string
	Extension       string
	Country         string
	UnformattedText string // XTN-1, as sent, when given
}

// Number returns the phone number as digits: area code and local number.
func (p Phone) Number() string {
	b := make([]byte, 0, 10)
	for _, s := range [...]string{p.Area, p.Local} {
		for i := 0; i < len(s); i++ {
			if s[i] >= '0' && s[i] <= '9' {
				b = append(b, s[i])
			}
		}
	}
	return string(b)
}

// Provider is a person or organisation named in an order (HL7 XCN/XON).
type Provider struct {
	ID        string
	Family    string
	Given     string
	Authority string
}

// Organization is an organisation or application (HL7 HD/XON).
type Organization struct {
	Name      string // HD-1 namespace or XON-1 name
	ID        string // HD-2 universal ID or XON-10 identifier
	IDType    string // HD-3 universal ID type
	Authority string
}

// Patient is a patient as reported in one message.
type Patient struct {
	Identifiers      []Identifier
	Names            []Name // the first legal name first, when sent
	MotherMaidenName Name
	BirthDate        time.Time // date only, UTC midnight; zero if unknown
	Sex              string    // HL7 table 0001: F, M, U (X, O, A, N in some IIS)
	Races            []Code
	Ethnicities      []Code
	Addresses        []Address
	Phones           []Phone
	MultipleBirth    string // Y or N, empty if not sent
	BirthOrder       int    // 1, 2, …; 0 if not sent
	DeathIndicator   string
	DeathDate        time.Time
	// PrimaryLanguage is PID-15 (HL7 table 0296, ISO 639: "spa", "eng";
	// some senders use the two-letter "es", "en"): the family's language,
	// in which reminder/recall letters are printed.
	PrimaryLanguage Code

	// PD1
	PublicityCode      Code      // PD1-11, HL7 table 0215
	Protection         string    // PD1-12: Y protect data, N do not, empty unknown
	ProtectionDate     time.Time // PD1-13
	RegistryStatus     string    // PD1-16, HL7 table 0441 (A active, I inactive, P permanently inactive …)
	RegistryStatusDate time.Time // PD1-17
	PublicityDate      time.Time // PD1-18

	Guardians []Guardian
	// Observations are patient-level OBX (before the first ORC): e.g.
	// evidence of immunity or contraindications reported without a dose.
	Observations []Observation
}

// LegalName returns the first name of type L, or the first name sent.
func (p *Patient) LegalName() Name {
	for _, n := range p.Names {
		if n.Type == "L" {
			return n
		}
	}
	if len(p.Names) > 0 {
		return p.Names[0]
	}
	return Name{}
}

// Guardian is a next of kin or responsible party (NK1).
type Guardian struct {
	Name         Name
	Relationship Code // HL7 table 0063: MTH, FTH, GRD …
	Addresses    []Address
	Phones       []Phone
}

// Vaccination is one reported vaccination event (an ORC/RXA/RXR/OBX group):
// a dose administered, a historical dose, a refusal, or a record of
// immunity.
type Vaccination struct {
	// Position is the group's 1-based position among the message's RXA
	// segments: with the sender and MSH-10 it identifies the report.
	Position int

	FillerOrder Identifier // ORC-3: the sender's id of this dose (value^namespace)
	PlacerOrder Identifier // ORC-2
	EnteredBy   Provider   // ORC-10
	OrderedBy   Provider   // ORC-12

	AdministeredAt    time.Time // RXA-3, date only (UTC midnight)
	AdministeredEnd   time.Time // RXA-4
	Vaccine           Code      // RXA-5 as sent (first triplet: CVX, NDC or CPT)
	CVX               string    // CVX code, from whichever triplet of RXA-5 is CVX
	NDC               string    // NDC code if one of the triplets is NDC
	CPT               string    // CPT code if one of the triplets is CPT
	Amount            string    // RXA-6, decimal as sent; "999" means unknown
	Units             Code      // RXA-7 (UCUM)
	InformationSource Code      // RXA-9 (NIP001): 00 new record, 01 historical …
	Historical        bool      // RXA-9 is other than 00
	AdministeredBy    Provider  // RXA-10
	Facility          Organization
	Lots              []string // RXA-15
	Expiration        time.Time
	Manufacturer      Code // RXA-17 (MVX)
	RefusalReasons    []Code
	CompletionStatus  string // RXA-20: CP, RE, NA, PA (CP if not sent)
	Action            string // RXA-21: A, U, D (A if not sent)
	SystemEntry       time.Time

	Route Code // RXR-1 (HL70162 / NCIT)
	Site  Code // RXR-2 (HL70163)

	FundingEligibility Code // OBX 64994-7 (HL70064: V01…V07, state codes)
	EligibilityMethod  Code // OBX-17 of the 64994-7 OBX (VXC40, VXC41)
	FundingSource      Code // OBX 30963-3 (PHC70, VXC1, VXC2 …)
	VIS                []VIS
	Immunity           []Code // OBX 59784-9: disease with presumed immunity
	Contraindications  []Code // OBX 30945-0
	Reactions          []Code // OBX 31044-1
	// Observations are the dose's other OBX, those without a field above.
	Observations []Observation
}

// VIS is a vaccine information statement given to the patient: either a
// GS1 document code (OBX 69764-9) or a vaccine type (30956-7) with the
// statement's publication date (29768-9); Presented is 29769-7.
type VIS struct {
	Document    Code
	VaccineType Code
	Published   time.Time
	Presented   time.Time
}

// Observation is one OBX as reported.
type Observation struct {
	SetID     int
	ValueType string // OBX-2: CE, CWE, TS, DT, NM, ST …
	ID        Code   // OBX-3 (LOINC)
	SubID     string // OBX-4: ties related observations together
	Coded     Code   // OBX-5 for coded value types
	Value     string // OBX-5 text for the other value types
	Units     Code   // OBX-6
	Status    string // OBX-11
	Date      time.Time
	Method    Code // OBX-17
}
