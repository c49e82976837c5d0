package entry

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"github.com/iisproject/iis"
	"github.com/iisproject/iis/hl7"
	"github.com/iisproject/iis/hl7/immz"
)

// Header is the envelope of an entry's VXU.
type Header struct {
	// Facility is the clinic's facility id: MSH-4, and the namespace of
	// the filler order ids the clinic's entries get.
	Facility string
	// ControlID is MSH-10, the entry's tracking id (NewControlID).
	ControlID string
	Time      time.Time // MSH-7
	// ProcessingID is MSH-11 (P when empty).
	ProcessingID string
}

// sendingApplication is MSH-3 of every entry: what the message store and
// the console show as the sender's software.
const sendingApplication = "IIS-WEB"

// NewControlID returns a fresh MSH-10 for a web entry: "WEB" and 16 hex
// digits from crypto/rand, which never collides with another entry and
// keeps clear of EHR control ids (numbers, or the EHR's own prefixes).
func NewControlID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return "WEB" + strings.ToUpper(hex.EncodeToString(b[:]))
}

// FillerOrderFor is the ORC-3 value of the dose first entered as entry
// control (an MSH-10 from NewControlID); corrections and deletions of the
// dose send it again. A form sent twice (a double click, a reload) is the
// same message with the same dose, which the registry keeps once.
func FillerOrderFor(control string) string {
	return "WEBDOSE-" + strings.TrimPrefix(control, "WEB")
}

