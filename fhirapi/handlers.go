package fhirapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	cpb "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/codes_go_proto"

	"github.com/iisproject/iis/registry"
	"github.com/iisproject/iis/smart"
)

// Register adds the API's routes (Go 1.22 patterns under /fhir/) with
// handle; the caller wraps them in the SMART middleware that puts the
// grant in the request's context.
func (s *Server) Register(handle func(pattern string, h http.Handler)) {
	for _, r := range []struct {
		pattern string
		h       http.HandlerFunc
	}{
		{"GET /fhir/metadata", s.metadata},
		{"GET /fhir/Patient/{id}", s.readPatient},
		{"GET /fhir/Patient", s.searchPatients},
		{"POST /fhir/Patient/$match", s.match},
		{"GET /fhir/Immunization/{id}", s.readImmunization},
		{"GET /fhir/Immunization", s.searchImmunizations},
		{"GET /fhir/ImmunizationEvaluation", s.searchEvaluations},
		{"GET /fhir/ImmunizationRecommendation", s.searchRecommendations},
		{"GET /fhir/Patient/{id}/$immds-forecast", s.patientForecast},
		{"POST /fhir/Patient/{id}/$immds-forecast", s.patientForecast},
		{"POST /fhir/$immds-forecast", s.systemForecast},
	} {
		handle(r.pattern, r.h)
	}
}

func (s *Server) metadata(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", fhirJSON+"; charset=utf-8")
	w.Write(s.capab)
}

// recordReader reads one patient's record for a reader acting for
// facility; nil for an unknown patient.
type recordReader func(ctx context.Context, id int64, facility string) (*registry.DisclosableRecord, error)

// readParts is the recordReader of ReadRecords with parts.
func (s *Server) readParts(parts registry.RecordParts) recordReader {
	return func(ctx context.Context, id int64, facility string) (*registry.DisclosableRecord, error) {
		recs, err := s.reg.ReadRecords(ctx, []int64{id}, facility, time.Time{}, parts)
		if err != nil || len(recs) == 0 {
			return nil, err
		}
		return &recs[0], nil
	}
}

// record reads one patient's record for the grant's client with read: nil
// (and an answer sent) when the patient is unknown, withheld, outside the
// grant's facility, or merged (410, naming the survivor when the client
// may see it).
func (s *Server) record(w http.ResponseWriter, r *http.Request, g smart.Grant, idText string, read recordReader) *registry.DisclosableRecord {
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil || id <= 0 {
		s.notFound(w, r, "Patient/"+idText)
		return nil
	}
	rec, err := read(r.Context(), id, g.FacilityID)
	if err != nil {
		s.internal(w, r, err)
		return nil
	}
	if rec == nil || rec.Withheld || !rec.Related {
		s.notFound(w, r, "Patient/"+idText)
		return nil
	}
	if to := rec.MergedInto; to != 0 {
		s.merged(w, r, g, id, to)
		return nil
	}
	return rec
}

// merged answers a read of a merged-away patient: 410 Gone, naming the
// surviving Patient when the client may see it, 404 otherwise.
func (s *Server) merged(w http.ResponseWriter, r *http.Request, g smart.Grant, id, survivor int64) {
	recs, err := s.reg.ReadRecords(r.Context(), []int64{survivor}, g.FacilityID, time.Time{}, registry.RecordParts{})
	if err != nil {
		s.internal(w, r, err)
		return
	}
	if len(recs) == 0 || !recs[0].Disclosable() {
		s.notFound(w, r, "Patient/"+itoa(id))
		return
	}
	s.fail(w, r, http.StatusGone, cpb.IssueTypeCode_DELETED,
		fmt.Sprintf("Patient/%d was merged into Patient/%d; read that one", id, survivor))
}

func (s *Server) readPatient(w http.ResponseWriter, r *http.Request) {
	g, err := authorize(r.Context(), 'r', "Patient")
	if err != nil {
		s.denied(w, r, err)
		return
	}
	rec := s.record(w, r, g, r.PathValue("id"), s.readParts(registry.RecordParts{Demographics: true}))
	if rec == nil {
		return
	}
	if err := s.audit(r.Context(), g, []int64{rec.PatientID}, "FHIR read: Patient"); err != nil {
		s.internal(w, r, err)
		return
	}
	s.write(w, r, http.StatusOK, toPatient(rec))
}

