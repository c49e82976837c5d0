package bulk

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/iisproject/iis/smart"
)

// unsupportedParams are the optional $export parameters this server
// refuses rather than ignores: ignoring one would export more than asked.
var unsupportedParams = []string{"_typeFilter", "_elements", "includeAssociatedData"}

// errNotSupported: a parameter of the IG this server does not support.
var errNotSupported = errors.New("not supported by this server")

// exportParams reads $export's parameters: the types asked for (each
// allowed by g; all the allowed ones when _type is absent) and _since.
func exportParams(r *http.Request, g smart.Grant) ([]string, time.Time, int, error) {
	q := r.URL.Query()
	if f := q.Get("_outputFormat"); f != "" && f != "application/fhir+ndjson" && f != "application/ndjson" && f != "ndjson" {
		return nil, time.Time{}, http.StatusBadRequest, fmt.Errorf("_outputFormat %q: only application/fhir+ndjson is written", f)
	}
	for _, p := range unsupportedParams {
		if q.Has(p) {
			return nil, time.Time{}, http.StatusBadRequest, fmt.Errorf("%w: %s (optional in the Bulk Data IG); export without it and filter the NDJSON", errNotSupported, p)
		}
	}
	var since time.Time
	if v := q.Get("_since"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return nil, time.Time{}, http.StatusBadRequest, fmt.Errorf("_since %q: want a FHIR instant (2024-01-02T03:04:05Z)", v)
		}
		since = t
	}
	var types []string
	if v := q.Get("_type"); v != "" {
		for _, t := range strings.Split(v, ",") {
			t = strings.TrimSpace(t)
			if !slices.Contains(ExportTypes, t) {
				return nil, time.Time{}, http.StatusBadRequest, fmt.Errorf("_type %q: this server exports %s", t, strings.Join(ExportTypes, ", "))
			}
			if !g.Allows(t, 'r') {
				return nil, time.Time{}, http.StatusForbidden, fmt.Errorf("_type %s: the token's scopes do not allow reading it", t)
			}
			if !slices.Contains(types, t) {
				types = append(types, t)
			}
		}
		return types, since, 0, nil
	}
	for _, t := range ExportTypes {
		if g.Allows(t, 'r') {
			types = append(types, t)
		}
	}
	if len(types) == 0 {
		return nil, time.Time{}, http.StatusForbidden, fmt.Errorf("the token's scopes allow reading none of %s", strings.Join(ExportTypes, ", "))
	}
	return types, since, 0, nil
}

// kickOff starts a Group-level export: 202 Accepted, the status URL in
// Content-Location.
func (s *Server) kickOff(w http.ResponseWriter, r *http.Request) {
	g, ok := grantFor(w, r, "Group", 'r')
	if !ok {
		return
	}
	types, since, status, err := exportParams(r, g)
	if err != nil {
		code := "invalid"
		switch {
		case status == http.StatusForbidden:
			code = "forbidden"
		case errors.Is(err, errNotSupported):
			code = "not-supported"
		}
		smart.WriteOutcome(w, status, code, err.Error())
		return
	}
	id := r.PathValue("id")
	if _, err := s.lookup(r.Context(), g, id); err != nil {
		s.fail(w, err)
		return
	}
	x := Export{Grant: g, GroupID: id, Types: types, Since: since, RequestURL: s.base(r) + r.URL.RequestURI()}
	xid, err := s.cfg.Store.CreateExport(r.Context(), x)
	if err != nil {
		s.fail(w, err)
		return
	}
	s.audit(r.Context(), g, "bulk-export", fmt.Sprintf("Group/%s $export %s: %s", id, xid, strings.Join(types, ",")))
	select {
	case s.wake <- struct{}{}:
	default:
	}
	w.Header().Set("Content-Location", s.base(r)+"/fhir/bulkstatus/"+xid)
	writeInfo(w, "export "+xid+" accepted")
}

