package fhirapi

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	cpb "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/codes_go_proto"
	dpb "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/datatypes_go_proto"
	bpb "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/resources/bundle_and_contained_resource_go_proto"
	ipb "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/resources/immunization_go_proto"
	ppb "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/resources/patient_go_proto"
	vpb "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/valuesets_go_proto"

	"github.com/iisproject/iis"
	"github.com/iisproject/iis/hl7/immz"
	"github.com/iisproject/iis/registry"
)

// maxBody bounds a request body ($match, $immds-forecast).
const maxBody = 1 << 20

// google/fhir/go v0.7.4 cannot read or write Parameters.parameter.resource
// in R4 (its marshaller handles a packed resource only in a field named
// "contained"; the unmarshaller reports "unknown field"): a Parameters is
// therefore read and written here as a JSON envelope, each resource in it
// with jsonformat (see docs/fhir.md).

// param is one parameter of a Parameters resource.
type param struct {
	Name     string          `json:"name"`
	Resource json.RawMessage `json:"resource,omitempty"`
	Date     string          `json:"valueDate,omitempty"`
	Boolean  *bool           `json:"valueBoolean,omitempty"`
	Integer  *int            `json:"valueInteger,omitempty"`
	res      *bpb.ContainedResource
}

// parameters reads a request's Parameters resource, each resource in it
// parsed and validated as R4.
func (s *Server) parameters(r *http.Request) ([]param, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("reading the body: %w", err)
	}
	if len(body) > maxBody {
		return nil, fmt.Errorf("the body is larger than %d bytes", maxBody)
	}
	var env struct {
		ResourceType string  `json:"resourceType"`
		Parameter    []param `json:"parameter"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("not JSON: %w", err)
	}
	if env.ResourceType != "Parameters" {
		return nil, fmt.Errorf("want a Parameters resource, not %q", env.ResourceType)
	}
	for i := range env.Parameter {
		p := &env.Parameter[i]
		if len(p.Resource) == 0 {
			continue
		}
		m, err := s.parse.Unmarshal(p.Resource)
		if err != nil {
			return nil, fmt.Errorf("parameter %q: not an R4 resource: %w", p.Name, err)
		}
		p.res = m.(*bpb.ContainedResource)
	}
	return env.Parameter, nil
}

// systemForecast answers POST $immds-forecast: a Parameters with
// assessmentDate, patient and immunization* in, the recommendation and
// evaluation* out. Nothing is read from or written to the registry.
func (s *Server) systemForecast(w http.ResponseWriter, r *http.Request) {
	if _, err := authorize(r.Context(), 'r', "ImmunizationRecommendation"); err != nil {
		s.denied(w, r, err)
		return
	}
	in, err := s.parameters(r)
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, cpb.IssueTypeCode_INVALID, err.Error())
		return
	}
	on := s.now()
	var pat *ppb.Patient
	var imms []*ipb.Immunization
	for _, p := range in {
		switch p.Name {
		case "assessmentDate":
			d, err := time.Parse(time.DateOnly, p.Date)
			if err != nil {
				s.fail(w, r, http.StatusBadRequest, cpb.IssueTypeCode_INVALID, "assessmentDate: want a valueDate YYYY-MM-DD")
				return
			}
			on = d
		case "patient":
			pat = p.res.GetPatient()
		case "immunization":
			if im := p.res.GetImmunization(); im != nil {
				imms = append(imms, im)
			}
		}
	}
	if pat == nil || pat.GetBirthDate() == nil {
		s.fail(w, r, http.StatusBadRequest, cpb.IssueTypeCode_REQUIRED, "a patient parameter (a Patient with its birthDate) is required")
		return
	}
	p, vs, ids := fromFHIR(pat, imms)
	pid := pat.GetId().GetValue()
	if pid == "" {
		pid = "patient"
	}
	buf := getBuf()
	defer putBuf(buf)
	*buf = assess(s.fc, pid, &p, vs, ids, on).appendForecastParameters(*buf)
	w.Header().Set("Content-Type", fhirJSON+"; charset=utf-8")
	w.Write(*buf)
}

// fromDate is a FHIR date or dateTime (microseconds since the epoch, in
// its time zone) as its day, at UTC midnight.
func fromDate(us int64, tz string) time.Time {
	t := time.UnixMicro(us).In(zone(tz))
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// zone is the location of a FHIR time zone: Z, UTC, ±hh:mm, or a zone name.
func zone(tz string) *time.Location {
	switch {
	case tz == "" || tz == "Z" || tz == "UTC":
		return time.UTC
	case len(tz) == 6 && (tz[0] == '+' || tz[0] == '-') && tz[3] == ':':
		h, err1 := strconv.Atoi(tz[1:3])
		m, err2 := strconv.Atoi(tz[4:6])
		if err1 == nil && err2 == nil {
			off := h*3600 + m*60
			if tz[0] == '-' {
				off = -off
			}
			return time.FixedZone(tz, off)
		}
	}
	if loc, err := time.LoadLocation(tz); err == nil {
		return loc
	}
	return time.UTC
}

// fromFHIR maps a Patient and Immunizations sent to $immds-forecast to the
// registry's types the engine reads: birth date, sex, and each
// Immunization's CVX, date and status (not-done → refused, isSubpotent →
// partial), with the ids the evaluations refer to.
func fromFHIR(pat *ppb.Patient, imms []*ipb.Immunization) (iis.Patient, []iis.Vaccination, []string) {
	p := iis.Patient{BirthDate: fromDate(pat.GetBirthDate().GetValueUs(), pat.GetBirthDate().GetTimezone())}
	switch pat.GetGender().GetValue() {
	case cpb.AdministrativeGenderCode_MALE:
		p.Sex = "M"
	case cpb.AdministrativeGenderCode_FEMALE:
		p.Sex = "F"
	}
	var vs []iis.Vaccination
	var ids []string
	for i, im := range imms {
		v := iis.Vaccination{CompletionStatus: "CP", Action: "A", CVX: cvxOf(im.GetVaccineCode())}
		if dt := im.GetOccurrence().GetDateTime(); dt != nil {
			v.AdministeredAt = fromDate(dt.GetValueUs(), dt.GetTimezone())
		}
		switch {
		case im.GetStatus().GetValue() == vpb.ImmunizationStatusCodesValueSet_NOT_DONE:
			v.CompletionStatus = "RE"
		case im.GetStatus().GetValue() == vpb.ImmunizationStatusCodesValueSet_ENTERED_IN_ERROR:
			v.Action = "D"
		case im.GetIsSubpotent().GetValue():
			v.CompletionStatus = "PA"
		}
		if mvx := im.GetManufacturer().GetIdentifier().GetValue().GetValue(); mvx != "" {
			v.Manufacturer = iis.Code{Code: mvx, System: "MVX"}
		}
		if d := im.GetExpirationDate(); d != nil {
			v.Expiration = fromDate(d.GetValueUs(), d.GetTimezone())
		}
		id := im.GetId().GetValue()
		if id == "" {
			id = "immunization-" + strconv.Itoa(i+1)
		}
		vs, ids = append(vs, v), append(ids, id)
	}
	return p, vs, ids
}

func cvxOf(cc *dpb.CodeableConcept) string {
	for _, c := range cc.GetCoding() {
		if c.GetSystem().GetValue() == codeSystems["CVX"] {
			return c.GetCode().GetValue()
		}
	}
	return ""
}

// immunizationFilter reads Immunization search's date (with the ge, le,
// gt, lt, eq prefixes, repeated for a range) and vaccine-code (CVX codes,
// comma-separated, with or without the CVX system) parameters.
func immunizationFilter(v map[string][]string) (func(*iis.Vaccination) bool, error) {
	type bound struct {
		prefix string
		day    time.Time
	}
	var bounds []bound
	for _, d := range v["date"] {
		prefix := "eq"
		if len(d) > 2 && d[0] >= 'a' && d[0] <= 'z' {
			prefix, d = d[:2], d[2:]
		}
		day, err := time.Parse(time.DateOnly, d)
		if err != nil || !strings.Contains("eq ge le gt lt", prefix) {
			return nil, fmt.Errorf("date %q: want [eq|ge|le|gt|lt]YYYY-MM-DD", prefix+d)
		}
		bounds = append(bounds, bound{prefix, day})
	}
	codes := map[string]bool{}
	for _, vc := range v["vaccine-code"] {
		for _, c := range strings.Split(vc, ",") {
			sys, code, ok := strings.Cut(c, "|")
			if !ok {
				code = sys
			} else if sys != "" && sys != codeSystems["CVX"] {
				return nil, fmt.Errorf("vaccine-code %q: only CVX codes (%s) are searched", c, codeSystems["CVX"])
			}
			codes[code] = true
		}
	}
	return func(vac *iis.Vaccination) bool {
		if len(codes) > 0 && !codes[vac.CVX] {
			return false
		}
		at := vac.AdministeredAt
		for _, b := range bounds {
			ok := map[string]bool{"eq": at.Equal(b.day), "ge": !at.Before(b.day), "le": !at.After(b.day),
				"gt": at.After(b.day), "lt": at.Before(b.day)}[b.prefix]
			if !ok {
				return false
			}
		}
		return true
	}, nil
}

// match answers Patient/$match: the Patient sent is scored against the
// registry with the matcher of v2 queries; the matches and possible
// matches that may be disclosed to the client come back, best first, each
// with its score and match grade (certain for the matcher's Match,
// possible for a possible match). Nothing is merged.
func (s *Server) match(w http.ResponseWriter, r *http.Request) {
	g, err := authorize(r.Context(), 's', "Patient")
	if err != nil {
		s.denied(w, r, err)
		return
	}
	in, err := s.parameters(r)
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, cpb.IssueTypeCode_INVALID, err.Error())
		return
	}
	var pat *ppb.Patient
	onlyCertain, count := false, 10
	for _, p := range in {
		switch {
		case p.Name == "resource":
			pat = p.res.GetPatient()
		case p.Name == "onlyCertainMatches" && p.Boolean != nil:
			onlyCertain = *p.Boolean
		case p.Name == "count" && p.Integer != nil && *p.Integer > 0:
			count = min(*p.Integer, maxCount)
		}
	}
	if pat == nil {
		s.fail(w, r, http.StatusBadRequest, cpb.IssueTypeCode_REQUIRED, "a resource parameter holding a Patient is required")
		return
	}
	cands, err := s.reg.FindForQuery(r.Context(), matchQuery(pat))
	if err != nil {
		s.internal(w, r, err)
		return
	}
	var ids []int64
	scores := map[int64]registry.QueryCandidate{}
	for _, c := range cands {
		if c.Protected || (onlyCertain && !c.Confident) || len(ids) == count {
			continue
		}
		ids = append(ids, c.PatientID)
		scores[c.PatientID] = c
	}
	recs, err := s.disclose(r.Context(), g, ids, registry.RecordParts{Demographics: true}, "FHIR Patient/$match")
	if err != nil {
		s.internal(w, r, err)
		return
	}
	byID := map[int64]*registry.DisclosableRecord{}
	for i := range recs {
		byID[recs[i].PatientID] = &recs[i]
	}
	var entries []entry
	for _, id := range ids { // best first
		if rec, ok := byID[id]; ok {
			c := scores[id]
			grade := "possible"
			if c.Confident {
				grade = "certain"
			}
			entries = append(entries, entry{res: toPatient(rec), fullURL: s.base + "/Patient/" + itoa(id), score: c.Score, grade: grade, hasScore: true})
		}
	}
	s.write(w, r, http.StatusOK, s.searchset(entries, s.base+"/Patient/$match", "", len(entries)))
}

// matchQuery is a Patient sent to $match as the QPD of a v2 query.
func matchQuery(pat *ppb.Patient) *immz.Query {
	q := &immz.Query{Limit: maxCount}
	for _, id := range pat.GetIdentifier() {
		q.Identifiers = append(q.Identifiers, iis.Identifier{Value: id.GetValue().GetValue(), Authority: authorityOf(id.GetSystem().GetValue()),
			Type: firstCode(id.GetType())})
	}
	for _, n := range pat.GetName() {
		name := iis.Name{Family: n.GetFamily().GetValue(), Type: "L"}
		if gs := n.GetGiven(); len(gs) > 0 {
			name.Given = gs[0].GetValue()
			if len(gs) > 1 {
				name.Middle = gs[1].GetValue()
			}
		}
		if q.Name.IsZero() {
			q.Name = name
		}
	}
	if bd := pat.GetBirthDate(); bd != nil {
		q.BirthDate = fromDate(bd.GetValueUs(), bd.GetTimezone())
	}
	switch pat.GetGender().GetValue() {
	case cpb.AdministrativeGenderCode_MALE:
		q.Sex = "M"
	case cpb.AdministrativeGenderCode_FEMALE:
		q.Sex = "F"
	}
	for _, a := range pat.GetAddress() {
		ad := iis.Address{City: a.GetCity().GetValue(), State: a.GetState().GetValue(), Zip: a.GetPostalCode().GetValue(), Type: "L"}
		if ls := a.GetLine(); len(ls) > 0 {
			ad.Street = ls[0].GetValue()
		}
		q.Addresses = append(q.Addresses, ad)
	}
	for _, t := range pat.GetTelecom() {
		if t.GetSystem().GetValue() == cpb.ContactPointSystemCode_PHONE {
			digits := iis.Phone{Local: t.GetValue().GetValue()}.Number()
			ph := iis.Phone{Use: "PRN", Equipment: "PH", Local: digits}
			if len(digits) == 10 {
				ph.Area, ph.Local = digits[:3], digits[3:]
			}
			q.Phones = append(q.Phones, ph)
		}
	}
	return q
}

func firstCode(cc *dpb.CodeableConcept) string {
	for _, c := range cc.GetCoding() {
		return c.GetCode().GetValue()
	}
	return ""
}