// searchPatients answers Patient?identifier=&name=&family=&given=&birthdate=&gender=&_count=,
// a page at a time in id order.
func (s *Server) searchPatients(w http.ResponseWriter, r *http.Request) {
	g, err := authorize(r.Context(), 's', "Patient")
	if err != nil {
		s.denied(w, r, err)
		return
	}
	q, err := patientSearch(r.URL.Query())
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, cpb.IssueTypeCode_INVALID, err.Error())
		return
	}
	q.Facility = g.FacilityID
	size := q.Limit
	q.Limit++ // one more tells whether there is a next page
	ids, err := s.reg.SearchDisclosable(r.Context(), q)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	next := ""
	if len(ids) > size {
		ids = ids[:size]
		v := r.URL.Query()
		v.Set("_after", itoa(ids[len(ids)-1]))
		next = s.base + "/Patient?" + v.Encode()
	}
	recs, err := s.disclose(r.Context(), g, ids, registry.RecordParts{Demographics: true}, "FHIR search: Patient")
	if err != nil {
		s.internal(w, r, err)
		return
	}
	entries := make([]entry, len(recs))
	for i := range recs {
		entries[i] = entry{res: toPatient(&recs[i]), fullURL: s.base + "/Patient/" + itoa(recs[i].PatientID)}
	}
	s.write(w, r, http.StatusOK, s.searchset(entries, s.base+"/Patient?"+r.URL.RawQuery, next, -1))
}

// disclose reads the records ids that may be disclosed to g's client and
// audits them.
func (s *Server) disclose(ctx context.Context, g smart.Grant, ids []int64, parts registry.RecordParts, what string) ([]registry.DisclosableRecord, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	recs, err := s.reg.ReadRecords(ctx, ids, g.FacilityID, time.Time{}, parts)
	if err != nil {
		return nil, err
	}
	out := recs[:0]
	for _, rec := range recs {
		if rec.Disclosable() {
			out = append(out, rec)
		}
	}
	disclosed := make([]int64, len(out))
	for i := range out {
		disclosed[i] = out[i].PatientID
	}
	return out, s.audit(ctx, g, disclosed, what)
}

const (
	defaultCount = 20
	maxCount     = 100
)

func patientSearch(v url.Values) (registry.DisclosableSearch, error) {
	q := registry.DisclosableSearch{Limit: defaultCount, Family: v.Get("family"), Given: v.Get("given"), Name: v.Get("name")}
	if id := v.Get("identifier"); id != "" {
		sys, value, ok := strings.Cut(id, "|")
		if !ok {
			sys, value = "", id
		}
		q.IdentifierValue, q.IdentifierAuthority = value, authorityOf(sys)
	}
	if bd := v.Get("birthdate"); bd != "" {
		d, err := time.Parse(time.DateOnly, strings.TrimPrefix(bd, "eq"))
		if err != nil {
			return q, fmt.Errorf("birthdate %q: want a day, YYYY-MM-DD", bd)
		}
		q.BirthDate = d
	}
	if gd := v.Get("gender"); gd != "" {
		sex, ok := genderSex(gd)
		if !ok {
			return q, fmt.Errorf("gender %q: want male, female, other or unknown", gd)
		}
		q.Sex = sex
	}
	if c := v.Get("_count"); c != "" {
		n, err := strconv.Atoi(c)
		if err != nil || n < 1 {
			return q, fmt.Errorf("_count %q: want a positive number", c)
		}
		q.Limit = min(n, maxCount)
	}
	if a := v.Get("_after"); a != "" {
		n, err := strconv.ParseInt(a, 10, 64)
		if err != nil {
			return q, fmt.Errorf("_after %q: not a page of this server", a)
		}
		q.After = n
	}
	return q, nil
}

// patientParam reads the patient search parameter (Patient/123 or 123).
func patientParam(v url.Values) (string, error) {
	p := strings.TrimPrefix(v.Get("patient"), "Patient/")
	if p == "" {
		return "", errors.New("the patient parameter is required (Patient/[id])")
	}
	return p, nil
}

// patientRecord is the common start of the searches by patient: the
// grant for resourceType, the patient parameter, the record.
func (s *Server) patientRecord(w http.ResponseWriter, r *http.Request, perm byte, resourceType, id string, read recordReader) (smart.Grant, *registry.DisclosableRecord) {
	g, err := authorize(r.Context(), perm, resourceType)
	if err != nil {
		s.denied(w, r, err)
		return g, nil
	}
	if id == "" {
		if id, err = patientParam(r.URL.Query()); err != nil {
			s.fail(w, r, http.StatusBadRequest, cpb.IssueTypeCode_REQUIRED, err.Error())
			return g, nil
		}
	}
	return g, s.record(w, r, g, id, read)
}

