// Package query answers QBP^Q11 queries (Z34 history, Z44 evaluated
// history and forecast) with RSP^K11, from the registry and the CDSi
// forecaster, under the privacy rules of an IIS:
//
//   - only facilities allowed to query, and authenticated by the transport,
//     may query (AR otherwise);
//   - exactly one confident match → Z32 or Z42; several candidates, no
//     more than RCP-2 allows → Z31; more → Z33 TM; none → Z33 NF;
//   - a patient who opted out or whose record is protected (PD1-12 Y) is
//     never disclosed: the answer is Z33 PD, and a candidate list never
//     includes one;
//   - every response that discloses a patient's data writes an audit row
//     (who, which patient, when, what) before it is sent.
package query

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/iisproject/iis"
	"github.com/iisproject/iis/forecast"
	"github.com/iisproject/iis/hl7/immz"
	"github.com/iisproject/iis/ingest"
)

// Candidate is a registry patient the matcher considers for a query.
type Candidate struct {
	PatientID int64
	Patient   iis.Patient
	// Confident is the matcher's Match outcome; otherwise a possible match.
	Confident bool
	// Protected: the patient opted out or the record is protected; it must
	// not be disclosed.
	Protected bool
	// HasHistory: Patient and Doses are the patient's consolidated record,
	// read with the candidates; otherwise History is asked for it.
	HasHistory bool
	Doses      []iis.Vaccination
}

// Disclosure is one audit row: a facility was sent a patient's data.
type Disclosure struct {
	Facility  string
	PatientID int64
	At        time.Time
	Profile   string // Z31, Z32, Z42
	QueryTag  string
	ControlID string
	// What summarises what was returned, e.g. "demographics, 12 doses, forecast".
	What string
}

// Registry is what the query service needs from the registry.
type Registry interface {
	// FindPatients returns the candidates for the query, best first.
	FindPatients(ctx context.Context, q *immz.Query) ([]Candidate, error)
	// History returns a patient's consolidated record.
	History(ctx context.Context, patientID int64) (iis.Patient, []iis.Vaccination, error)
	// RecordDisclosure writes an audit row; a response is not sent if it fails.
	RecordDisclosure(ctx context.Context, d Disclosure) error
}

// Authorizer decides whether a sender may query.
type Authorizer interface {
	MayQuery(src ingest.Source) bool
}

// AllowList authorises the facilities it lists when the transport
// authenticated them (a SOAP login, a verified client certificate); "*"
// authorises every authenticated facility. A sender the transport did not
// authenticate (plain MLLP, whose MSH-4 is only a claim) is never
// authorised.
type AllowList []string

// MayQuery implements Authorizer.
func (a AllowList) MayQuery(src ingest.Source) bool {
	if !src.Authenticated || src.Facility == "" {
		return false
	}
	for _, f := range a {
		if f == "*" || f == src.Facility {
			return true
		}
	}
	return false
}

// AllowUnauthenticated authorises the facilities it lists ("*": any) by the
// facility a sender names, whether or not the transport authenticated it:
// anyone who can reach a listener can then read any record by claiming a
// listed MSH-4. It exists for closed test set-ups only; iisd enables it
// solely with query_allow_unauthenticated and warns at every start. The
// disclosures of an unauthenticated sender name it as such (see
// AuditedFacility), never as the facility it claims.
type AllowUnauthenticated []string

// MayQuery implements Authorizer.
func (a AllowUnauthenticated) MayQuery(src ingest.Source) bool {
	if src.Facility == "" {
		return false
	}
	for _, f := range a {
		if f == "*" || f == src.Facility {
			return true
		}
	}
	return false
}

// AuditedFacility is who a disclosure to src is recorded as sent to: the
// facility the transport authenticated, or for a sender it did not, a
// description that cannot be mistaken for a facility's name.
func AuditedFacility(src ingest.Source) string {
	if src.Authenticated && src.Facility != "" {
		return src.Facility
	}
	return "unauthenticated " + src.Transport + " sender claiming " + strconv.Quote(src.Facility)
}

// Config configures a Service.
type Config struct {
	Validator  *immz.Validator
	Registry   Registry
	Forecaster *forecast.Engine
	Authorizer Authorizer
	// Authority is the registry's assigning authority: every patient an
	// answer carries gets one more PID-3 identifier, the registry's
	// patient id (its FHIR Patient.id) of type SR with this authority, so
	// that a client can manage FHIR Groups with it (Bulk Data's
	// v2-mediated dynamic Groups). Empty: no such identifier.
	Authority string
	Logger    *slog.Logger
	Now       func() time.Time
}