// validControlID reports whether s is an MSH-10 NewControlID made.
func validControlID(s string) bool {
	if len(s) != 19 || !strings.HasPrefix(s, "WEB") {
		return false
	}
	for _, c := range s[3:] {
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// noVaccine is the RXA of a patient reported without a dose (CDC IG
// R1.5, 4.1.2: CVX 998, completion status NA).
const noVaccine = "998"

// BuildVXU writes a VXU^V04 (profile Z22) reporting patient p and, when v
// is not nil, the dose v (its Action A, U or D); without a dose the
// patient is reported with the IG's "no vaccine administered" RXA (CVX
// 998, RXA-20 NA), dated h.Time, under the filler order h.ControlID.
func BuildVXU(h Header, p *iis.Patient, v *iis.Vaccination) []byte {
	w := hl7.NewWriterSize(hl7.DefaultDelimiters, 2048)
	writeMSH(w, h)
	immz.WritePID(w, 1, reported(p))
	immz.WriteNK1s(w, p)
	if v == nil {
		at := dateOnly(h.Time)
		v = &iis.Vaccination{AdministeredAt: at, CVX: noVaccine, Vaccine: iis.Code{Code: noVaccine, Text: "No vaccine administered", System: "CVX"},
			Amount: "999", CompletionStatus: "NA", FillerOrder: iis.Identifier{Value: h.ControlID, Authority: h.Facility}}
	}
	writeDose(w, h, v)
	return append([]byte(nil), w.Bytes()...)
}

func writeMSH(w *hl7.Writer, h Header) {
	pid := h.ProcessingID
	if pid == "" {
		pid = "P"
	}
	w.Segment("MSH")
	w.Fields(sendingApplication, h.Facility, "IIS", "IIS", h.Time.Format("20060102150405-0700"), "")
	w.Field("VXU", "V04", "VXU_V04")
	w.Fields(h.ControlID, pid, "2.5.1", "", "", "ER", "AL", "", "", "", "")
	w.Field("Z22", "CDCPHINVS")
}

// reported is the patient as an entry reports it: the mother's maiden
// name typed M, and no death date or indicator (a clinic's entry does not
// speak to them; nor to PD1, which BuildVXU does not write).
func reported(p *iis.Patient) *iis.Patient {
	q := *p
	if !q.MotherMaidenName.IsZero() {
		q.MotherMaidenName.Type = "M"
	}
	q.DeathDate, q.DeathIndicator = time.Time{}, ""
	return &q
}

// writeDose writes the ORC, RXA, RXR and OBX of v.
func writeDose(w *hl7.Writer, h Header, v *iis.Vaccination) {
	w.Segment("ORC")
	w.Fields("RE", "")
	w.Field(v.FillerOrder.Value, v.FillerOrder.Authority)
	if v.EnteredBy != (iis.Provider{}) {
		w.Fields("", "", "", "", "", "")
		w.Field(xcn(v.EnteredBy)...)
	}
	w.Segment("RXA")
	w.Fields("0", "1", dateOrEmpty(v.AdministeredAt), "")
	vaccine := v.Vaccine
	if vaccine.Code == "" {
		vaccine = iis.Code{Code: v.CVX, System: "CVX"}
	}
	w.Field(codeComps(vaccine)...)
	amount := v.Amount
	if amount == "" {
		amount = "999"
	}
	w.Fields(amount)
	w.Field(codeComps(v.Units)...)
	w.Fields("")
	w.Field(codeComps(v.InformationSource)...)
	w.Field(xcn(v.AdministeredBy)...)
	if f := v.Facility; f != (iis.Organization{}) {
		w.FieldSub(nil, nil, nil, []string{f.Name, f.ID, f.IDType})
	} else {
		w.Field()
	}
	for range 3 { // RXA-12 … RXA-14
		w.Field()
	}
	lots := make([][]string, 0, len(v.Lots))
	for _, l := range v.Lots {
		lots = append(lots, []string{l})
	}
	w.Repeated(lots...)
	w.Fields(dateOrEmpty(v.Expiration))
	w.Field(codeComps(v.Manufacturer)...)
	w.Repeated(codes(v.RefusalReasons)...)
	action := v.Action
	if action == "" {
		action = "A"
	}
	w.Fields("", cmp.Or(v.CompletionStatus, "CP"), action)
	if !v.Route.IsZero() || !v.Site.IsZero() {
		w.Segment("RXR")
		w.Field(codeComps(v.Route)...)
		w.Field(codeComps(v.Site)...)
	}
	writeOBX(w, h, v)
}

// The LOINC codes of the observations a dose entry reports.
const (
	loincEligibility   = "64994-7"
	loincFundingSource = "30963-3"
	loincVISDocument   = "69764-9"
	loincVISPresented  = "29769-7"
)

// writeOBX writes a dose's funding eligibility (with how it was
// captured), funding source and each VIS (document and date presented),
// each group under its own OBX-4 sub-ID.
func writeOBX(w *hl7.Writer, h Header, v *iis.Vaccination) {
	set, sub := 0, 0
	obx := func(typ, loinc, name, subID string, value []string, method iis.Code) {
		set++
		w.Segment("OBX")
		w.Fields(strconv.Itoa(set), typ)
		w.Field(loinc, name, "LN")
		w.Fields(subID)
		w.Field(value...)
		w.Fields("", "", "", "", "", "F", "", "", dateOrEmpty(h.Time), "", "")
		w.Field(codeComps(method)...)
	}
	if !v.FundingEligibility.IsZero() {
		sub++
		method := v.EligibilityMethod
		if method.IsZero() {
			method = iis.Code{Code: "VXC40", Text: "Eligibility captured at the immunization level", System: "CDCPHINVS"}
		}
		obx("CE", loincEligibility, "Vaccine funding program eligibility category", strconv.Itoa(sub), codeComps(v.FundingEligibility), method)
	}
	if !v.FundingSource.IsZero() {
		sub++
		obx("CE", loincFundingSource, "Vaccine funding source", strconv.Itoa(sub), codeComps(v.FundingSource), iis.Code{})
	}
	for _, x := range v.VIS {
		sub++
		s := strconv.Itoa(sub)
		if !x.Document.IsZero() {
			obx("CE", loincVISDocument, "Vaccine Information Statement Document Type", s, codeComps(x.Document), iis.Code{})
		}
		if !x.Presented.IsZero() {
			obx("TS", loincVISPresented, "Date vaccine information statement presented", s, []string{dateOrEmpty(x.Presented)}, iis.Code{})
		}
	}
}

// xcn is a provider as an XCN: id, family and given name, assigning
// authority (XCN-9).
func xcn(p iis.Provider) []string {
	if p == (iis.Provider{}) {
		return nil
	}
	return []string{p.ID, p.Family, p.Given, "", "", "", "", "", p.Authority}
}

func codeComps(c iis.Code) []string {
	if c.IsZero() && c.Text == "" {
		return nil
	}
	return []string{c.Code, c.Text, c.System, c.AltCode, c.AltText, c.AltSystem}
}

func codes(cs []iis.Code) [][]string {
	out := make([][]string, 0, len(cs))
	for _, c := range cs {
		out = append(out, codeComps(c))
	}
	return out
}

func dateOrEmpty(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format("20060102")
}

// dateOnly is t's calendar date at UTC midnight, as HL7 dates decode.
func dateOnly(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
