package fhirapi

import (
	"errors"
	"net/http"
	"strconv"

	cpb "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/codes_go_proto"
	dpb "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/datatypes_go_proto"
	bpb "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/resources/bundle_and_contained_resource_go_proto"
	epb "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/resources/immunization_evaluation_go_proto"
	ipb "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/resources/immunization_go_proto"
	rpb "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/resources/immunization_recommendation_go_proto"
	opb "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/resources/operation_outcome_go_proto"
	ppb "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/resources/patient_go_proto"
	"google.golang.org/protobuf/proto"
)

const fhirJSON = "application/fhir+json"

// write sends a resource.
func (s *Server) write(w http.ResponseWriter, r *http.Request, status int, res proto.Message) {
	b, err := s.marshalFast(res)
	if err != nil {
		s.log.ErrorContext(r.Context(), "fhir: writing a resource failed", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", fhirJSON+"; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b)
}

// fail answers with an OperationOutcome.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, status int, code cpb.IssueTypeCode_Value, msg string) {
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="fhir"`)
	}
	s.write(w, r, status, outcome(code, msg))
}

func outcome(code cpb.IssueTypeCode_Value, msg string) *opb.OperationOutcome {
	return &opb.OperationOutcome{Issue: []*opb.OperationOutcome_Issue{{
		Severity:    &opb.OperationOutcome_Issue_SeverityCode{Value: cpb.IssueSeverityCode_ERROR},
		Code:        &opb.OperationOutcome_Issue_CodeType{Value: code},
		Diagnostics: fstr(msg),
	}}}
}

// denied answers a request the grant does not allow: 401 without a
// grant, 403 with one whose scopes do not cover the request.
func (s *Server) denied(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, ErrNoGrant) {
		s.fail(w, r, http.StatusUnauthorized, cpb.IssueTypeCode_LOGIN, "an access token is required (SMART Backend Services, "+TokenURL+")")
		return
	}
	s.fail(w, r, http.StatusForbidden, cpb.IssueTypeCode_FORBIDDEN, err.Error())
}

func (s *Server) internal(w http.ResponseWriter, r *http.Request, err error) {
	s.log.ErrorContext(r.Context(), "fhir: request failed", "path", r.URL.Path, "err", err)
	s.fail(w, r, http.StatusInternalServerError, cpb.IssueTypeCode_EXCEPTION, "the registry could not answer now; try again later")
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request, what string) {
	s.fail(w, r, http.StatusNotFound, cpb.IssueTypeCode_NOT_FOUND, what+" is not known")
}

// contained wraps a resource for a Bundle entry or a Parameters part.
func contained(m proto.Message) *bpb.ContainedResource {
	switch v := m.(type) {
	case *ppb.Patient:
		return &bpb.ContainedResource{OneofResource: &bpb.ContainedResource_Patient{Patient: v}}
	case *ipb.Immunization:
		return &bpb.ContainedResource{OneofResource: &bpb.ContainedResource_Immunization{Immunization: v}}
	case *epb.ImmunizationEvaluation:
		return &bpb.ContainedResource{OneofResource: &bpb.ContainedResource_ImmunizationEvaluation{ImmunizationEvaluation: v}}
	case *rpb.ImmunizationRecommendation:
		return &bpb.ContainedResource{OneofResource: &bpb.ContainedResource_ImmunizationRecommendation{ImmunizationRecommendation: v}}
	}
	panic("fhirapi: no ContainedResource case for " + string(proto.MessageName(m)))
}

// entry is one search result.
type entry struct {
	res      proto.Message
	fullURL  string
	score    float64 // $match only
	grade    string  // $match only: certain, probable, possible
	hasScore bool
}

// searchset is a searchset Bundle of entries, with the self and next links.
func (s *Server) searchset(entries []entry, self, next string, total int) *bpb.Bundle {
	b := &bpb.Bundle{
		Type:  &bpb.Bundle_TypeCode{Value: cpb.BundleTypeCode_SEARCHSET},
		Link:  []*bpb.Bundle_Link{{Relation: fstr("self"), Url: furi(self)}},
		Meta:  &dpb.Meta{LastUpdated: finstant(s.now())},
		Entry: make([]*bpb.Bundle_Entry, 0, len(entries)),
	}
	if total >= 0 {
		b.Total = &dpb.UnsignedInt{Value: uint32(total)}
	}
	if next != "" {
		b.Link = append(b.Link, &bpb.Bundle_Link{Relation: fstr("next"), Url: furi(next)})
	}
	for _, e := range entries {
		be := &bpb.Bundle_Entry{Resource: contained(e.res), FullUrl: furi(e.fullURL),
			Search: &bpb.Bundle_Entry_Search{Mode: &bpb.Bundle_Entry_Search_ModeCode{Value: cpb.SearchEntryModeCode_MATCH}}}
		if e.hasScore {
			be.Search.Score = fdecimal(strconv.FormatFloat(e.score, 'f', 3, 64))
			be.Search.Extension = []*dpb.Extension{extCode("http://hl7.org/fhir/StructureDefinition/match-grade", e.grade)}
		}
		b.Entry = append(b.Entry, be)
	}
	return b
}
