package immz

import (
	"cmp"
	"strconv"
	"strings"
	"time"

	"github.com/iisproject/iis"
	"github.com/iisproject/iis/hl7"
)

// Query response statuses (QAK-2, HL7 table 0208).
const (
	StatusOK            = "OK" // data found
	StatusNotFound      = "NF" // no patient matched
	StatusTooMany       = "TM" // more candidates than RCP-2 allows
	StatusProtected     = "PD" // the patient's data may not be disclosed
	StatusAppError      = "AE"
	StatusAppRejected   = "AR"
	scheduleACIP        = "VXC16"
	scheduleACIPDisplay = "ACIP"
)

// QueryResponse is what the registry found for a query, to be written as
// an RSP^K11.
type QueryResponse struct {
	// Status is QAK-2. With StatusOK, exactly one of Match and Candidates
	// is set.
	Status string
	// Match is the one patient found with confidence: the response is Z32
	// (complete history) for a Z34 query, Z42 (evaluated history and
	// forecast) for a Z44 query.
	Match *PatientHistory
	// Candidates are lower-confidence matches, no more than the query's
	// limit: the response is Z31, one PID (and NK1s) per candidate.
	Candidates []iis.Patient
	// Issues are ERR rows to include (for AE/AR, or warnings).
	Issues []Issue
}

// PatientHistory is a patient's consolidated record.
type PatientHistory struct {
	Patient iis.Patient
	Doses   []EvaluatedDose
	// Recommendations are the forecast per vaccine group (Z42 only).
	Recommendations []Recommendation
	// AssessedOn is the date the evaluation and forecast were made for.
	AssessedOn time.Time
}

// EvaluatedDose is one consolidated vaccination with its evaluation in each
// vaccine group it counts for (Z42 only).
type EvaluatedDose struct {
	Vaccination iis.Vaccination
	Evaluations []DoseEvaluation
}

// DoseEvaluation is a dose's evaluation in one vaccine group.
type DoseEvaluation struct {
	Group         iis.Code // 30956-7: the group as a CVX code (e.g. 45 Hep B)
	DoseNumber    int      // 30973-2, 0 if the dose does not count
	DosesInSeries int      // 59782-3, 0 if unknown
	Valid         bool     // 59781-5
	Reason        string   // 30982-3, why a dose is not valid
}

// Recommendation is the forecast for one vaccine group.
type Recommendation struct {
	Group       iis.Code // 30956-7
	Status      string   // CDSi series status: Not Complete, Complete, Immune, Contraindicated, Aged Out, Not Recommended
	DoseNumber  int      // 30973-2, next dose; 0 if none is due
	Earliest    time.Time
	Recommended time.Time
	PastDue     time.Time
	Latest      time.Time
	Reason      string
}

// seriesStatus maps a CDSi status (and whether the dose is past due) to
// the LOINC answer the real IIS use for 59783-1. The status is compared
// without regard to case: CDSi writes "Not Complete", the forecast package
// "Not complete".
func seriesStatus(rec Recommendation, on time.Time) iis.Code {
	switch {
	case strings.EqualFold(rec.Status, "Complete"):
		return iis.Code{Code: "LA13421-5", Text: "Complete", System: "LN"}
	case strings.EqualFold(rec.Status, "Aged Out"):
		return iis.Code{Code: "LA13424-9", Text: "Too old", System: "LN"}
	case strings.EqualFold(rec.Status, "Not Complete"):
		if !rec.PastDue.IsZero() && !on.Before(rec.PastDue) {
			return iis.Code{Code: "LA13423-1", Text: "Overdue", System: "LN"}
		}
		return iis.Code{Code: "LA13422-3", Text: "On schedule", System: "LN"}
	}
	// Immune, Contraindicated, Not Recommended: no LOINC answer; the CDSi
	// status is sent as text.
	return iis.Code{Text: rec.Status}
}

