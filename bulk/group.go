package bulk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/iisproject/iis/registry"
	"github.com/iisproject/iis/smart"
)

// autoPrefix starts the id of a facility's automatic Group:
// facility-<MSH-4 id>.
const autoPrefix = "facility-"

// fhirID is what a FHIR resource id may be.
var fhirID = regexp.MustCompile(`^[A-Za-z0-9\-.]{1,64}$`)

// AutomaticGroupID returns the id of facility's automatic Group; false if
// the facility's id cannot be part of a FHIR id.
func AutomaticGroupID(facility string) (string, bool) {
	id := autoPrefix + facility
	return id, facility != "" && fhirID.MatchString(id)
}

// groupResource is a FHIR R4 Group of patients.
type groupResource struct {
	ResourceType string        `json:"resourceType"`
	ID           string        `json:"id,omitempty"`
	Meta         *meta         `json:"meta,omitempty"`
	Active       bool          `json:"active"`
	Type         string        `json:"type"`
	Actual       bool          `json:"actual"`
	Name         string        `json:"name,omitempty"`
	Quantity     int           `json:"quantity"`
	Managing     *reference    `json:"managingEntity,omitempty"`
	Member       []groupMember `json:"member,omitempty"`
}

type meta struct {
	LastUpdated string `json:"lastUpdated,omitempty"`
}

type reference struct {
	Reference string `json:"reference,omitempty"`
	Display   string `json:"display,omitempty"`
}

type groupMember struct {
	Entity reference `json:"entity"`
}

// view is a Group as a client sees it: its own, or a facility's
// automatic one.
type view struct {
	Group
	automatic bool
}

func (v view) resource() groupResource {
	g := groupResource{ResourceType: "Group", ID: v.ID, Active: true, Type: "person", Actual: true, Name: v.Name,
		Quantity: len(v.Members), Managing: &reference{Display: v.ClientID}}
	if v.automatic {
		g.Managing = &reference{Display: "the registry (HL7 v2 reports and queries of " + v.FacilityID + ")"}
	}
	if !v.Updated.IsZero() {
		g.Meta = &meta{LastUpdated: v.Updated.UTC().Format(time.RFC3339)}
	}
	for _, id := range v.Members {
		g.Member = append(g.Member, groupMember{Entity: reference{Reference: "Patient/" + strconv.FormatInt(id, 10)}})
	}
	return g
}

// errForbidden: the Group exists but is not the client's.
var errForbidden = errors.New("bulk: the Group is not this client's")

// lookup returns Group id as g may see it, with the members that may be
// disclosed.
func (s *Server) lookup(ctx context.Context, g smart.Grant, id string) (view, error) {
	if fac, ok := strings.CutPrefix(id, autoPrefix); ok {
		if !g.Statewide() && fac != g.FacilityID {
			return view{}, errForbidden
		}
		members, err := s.cfg.Registry.FacilityPatients(ctx, fac)
		if err != nil {
			return view{}, err
		}
		return view{Group: Group{ID: id, FacilityID: fac, Name: "Patients of " + fac + " (v2)", Members: members}, automatic: true}, nil
	}
	grp, err := s.cfg.Store.Group(ctx, id)
	if err != nil {
		return view{}, err
	}
	if grp.ClientID != g.ClientID {
		return view{}, errForbidden
	}
	// Members who opted out since they were added stay stored (they are
	// back if the opt-out is reversed) but are never shown or exported.
	ok, err := s.cfg.Registry.Disclosable(ctx, grp.Members)
	if err != nil {
		return view{}, err
	}
	grp.Members = slices.DeleteFunc(grp.Members, func(id int64) bool { return !ok[id] })
	return view{Group: grp}, nil
}

// grantFor returns the request's grant if it allows perm on resource;
// otherwise it answers 403 (or 401) and returns false.
func grantFor(w http.ResponseWriter, r *http.Request, resource string, perm byte) (smart.Grant, bool) {
	g, ok := grantOf(w, r)
	if !ok {
		return g, false
	}
	if !g.Allows(resource, perm) {
		smart.WriteOutcome(w, http.StatusForbidden, "forbidden", fmt.Sprintf("the token's scopes do not allow %c on %s", perm, resource))
		return g, false
	}
	return g, true
}