// status answers a status poll: 202 with X-Progress while the export
// runs, the manifest once it is complete, an OperationOutcome if it failed.
func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	g, ok := grantOf(w, r)
	if !ok {
		return
	}
	x, err := s.cfg.Store.Export(r.Context(), r.PathValue("id"), g.ClientID)
	if err != nil {
		s.fail(w, err)
		return
	}
	switch x.Status {
	case StatusQueued, StatusRunning:
		progress := x.Progress
		if progress == "" {
			progress = x.Status
		}
		w.Header().Set("X-Progress", progress)
		w.Header().Set("Retry-After", "2")
		w.WriteHeader(http.StatusAccepted)
	case StatusFailed:
		smart.WriteOutcome(w, http.StatusInternalServerError, "exception", "the export failed: "+x.Error)
	default:
		s.manifest(w, r, x)
	}
}

type manifestFile struct {
	Type  string `json:"type"`
	URL   string `json:"url"`
	Count int    `json:"count"`
}

func (s *Server) manifest(w http.ResponseWriter, r *http.Request, x Export) {
	outs, err := s.cfg.Store.Outputs(r.Context(), x.ID)
	if err != nil {
		s.fail(w, err)
		return
	}
	files := make([]manifestFile, 0, len(outs))
	for _, o := range outs {
		files = append(files, manifestFile{Type: o.Type, URL: s.base(r) + "/fhir/bulkfiles/" + x.ID + "/" + o.Type + ".ndjson", Count: o.Count})
	}
	w.Header().Set("Expires", x.Expires.UTC().Format(http.TimeFormat))
	writeBody(w, http.StatusOK, "application/json", map[string]any{
		"transactionTime":     x.Created.UTC().Format(time.RFC3339Nano),
		"request":             x.RequestURL,
		"requiresAccessToken": true,
		"output":              files,
		"error":               []manifestFile{},
	})
}

// cancel answers DELETE on a status URL: the export stops, its files go.
func (s *Server) cancel(w http.ResponseWriter, r *http.Request) {
	g, ok := grantOf(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	if err := s.cfg.Store.Cancel(r.Context(), id, g.ClientID); err != nil {
		s.fail(w, err)
		return
	}
	s.audit(r.Context(), g, "bulk-export-cancel", "export "+id)
	writeInfo(w, "export "+id+" cancelled")
}

// file serves one NDJSON file of a complete export to the client that
// asked for it.
func (s *Server) file(w http.ResponseWriter, r *http.Request) {
	g, ok := grantOf(w, r)
	if !ok {
		return
	}
	typ, ok := strings.CutSuffix(r.PathValue("file"), ".ndjson")
	x, err := s.cfg.Store.Export(r.Context(), r.PathValue("id"), g.ClientID)
	if err == nil && (!ok || x.Status != StatusComplete || !slices.Contains(x.Types, typ)) {
		err = ErrNotFound
	}
	if err != nil {
		s.fail(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/fhir+ndjson")
	started := false
	err = s.cfg.Store.WriteFile(r.Context(), x.ID, typ, func(b []byte) error {
		started = true
		_, err := w.Write(b)
		return err
	})
	if err != nil && !started {
		s.fail(w, err)
		return
	}
	if err != nil {
		s.cfg.Logger.Warn("bulk: file download cut short", "export", x.ID, "type", typ, "err", err)
	}
	s.audit(r.Context(), g, "bulk-download", "export "+x.ID+" "+typ+" ("+strconv.Itoa(len(x.Types))+" types)")
}

// writeInfo answers 202 Accepted with an informational OperationOutcome.
func writeInfo(w http.ResponseWriter, msg string) {
	writeJSON(w, http.StatusAccepted, map[string]any{"resourceType": "OperationOutcome",
		"issue": []map[string]string{{"severity": "information", "code": "informational", "diagnostics": msg}}})
}

// grantOf returns the request's grant, or answers 401 and returns false.
func grantOf(w http.ResponseWriter, r *http.Request) (smart.Grant, bool) {
	g, ok := smart.FromContext(r.Context())
	if !ok {
		smart.Unauthorized(w, "no access token")
	}
	return g, ok
}