// Response builds the RSP^K11 answering the query in r.
func (v *Validator) Response(r *Result, resp *QueryResponse) []byte {
	w := hl7.NewWriterSize(hl7.DefaultDelimiters, responseSize(resp))
	q := r.Query
	profile := "Z33"
	switch {
	case resp.Status == StatusOK && resp.Match != nil && q != nil && q.Profile == ProfileEvaluatedForecast:
		profile = "Z42"
	case resp.Status == StatusOK && resp.Match != nil:
		profile = "Z32"
	case resp.Status == StatusOK && len(resp.Candidates) > 0:
		profile = "Z31"
	}
	v.writeReplyMSH(w, r, "RSP", "K11", "RSP_K11", profile)
	msa := "AA"
	switch resp.Status {
	case StatusAppError:
		msa = "AE"
	case StatusAppRejected:
		msa = "AR"
	}
	if code := v.AckCode(r, resp.Issues...); code != "AA" && msa == "AA" {
		msa = code
	}
	issues := append(append([]Issue(nil), r.Issues...), resp.Issues...)
	w.Segment("MSA")
	w.Fields(msa, r.Header.ControlID)
	for _, is := range issues {
		v.writeERR(w, is)
	}
	w.Segment("QAK")
	tag := ""
	if q != nil {
		tag = q.Tag
	} else if r.msg != nil {
		tag = text(r.msg.Get("QPD-2"))
	}
	w.Fields(tag, resp.Status)
	if r.msg != nil {
		if qpd, ok := r.msg.Segment("QPD", 1); ok {
			w.Value(qpd.Field(1))
			w.CopySegment(qpd)
		}
	}
	switch profile {
	case "Z32", "Z42":
		v.writeHistory(w, resp.Match, profile == "Z42")
	case "Z31":
		for i := range resp.Candidates {
			WritePID(w, i+1, &resp.Candidates[i])
			WriteNK1s(w, &resp.Candidates[i])
		}
	}
	return w.Bytes()
}

// responseSize estimates the size of the RSP for resp, a little over what
// synthetic childhood records take (header and PID 700 bytes, a dose's
// ORC/RXA/RXR 180–260, its OBX per vaccine group 450–480, a forecast
// group's OBX 690–740), so that the writer allocates its buffer once.
func responseSize(resp *QueryResponse) int {
	n := 1024 + 512*len(resp.Candidates)
	if h := resp.Match; h != nil {
		n += 768 * len(h.Recommendations)
		for i := range h.Doses {
			n += 256 + 480*len(h.Doses[i].Evaluations)
		}
	}
	return n
}