func (s *Server) fail(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ErrNotFound):
		smart.WriteOutcome(w, http.StatusNotFound, "not-found", "no such resource")
	case errors.Is(err, errForbidden):
		smart.WriteOutcome(w, http.StatusForbidden, "forbidden", "this Group is another client's or another facility's")
	default:
		s.cfg.Logger.Error("bulk", "err", err)
		smart.WriteOutcome(w, http.StatusInternalServerError, "exception", "internal error")
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	writeBody(w, status, "application/fhir+json", v)
}

func writeBody(w http.ResponseWriter, status int, contentType string, v any) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) readGroup(w http.ResponseWriter, r *http.Request) {
	g, ok := grantFor(w, r, "Group", 'r')
	if !ok {
		return
	}
	v, err := s.lookup(r.Context(), g, r.PathValue("id"))
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, v.resource())
}

// searchGroups answers GET /fhir/Group (name: a part of the name): the
// client's own Groups and its facility's automatic Group.
func (s *Server) searchGroups(w http.ResponseWriter, r *http.Request) {
	g, ok := grantFor(w, r, "Group", 's')
	if !ok {
		return
	}
	own, err := s.cfg.Store.Groups(r.Context(), g.ClientID)
	if err != nil {
		s.fail(w, err)
		return
	}
	views := make([]view, 0, len(own)+1)
	if id, ok := AutomaticGroupID(g.FacilityID); ok {
		v, err := s.lookup(r.Context(), g, id)
		if err != nil {
			s.fail(w, err)
			return
		}
		views = append(views, v)
	}
	for _, grp := range own {
		views = append(views, view{Group: grp})
	}
	name := strings.ToLower(r.URL.Query().Get("name"))
	bundle := map[string]any{"resourceType": "Bundle", "type": "searchset"}
	var entries []map[string]any
	for _, v := range views {
		if name == "" || strings.Contains(strings.ToLower(v.Name), name) {
			entries = append(entries, map[string]any{"fullUrl": s.base(r) + "/fhir/Group/" + v.ID, "resource": v.resource(),
				"search": map[string]string{"mode": "match"}})
		}
	}
	bundle["total"] = len(entries)
	bundle["entry"] = entries
	writeJSON(w, http.StatusOK, bundle)
}

// readGroupBody decodes a Group resource into its name and member ids.
func readGroupBody(r *http.Request) (string, []int64, error) {
	var res groupResource
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 32<<20))
	if err := dec.Decode(&res); err != nil {
		return "", nil, fmt.Errorf("the body is not a Group resource: %v", err)
	}
	if res.ResourceType != "Group" {
		return "", nil, errors.New("resourceType must be Group")
	}
	if res.Type != "" && res.Type != "person" {
		return "", nil, errors.New("a Group's type must be person")
	}
	ids := make([]int64, 0, len(res.Member))
	for _, m := range res.Member {
		id, err := patientRef(m.Entity.Reference)
		if err != nil {
			return "", nil, err
		}
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return res.Name, slices.Compact(ids), nil
}

// patientRef reads "Patient/123" (or a full URL ending so).
func patientRef(ref string) (int64, error) {
	i := strings.LastIndex(ref, "Patient/")
	if i < 0 {
		return 0, fmt.Errorf("member %q: want a reference Patient/[id]", ref)
	}
	id, err := strconv.ParseInt(ref[i+len("Patient/"):], 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("member %q: no such patient", ref)
	}
	return id, nil
}

// refused returns the members of ids g may not add: patients that do not
// exist or are not disclosed, and, for a facility's client, patients the
// facility has no relationship with (it neither reported nor queried them).
func (s *Server) refused(ctx context.Context, g smart.Grant, ids []int64) ([]int64, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var allowed func(int64) bool
	if g.Statewide() {
		ok, err := s.cfg.Registry.Disclosable(ctx, ids)
		if err != nil {
			return nil, err
		}
		allowed = func(id int64) bool { return ok[id] }
	} else {
		rel, err := s.cfg.Registry.Relations(ctx, ids, 0, g.FacilityID)
		if err != nil {
			return nil, err
		}
		allowed = func(id int64) bool { r, ok := rel[id]; return ok && !r.OptedOut && (r.Reported || r.Queried) }
	}
	var out []int64
	for _, id := range ids {
		if !allowed(id) {
			out = append(out, id)
		}
	}
	return out, nil
}