// Service answers queries; it implements ingest.QueryHandler.
type Service struct {
	v    *immz.Validator
	reg  Registry
	fc   *forecast.Engine
	auth Authorizer
	aa   string
	log  *slog.Logger
	now  func() time.Time
}

// New returns a Service.
func New(cfg Config) *Service {
	s := &Service{v: cfg.Validator, reg: cfg.Registry, fc: cfg.Forecaster, auth: cfg.Authorizer, aa: cfg.Authority, log: cfg.Logger, now: cfg.Now}
	if s.v == nil {
		s.v = immz.New(immz.Config{})
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.auth == nil {
		s.auth = AllowList{}
	}
	return s
}

var (
	issueUnauthorized = immz.Issue{
		Location: immz.ErrorLocation{Segment: "MSH", Sequence: 1, Field: 4},
		Code:     immz.CodeApplicationInternal, Severity: immz.Error, Scope: immz.ScopeEnvelope,
		Message: "This facility is not authorised to query the registry - query rejected", Rule: "query not authorised",
	}
	issueInternal = immz.Issue{
		Location: immz.ErrorLocation{Segment: "QPD", Sequence: 1},
		Code:     immz.CodeApplicationInternal, Severity: immz.Error, Scope: immz.ScopeMessage,
		Message: "The registry could not answer this query right now; please send it again later", Rule: "query failed",
	}
)

// Answer implements ingest.QueryHandler.
func (s *Service) Answer(ctx context.Context, r *immz.Result, src ingest.Source) []byte {
	q := r.Query
	if !s.auth.MayQuery(src) {
		return s.v.Response(r, &immz.QueryResponse{Status: immz.StatusAppRejected, Issues: []immz.Issue{issueUnauthorized}})
	}
	cands, err := s.reg.FindPatients(ctx, q)
	if err != nil {
		s.log.ErrorContext(ctx, "query: finding patients failed", "err", err)
		return s.v.Response(r, &immz.QueryResponse{Status: immz.StatusAppError, Issues: []immz.Issue{issueInternal}})
	}
	var confident []Candidate
	for _, c := range cands {
		if c.Confident {
			confident = append(confident, c)
		}
	}
	switch {
	case len(cands) == 0:
		return s.v.Response(r, &immz.QueryResponse{Status: immz.StatusNotFound})
	case len(confident) == 1:
		c := confident[0]
		if c.Protected {
			return s.v.Response(r, &immz.QueryResponse{Status: immz.StatusProtected})
		}
		return s.history(ctx, r, src, c)
	}
	// Several candidates (or only possible matches): a list, without the
	// protected ones.
	var list []Candidate
	for _, c := range cands {
		if !c.Protected {
			list = append(list, c)
		}
	}
	switch {
	case len(list) == 0:
		return s.v.Response(r, &immz.QueryResponse{Status: immz.StatusProtected})
	case len(list) > q.Limit:
		return s.v.Response(r, &immz.QueryResponse{Status: immz.StatusTooMany})
	}
	resp := &immz.QueryResponse{Status: immz.StatusOK}
	for _, c := range list {
		resp.Candidates = append(resp.Candidates, s.withRegistryID(c.Patient, c.PatientID))
	}
	for _, c := range list {
		if err := s.reg.RecordDisclosure(ctx, Disclosure{Facility: AuditedFacility(src), PatientID: c.PatientID, At: s.now(), Profile: "Z31",
			QueryTag: q.Tag, ControlID: r.Header.ControlID, What: "demographics (candidate list)"}); err != nil {
			s.log.ErrorContext(ctx, "query: audit failed; nothing disclosed", "err", err)
			return s.v.Response(r, &immz.QueryResponse{Status: immz.StatusAppError, Issues: []immz.Issue{issueInternal}})
		}
	}
	return s.v.Response(r, resp)
}

// history answers with one patient's record (Z32) or evaluated record and
// forecast (Z42).
func (s *Service) history(ctx context.Context, r *immz.Result, src ingest.Source, c Candidate) []byte {
	q := r.Query
	p, doses := c.Patient, c.Doses
	if !c.HasHistory {
		var err error
		if p, doses, err = s.reg.History(ctx, c.PatientID); err != nil {
			s.log.ErrorContext(ctx, "query: loading history failed", "err", err)
			return s.v.Response(r, &immz.QueryResponse{Status: immz.StatusAppError, Issues: []immz.Issue{issueInternal}})
		}
	}
	now := s.now()
	h := &immz.PatientHistory{Patient: s.withRegistryID(p, c.PatientID), AssessedOn: now, Doses: make([]immz.EvaluatedDose, len(doses))}
	for i := range doses {
		h.Doses[i].Vaccination = doses[i]
	}
	profile, what := "Z32", "demographics, "+strconv.Itoa(len(doses))+" immunizations"
	if q.Profile == immz.ProfileEvaluatedForecast && s.fc != nil {
		profile, what = "Z42", what+", evaluation and forecast"
		s.evaluate(h, doses, now)
	}
	if err := s.reg.RecordDisclosure(ctx, Disclosure{Facility: AuditedFacility(src), PatientID: c.PatientID, At: now, Profile: profile,
		QueryTag: q.Tag, ControlID: r.Header.ControlID, What: what}); err != nil {
		s.log.ErrorContext(ctx, "query: audit failed; nothing disclosed", "err", err)
		return s.v.Response(r, &immz.QueryResponse{Status: immz.StatusAppError, Issues: []immz.Issue{issueInternal}})
	}
	return s.v.Response(r, &immz.QueryResponse{Status: immz.StatusOK, Match: h})
}

// withRegistryID returns p with the registry's id for it added to its
// identifiers (type SR, the registry's authority), if it has an authority.
func (s *Service) withRegistryID(p iis.Patient, id int64) iis.Patient {
	if s.aa == "" {
		return p
	}
	ids := make([]iis.Identifier, 0, len(p.Identifiers)+1)
	ids = append(ids, p.Identifiers...)
	p.Identifiers = append(ids, iis.Identifier{Value: strconv.FormatInt(id, 10), Authority: s.aa, Type: "SR"})
	return p
}

// evaluate runs the forecaster over the patient's doses and fills in each
// dose's evaluation per vaccine group and the recommendations.
func (s *Service) evaluate(h *immz.PatientHistory, doses []iis.Vaccination, on time.Time) {
	// The record's doses, observations (evidence of immunity,
	// contraindications, indications) and refusals, as cmd/cdsi reads
	// them from a VXU.
	in := s.fc.FromRecord(&h.Patient, doses)
	index := in.DoseOf // forecast dose index → h.Doses index
	res := s.fc.Forecast(in.Patient, in.Doses, on)
	// Every dose's evaluations share one allocation: count them first.
	count := make([]int, len(h.Doses))
	total := 0
	for _, g := range res.Groups {
		for _, gd := range g.Doses {
			if gd.Dose >= 0 && gd.Dose < len(index) {
				count[index[gd.Dose]]++
				total++
			}
		}
	}
	slab := make([]immz.DoseEvaluation, total)
	for i, n := range count {
		h.Doses[i].Evaluations, slab = slab[:0:n], slab[n:]
	}
	h.Recommendations = make([]immz.Recommendation, 0, len(res.Groups))
	for _, g := range res.Groups {
		group := groupCode(g.VaccineGroup)
		for _, gd := range g.Doses {
			if gd.Dose < 0 || gd.Dose >= len(index) {
				continue
			}
			ev := immz.DoseEvaluation{Group: group, Valid: gd.Status == forecast.Valid, Reason: gd.Reason}
			d := &h.Doses[index[gd.Dose]]
			d.Evaluations = append(d.Evaluations, ev)
		}
		// Number the valid doses of the group in date order.
		n := 0
		for _, gd := range g.Doses {
			if gd.Dose < 0 || gd.Dose >= len(index) || gd.Status != forecast.Valid {
				continue
			}
			n++
			evs := h.Doses[index[gd.Dose]].Evaluations
			for k := range evs {
				if evs[k].Group == group {
					evs[k].DoseNumber = n
				}
			}
		}
		h.Recommendations = append(h.Recommendations, immz.Recommendation{
			Group: group, Status: g.Status.String(), DoseNumber: g.DoseNumber,
			Earliest: g.Earliest.Time(), Recommended: g.Recommended.Time(), PastDue: g.PastDue.Time(), Latest: g.Latest.Time(), Reason: g.Reason,
		})
	}
}

// groupCode names a CDSi vaccine group by the CVX code of its unspecified
// formulation, as 30956-7 carries it.
func groupCode(name string) iis.Code {
	if code, text, ok := forecast.GroupCVX(name); ok {
		return iis.Code{Code: code, Text: text, System: "CVX"}
	}
	return iis.Code{Text: name}
}