func (v *Validator) writeHistory(w *hl7.Writer, h *PatientHistory, evaluated bool) {
	WritePID(w, 1, &h.Patient)
	WritePD1(w, &h.Patient)
	WriteNK1s(w, &h.Patient)
	on := h.AssessedOn
	if on.IsZero() {
		on = v.now()
	}
	obsDate := dateOrEmpty(on)
	for i := range h.Doses {
		d := &h.Doses[i]
		writeDose(w, &d.Vaccination)
		set := 0
		if !evaluated {
			writeDoseOBX(w, &d.Vaccination, 0, 0)
			continue
		}
		for k, e := range d.Evaluations {
			sub := strconv.Itoa(k + 1)
			set++
			writeOBX(w, set, obxVaccineType, sub, obsDate, codeComps(e.Group)...)
			set++
			writeOBXFragment(w, set, obxSchedule, sub, obsDate, scheduleUsed)
			if e.DoseNumber > 0 {
				set++
				writeOBX(w, set, obxDoseNumber, sub, obsDate, strconv.Itoa(e.DoseNumber))
			}
			if e.DosesInSeries > 0 {
				set++
				writeOBX(w, set, obxDosesInSeries, sub, obsDate, strconv.Itoa(e.DosesInSeries))
			}
			valid := "N"
			if e.Valid {
				valid = "Y"
			}
			set++
			writeOBX(w, set, obxValidity, sub, obsDate, valid)
			if e.Reason != "" {
				set++
				writeOBX(w, set, obxReason, sub, obsDate, e.Reason)
			}
		}
		// What the dose's report said, after its evaluation.
		writeDoseOBX(w, &d.Vaccination, set, len(d.Evaluations))
	}
	if !evaluated || len(h.Recommendations) == 0 {
		return
	}
	// The forecast rides on an RXA of "no vaccine administered".
	w.Segment("ORC")
	w.Fields("RE", "")
	w.Field("9999", v.fac)
	w.Segment("RXA")
	w.Fields("0", "1", obsDate, obsDate)
	w.Field("998", "No vaccine administered", "CVX")
	w.Fields("999", "", "", "", "", "", "", "", "", "", "", "", "", "", "NA")
	set := 0
	for k, rec := range h.Recommendations {
		sub := strconv.Itoa(k + 1)
		set++
		writeOBX(w, set, obxVaccineType, sub, obsDate, codeComps(rec.Group)...)
		set++
		writeOBXFragment(w, set, obxSchedule, sub, obsDate, scheduleUsed)
		set++
		writeOBX(w, set, obxSeriesStatus, sub, obsDate, codeComps(seriesStatus(rec, on))...)
		if rec.DoseNumber > 0 {
			set++
			writeOBX(w, set, obxDoseNumber, sub, obsDate, strconv.Itoa(rec.DoseNumber))
		}
		for _, d := range [...]struct {
			id hl7.Fragment
			t  time.Time
		}{
			{obxEarliest, rec.Earliest},
			{obxDue, rec.Recommended},
			{obxOverdue, rec.PastDue},
			{obxLatest, rec.Latest},
		} {
			if d.t.IsZero() {
				continue
			}
			set++
			writeOBX(w, set, d.id, sub, obsDate, dateOrEmpty(d.t))
		}
		if rec.Reason != "" {
			set++
			writeOBX(w, set, obxReason, sub, obsDate, rec.Reason)
		}
	}
}

func codeComps(c iis.Code) []string {
	return []string{c.Code, c.Text, c.System, c.AltCode, c.AltText, c.AltSystem}
}

// The constant parts of the OBX an RSP writes: OBX-2 and OBX-3 of each
// observation, the schedule, and OBX-6 … OBX-13 (OBX-11 F, final).
var (
	obxVaccineType   = obxID("CE", "30956-7", "Vaccine type")
	obxSchedule      = obxID("CE", "59779-9", "Immunization schedule used")
	obxSeriesStatus  = obxID("CE", "59783-1", "Status in immunization series")
	obxDoseNumber    = obxID("NM", "30973-2", "Dose number in series")
	obxDosesInSeries = obxID("NM", "59782-3", "Number of doses in primary series")
	obxValidity      = obxID("ID", "59781-5", "Dose validity")
	obxReason        = obxID("ST", "30982-3", "Reason applied by forecast logic to project this vaccine")
	obxEarliest      = obxID("DT", "30981-5", "Earliest date dose should be given")
	obxDue           = obxID("DT", "30980-7", "Date vaccination due")
	obxOverdue       = obxID("DT", "59778-1", "Date dose is overdue")
	obxLatest        = obxID("DT", "59777-3", "Latest date next dose should be given")

	scheduleUsed = hl7.NewFragment(hl7.DefaultDelimiters, func(w *hl7.Writer) {
		w.Field(scheduleACIP, scheduleACIPDisplay, "CDCPHINVS")
	})
	obxFinal = hl7.NewFragment(hl7.DefaultDelimiters, func(w *hl7.Writer) {
		w.Fields("", "", "", "", "", "F", "", "")
	})
)

func obxID(typ, loinc, name string) hl7.Fragment {
	return hl7.NewFragment(hl7.DefaultDelimiters, func(w *hl7.Writer) {
		w.Fields(typ)
		w.Field(loinc, name, "LN")
	})
}

// writeOBX writes an observation: set ID, type and identifier (id), sub-ID,
// the value's components, and the observation date.
func writeOBX(w *hl7.Writer, set int, id hl7.Fragment, sub, date string, value ...string) {
	w.Segment("OBX")
	w.Fields(strconv.Itoa(set))
	w.Fragment(id)
	w.Fields(sub)
	w.Field(value...)
	w.Fragment(obxFinal)
	w.Fields(date)
}