// checkMembers answers 422 and returns false if g may not add one of ids.
func (s *Server) checkMembers(w http.ResponseWriter, r *http.Request, g smart.Grant, ids []int64) bool {
	bad, err := s.refused(r.Context(), g, ids)
	if err != nil {
		s.fail(w, err)
		return false
	}
	if len(bad) > 0 {
		refs := make([]string, len(bad))
		for i, id := range bad {
			refs[i] = "Patient/" + strconv.FormatInt(id, 10)
		}
		smart.WriteOutcome(w, http.StatusUnprocessableEntity, "business-rule",
			"not found, or no relationship with this client's facility: "+strings.Join(refs, ", "))
		return false
	}
	return true
}

func (s *Server) createGroup(w http.ResponseWriter, r *http.Request) {
	g, ok := grantFor(w, r, "Group", 'c')
	if !ok {
		return
	}
	name, ids, err := readGroupBody(r)
	if err != nil {
		smart.WriteOutcome(w, http.StatusBadRequest, "invalid", err.Error())
		return
	}
	if !s.checkMembers(w, r, g, ids) {
		return
	}
	id, err := s.cfg.Store.CreateGroup(r.Context(), Group{ClientID: g.ClientID, FacilityID: g.FacilityID, Name: name, Members: ids})
	if err != nil {
		s.fail(w, err)
		return
	}
	s.audit(r.Context(), g, "fhir-group-create", fmt.Sprintf("Group/%s: %d members", id, len(ids)))
	s.writeGroup(w, r, g, id, http.StatusCreated)
}

func (s *Server) writeGroup(w http.ResponseWriter, r *http.Request, g smart.Grant, id string, status int) {
	v, err := s.lookup(r.Context(), g, id)
	if err != nil {
		s.fail(w, err)
		return
	}
	w.Header().Set("Location", s.base(r)+"/fhir/Group/"+id)
	writeJSON(w, status, v.resource())
}

// updateGroup replaces a client's Group (PUT): its name and members;
// members added are checked as on creation.
func (s *Server) updateGroup(w http.ResponseWriter, r *http.Request) {
	g, ok := grantFor(w, r, "Group", 'u')
	if !ok {
		return
	}
	id := r.PathValue("id")
	cur, err := s.lookup(r.Context(), g, id)
	if err == nil && cur.automatic {
		err = errForbidden
	}
	if err != nil {
		s.fail(w, err)
		return
	}
	name, ids, err := readGroupBody(r)
	if err != nil {
		smart.WriteOutcome(w, http.StatusBadRequest, "invalid", err.Error())
		return
	}
	var added []int64
	for _, m := range ids {
		if _, found := slices.BinarySearch(cur.Members, m); !found {
			added = append(added, m)
		}
	}
	if !s.checkMembers(w, r, g, added) {
		return
	}
	if err := s.cfg.Store.ReplaceGroup(r.Context(), Group{ID: id, ClientID: g.ClientID, Name: name, Members: ids}); err != nil {
		s.fail(w, err)
		return
	}
	s.audit(r.Context(), g, "fhir-group-update", fmt.Sprintf("Group/%s: %d members, %d added", id, len(ids), len(added)))
	s.writeGroup(w, r, g, id, http.StatusOK)
}

func (s *Server) deleteGroup(w http.ResponseWriter, r *http.Request) {
	g, ok := grantFor(w, r, "Group", 'd')
	if !ok {
		return
	}
	id := r.PathValue("id")
	if _, err := s.lookup(r.Context(), g, id); err != nil {
		s.fail(w, err)
		return
	}
	if err := s.cfg.Store.DeleteGroup(r.Context(), id, g.ClientID); err != nil {
		s.fail(w, err)
		return
	}
	s.audit(r.Context(), g, "fhir-group-delete", "Group/"+id)
	w.WriteHeader(http.StatusNoContent)
}

// audit records a client's action; a failure is logged (the action is done).
func (s *Server) audit(ctx context.Context, g smart.Grant, action, detail string) {
	if err := s.cfg.Registry.RecordAudit(ctx, registry.AuditEntry{Actor: "client:" + g.ClientID, Action: action, Detail: detail}); err != nil {
		s.cfg.Logger.Error("bulk: audit", "action", action, "err", err)
	}
}