// readImmunization answers Immunization/[id] (an id Immunization search
// gives) under the privacy of Patient read: 404 when the dose is unknown or
// its patient opted out, is protected, merged away or outside the grant's
// facility.
func (s *Server) readImmunization(w http.ResponseWriter, r *http.Request) {
	g, err := authorize(r.Context(), 'r', "Immunization")
	if err != nil {
		s.denied(w, r, err)
		return
	}
	idText := r.PathValue("id")
	rec, i, err := s.dose(r.Context(), g, idText)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	if rec == nil {
		s.notFound(w, r, "Immunization/"+idText)
		return
	}
	if err := s.audit(r.Context(), g, []int64{rec.PatientID}, "FHIR read: Immunization"); err != nil {
		s.internal(w, r, err)
		return
	}
	buf := getBuf()
	defer putBuf(buf)
	*buf = appendImmunization(*buf, rec.DoseIDs[i], rec.PatientID, &rec.Vaccinations[i])
	w.Header().Set("Content-Type", fhirJSON+"; charset=utf-8")
	w.Write(*buf)
}

// dose reads the record holding the dose idText and the dose's index in
// it; a nil record when the dose is unknown or may not be disclosed to g's
// client.
func (s *Server) dose(ctx context.Context, g smart.Grant, idText string) (*registry.DisclosableRecord, int, error) {
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil || id <= 0 {
		return nil, 0, nil
	}
	pid, err := s.reg.DosePatient(ctx, id)
	if err != nil || pid == 0 {
		return nil, 0, err
	}
	recs, err := s.reg.ReadRecords(ctx, []int64{pid}, g.FacilityID, time.Time{}, registry.RecordParts{Doses: true})
	if err != nil || len(recs) == 0 || !recs[0].Disclosable() {
		return nil, 0, err
	}
	for i, d := range recs[0].DoseIDs {
		if d == id {
			return &recs[0], i, nil
		}
	}
	return nil, 0, nil
}

func (s *Server) searchImmunizations(w http.ResponseWriter, r *http.Request) {
	filter, err := immunizationFilter(r.URL.Query())
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, cpb.IssueTypeCode_INVALID, err.Error())
		return
	}
	g, rec := s.patientRecord(w, r, 's', "Immunization", "", s.readParts(registry.RecordParts{Doses: true}))
	if rec == nil {
		return
	}
	n := 0
	for i := range rec.Vaccinations {
		if filter(&rec.Vaccinations[i]) {
			n++
		}
	}
	if err := s.audit(r.Context(), g, []int64{rec.PatientID}, fmt.Sprintf("FHIR search: Immunization (%d)", n)); err != nil {
		s.internal(w, r, err)
		return
	}
	buf := getBuf()
	defer putBuf(buf)
	*buf = s.appendImmunizationSearchset(*buf, s.base+"/Immunization?"+r.URL.RawQuery, rec, filter)
	w.Header().Set("Content-Type", fhirJSON+"; charset=utf-8")
	w.Write(*buf)
}

func (s *Server) searchEvaluations(w http.ResponseWriter, r *http.Request) {
	s.assessed(w, r, "ImmunizationEvaluation", "", func(b []byte, a *assessment) []byte {
		return s.appendEvaluationSearchset(b, s.base+"/ImmunizationEvaluation?"+r.URL.RawQuery, a)
	})
}

func (s *Server) searchRecommendations(w http.ResponseWriter, r *http.Request) {
	s.assessed(w, r, "ImmunizationRecommendation", "", func(b []byte, a *assessment) []byte {
		return s.appendRecommendationSearchset(b, s.base+"/ImmunizationRecommendation?"+r.URL.RawQuery, a)
	})
}

// patientForecast answers Patient/[id]/$immds-forecast with the stored
// record's evaluations and recommendation.
func (s *Server) patientForecast(w http.ResponseWriter, r *http.Request) {
	s.assessed(w, r, "ImmunizationRecommendation", r.PathValue("id"), func(b []byte, a *assessment) []byte {
		return a.appendForecastParameters(b)
	})
}

// assessed forecasts a stored patient's record and answers with the JSON
// answer writes of it (a searchset or a Parameters).
func (s *Server) assessed(w http.ResponseWriter, r *http.Request, resourceType, id string, answer func([]byte, *assessment) []byte) {
	perm := byte('s')
	if id != "" {
		perm = 'r'
	}
	// The forecast needs no more of the demographics than the birth date,
	// the sex and the observations (Registry.ForecastRecord).
	g, rec := s.patientRecord(w, r, perm, resourceType, id, s.reg.ForecastRecord)
	if rec == nil {
		return
	}
	if err := s.audit(r.Context(), g, []int64{rec.PatientID}, "FHIR: "+resourceType+" (evaluation and forecast)"); err != nil {
		s.internal(w, r, err)
		return
	}
	buf := getBuf()
	defer putBuf(buf)
	*buf = answer(*buf, s.assess(rec))
	w.Header().Set("Content-Type", fhirJSON+"; charset=utf-8")
	w.Write(*buf)
}