// writeOBXFragment is writeOBX with a constant value.
func writeOBXFragment(w *hl7.Writer, set int, id hl7.Fragment, sub, date string, value hl7.Fragment) {
	w.Segment("OBX")
	w.Fields(strconv.Itoa(set))
	w.Fragment(id)
	w.Fields(sub)
	w.Fragment(value)
	w.Fragment(obxFinal)
	w.Fields(date)
}

// writeDose writes a vaccination's ORC, RXA and RXR as the sender
// reported them (writeDoseOBX writes its OBX). A refusal is an RXA of
// RXA-20 RE with its RXA-18 reasons; a dose not administered RXA-20 NA; a
// record of immunity a 998 RXA with its OBX.
func writeDose(w *hl7.Writer, v *iis.Vaccination) {
	w.Segment("ORC")
	w.Fields("RE")
	w.Field(v.PlacerOrder.Value, v.PlacerOrder.Authority)
	w.Field(v.FillerOrder.Value, v.FillerOrder.Authority)
	if v.EnteredBy != (iis.Provider{}) || v.OrderedBy != (iis.Provider{}) {
		w.Fields("", "", "", "", "", "")
		w.Field(xcn(v.EnteredBy)...)
		w.Field()
		w.Field(xcn(v.OrderedBy)...)
	}
	w.Segment("RXA")
	w.Fields("0", "1", dateOrEmpty(v.AdministeredAt), dateOrEmpty(orTime(v.AdministeredEnd, v.AdministeredAt)))
	vaccine := v.Vaccine
	// RXA-5 as sent; a CPT code alone is answered as its CVX. An NDC is
	// answered as sent: the IG allows it, and it names the product.
	if v.CVX != "" && v.NDC == "" && vaccine.Code != v.CVX && vaccine.AltCode != v.CVX {
		vaccine = iis.Code{Code: v.CVX, Text: v.Vaccine.Text, System: "CVX"}
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
	by := v.AdministeredBy
	w.Field(xcn(by)...)
	if f := v.Facility; f != (iis.Organization{}) {
		w.FieldSub(nil, nil, nil, []string{f.Name, f.ID, f.IDType})
	} else {
		w.Field()
	}
	for range 3 { // RXA-12 … RXA-14
		w.Field()
	}
	w.Repeated(lots(v.Lots)...)
	w.Fields(dateOrEmpty(v.Expiration))
	w.Field(codeComps(v.Manufacturer)...)
	refusals := make([][]string, 0, len(v.RefusalReasons))
	for _, c := range v.RefusalReasons {
		refusals = append(refusals, codeComps(c))
	}
	w.Repeated(refusals...)
	w.Fields("", v.CompletionStatus, "A")
	if !v.Route.IsZero() || !v.Site.IsZero() {
		w.Segment("RXR")
		w.Field(codeComps(v.Route)...)
		w.Field(codeComps(v.Site)...)
	}
}

// The OBX a dose reported, written back.
var (
	obxEligibility      = obxID("CE", obsVFCEligibility, "Vaccine funding program eligibility category")
	obxFundingSource    = obxID("CE", obsFundingSource, "Vaccine funding source")
	obxVISDocument      = obxID("CE", obsVISDocument, "Vaccine Information Statement Document Type")
	obxVISPublished     = obxID("TS", obsVISPublished, "Date vaccine information statement published")
	obxVISPresented     = obxID("TS", obsVISPresented, "Date vaccine information statement presented")
	obxImmunity         = obxID("CE", obsImmunity, "Disease with presumed immunity")
	obxContraindication = obxID("CE", obsContraindication, "Vaccination contraindication and/or precaution")
	obxReaction         = obxID("CE", obsReaction, "Vaccination adverse event")
)

// writeDoseOBX writes the observations reported with a dose: eligibility
// (with its OBX-17 method), funding source, each VIS, immunity,
// contraindications, reactions and any other OBX kept, each group of
// related OBX under its own sub-ID; set IDs and sub-IDs continue from set
// and sub.
func writeDoseOBX(w *hl7.Writer, v *iis.Vaccination, set, sub int) {
	next := func() (string, string) {
		set++
		sub++
		return strconv.Itoa(set), strconv.Itoa(sub)
	}
	coded := func(id hl7.Fragment, c iis.Code, method iis.Code) {
		s, sb := next()
		w.Segment("OBX")
		w.Fields(s)
		w.Fragment(id)
		w.Fields(sb)
		w.Field(codeComps(c)...)
		w.Fragment(obxFinal)
		w.Fields("", "", "")
		w.Field(codeComps(method)...)
	}
	if !v.FundingEligibility.IsZero() {
		coded(obxEligibility, v.FundingEligibility, v.EligibilityMethod)
	}
	if !v.FundingSource.IsZero() {
		coded(obxFundingSource, v.FundingSource, iis.Code{})
	}
	for _, x := range v.VIS {
		sub++ // the OBX of one VIS share a sub-ID
		sb := strconv.Itoa(sub)
		one := func(id hl7.Fragment, value ...string) {
			set++
			writeOBX(w, set, id, sb, "", value...)
		}
		if !x.Document.IsZero() {
			one(obxVISDocument, codeComps(x.Document)...)
		}
		if !x.VaccineType.IsZero() {
			one(obxVaccineType, codeComps(x.VaccineType)...)
		}
		if !x.Published.IsZero() {
			one(obxVISPublished, dateOrEmpty(x.Published))
		}
		if !x.Presented.IsZero() {
			one(obxVISPresented, dateOrEmpty(x.Presented))
		}
	}
	for _, c := range v.Immunity {
		coded(obxImmunity, c, iis.Code{})
	}
	for _, c := range v.Contraindications {
		coded(obxContraindication, c, iis.Code{})
	}
	for _, c := range v.Reactions {
		coded(obxReaction, c, iis.Code{})
	}
	for _, o := range v.Observations {
		s, sb := next()
		if o.SubID != "" {
			sb = o.SubID
		}
		w.Segment("OBX")
		w.Fields(s, o.ValueType)
		w.Field(codeComps(o.ID)...)
		w.Fields(sb)
		if o.ValueType == "CE" || o.ValueType == "CWE" {
			w.Field(codeComps(o.Coded)...)
		} else {
			w.Fields(o.Value)
		}
		w.Field(codeComps(o.Units)...)
		w.Fields("", "", "", "", cmp.Or(o.Status, "F"), "", "", dateTimeOrEmpty(o.Date), "", "")
		w.Field(codeComps(o.Method)...)
	}
}

// xcn is a provider as an XCN: id, family and given name, assigning
// authority (XCN-9).
func xcn(p iis.Provider) []string {
	return []string{p.ID, p.Family, p.Given, "", "", "", "", "", p.Authority}
}

func orTime(t, def time.Time) time.Time {
	if t.IsZero() {
		return def
	}
	return t
}

// dateTimeOrEmpty is dateOrEmpty, with the time of day when there is one.
func dateTimeOrEmpty(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	if h, m, s := t.Clock(); h != 0 || m != 0 || s != 0 {
		return t.Format("20060102150405")
	}
	return dateOrEmpty(t)
}

func lots(l []string) [][]string {
	out := make([][]string, len(l))
	for i, s := range l {
		out[i] = []string{s}
	}
	return out
}

// dateOrEmpty formats t as an HL7 DT (YYYYMMDD), or "" for the zero time.
// An RSP writes a hundred dates; this is t.Format("20060102") without the
// layout parsing.
func dateOrEmpty(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	y, m, d := t.Date()
	if y < 0 || y > 9999 {
		return t.Format("20060102")
	}
	b := [8]byte{byte('0' + y/1000), byte('0' + y/100%10), byte('0' + y/10%10), byte('0' + y%10),
		byte('0' + m/10), byte('0' + m%10), byte('0' + d/10), byte('0' + d%10)}
	return string(b[:])
}
