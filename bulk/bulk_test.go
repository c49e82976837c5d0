package bulk

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iisproject/iis/registry"
	"github.com/iisproject/iis/registry/pgtest"
	"github.com/iisproject/iis/smart"
)

// fakeRegistry: patients 1–99 exist; facilities relate to the patients
// listed; opted-out patients are never disclosable.
type fakeRegistry struct {
	mu       sync.Mutex
	related  map[string][]int64
	optedOut map[int64]bool
	audit    []registry.AuditEntry
}

func (f *fakeRegistry) FacilityPatients(_ context.Context, fac string) ([]int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []int64
	for _, id := range f.related[fac] {
		if !f.optedOut[id] {
			out = append(out, id)
		}
	}
	return out, nil
}

func (f *fakeRegistry) Relations(_ context.Context, ids []int64, _ int64, fac string) (map[int64]registry.Relation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[int64]registry.Relation{}
	for _, id := range ids {
		if id < 100 {
			out[id] = registry.Relation{Reported: slices.Contains(f.related[fac], id), OptedOut: f.optedOut[id]}
		}
	}
	return out, nil
}

func (f *fakeRegistry) Disclosable(_ context.Context, ids []int64) (map[int64]bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[int64]bool{}
	for _, id := range ids {
		out[id] = id < 100 && !f.optedOut[id]
	}
	return out, nil
}

func (f *fakeRegistry) RecordAudit(_ context.Context, e registry.AuditEntry) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.audit = append(f.audit, e)
	return nil
}

// fakeSource writes per patient one Patient, two Immunizations and one
// ImmunizationRecommendation; it remembers the grants and _since it saw.
type fakeSource struct {
	mu     sync.Mutex
	since  []time.Time
	grants []string
	block  chan struct{} // if set, each call waits for it
}

func (f *fakeSource) ExportNDJSON(ctx context.Context, typ string, ids []int64, since time.Time, emit func([]byte) error) error {
	if f.block != nil {
		select {
		case <-f.block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	g, _ := smart.FromContext(ctx)
	f.mu.Lock()
	f.since = append(f.since, since)
	f.grants = append(f.grants, g.ClientID)
	f.mu.Unlock()
	per := map[string]int{"Patient": 1, "Immunization": 2, "ImmunizationRecommendation": 1}[typ]
	for _, id := range ids {
		for i := 0; i < per; i++ {
			if err := emit(fmt.Appendf(nil, `{"resourceType":%q,"id":"%d-%d","patient":{"reference":"Patient/%d"}}`, typ, id, i, id)); err != nil {
				return err
			}
		}
	}
	return nil
}

type fixture struct {
	srv   *Server
	store *Store
	reg   *fakeRegistry
	src   *fakeSource
	http  *httptest.Server
}

// grants are the test tokens: the bearer token names the grant.
var grants = map[string]string{
	"clinic1":  "CLINIC1|system/Group.cruds system/Patient.rs system/Immunization.rs system/ImmunizationRecommendation.rs",
	"clinic1b": "CLINIC1|system/Group.cruds system/Patient.rs system/Immunization.rs system/ImmunizationRecommendation.rs",
	"clinic2":  "CLINIC2|system/Group.cruds system/*.rs",
	"readonly": "CLINIC1|system/Group.rs system/Patient.rs",
	"nogroup":  "CLINIC1|system/Patient.rs system/Immunization.rs",
	"state":    "|system/*.rs",
}

func testGrant(token string) (smart.Grant, bool) {
	spec, ok := grants[token]
	if !ok {
		return smart.Grant{}, false
	}
	fac, scopes, _ := strings.Cut(spec, "|")
	sc, _ := smart.ParseScopes(scopes)
	return smart.Grant{ClientID: token, ClientName: token, FacilityID: fac, Scopes: sc}, true
}

func newFixture(t *testing.T, mutate func(*Config)) *fixture {
	t.Helper()
	ctx := context.Background()
	reg, err := registry.Open(ctx, registry.Config{URL: pgtest.NewDatabase(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.Close)
	f := &fixture{store: NewStore(reg.Pool()), src: &fakeSource{},
		reg: &fakeRegistry{related: map[string][]int64{"CLINIC1": {1, 2, 3, 4}, "CLINIC2": {5, 6}}, optedOut: map[int64]bool{}}}
	cfg := Config{Store: f.store, Registry: f.reg, Source: f.src, Poll: 20 * time.Millisecond, ChunkSize: 256, Batch: 2}
	if mutate != nil {
		mutate(&cfg)
	}
	f.srv, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	f.srv.Register(func(p string, h http.Handler) {
		mux.Handle(p, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			g, ok := testGrant(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
			if !ok {
				smart.Unauthorized(w, "test: unknown token")
				return
			}
			h.ServeHTTP(w, r.WithContext(smart.NewContext(r.Context(), g)))
		}))
	})
	f.http = httptest.NewServer(mux)
	t.Cleanup(f.http.Close)
	return f
}

// do sends a request as client token and returns the status, headers and body.
func (f *fixture) do(t *testing.T, token, method, path, body string) (int, http.Header, string) {
	t.Helper()
	url := path
	if !strings.HasPrefix(path, "http") {
		url = f.http.URL + path
	}
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Prefer", "respond-async")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func groupBody(name string, ids ...int64) string {
	g := groupResource{ResourceType: "Group", Type: "person", Actual: true, Name: name}
	for _, id := range ids {
		g.Member = append(g.Member, groupMember{Entity: reference{Reference: fmt.Sprintf("Patient/%d", id)}})
	}
	b, _ := json.Marshal(g)
	return string(b)
}

func members(t *testing.T, body string) []string {
	t.Helper()
	var g groupResource
	if err := json.Unmarshal([]byte(body), &g); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	var out []string
	for _, m := range g.Member {
		out = append(out, m.Entity.Reference)
	}
	return out
}

func TestGroups(t *testing.T) {
	f := newFixture(t, nil)
	status, h, body := f.do(t, "clinic1", "POST", "/fhir/Group", groupBody("Tomorrow's appointments", 2, 1))
	if status != 201 {
		t.Fatalf("create: %d %s", status, body)
	}
	loc := h.Get("Location")
	id := loc[strings.LastIndex(loc, "/")+1:]
	if got := members(t, body); !slices.Equal(got, []string{"Patient/1", "Patient/2"}) {
		t.Fatalf("members %v", got)
	}
	f.reg.optedOut[4] = true
	for _, tc := range []struct {
		name, token, method, path, body string
		want                            int
		wantMembers                     []string
	}{
		{name: "member of another facility", token: "clinic1", method: "POST", path: "/fhir/Group", body: groupBody("x", 1, 5), want: 422},
		{name: "opted-out member", token: "clinic1", method: "POST", path: "/fhir/Group", body: groupBody("x", 4), want: 422},
		{name: "no such patient", token: "clinic1", method: "POST", path: "/fhir/Group", body: groupBody("x", 12345), want: 422},
		{name: "statewide client, any disclosable patient", token: "state", method: "POST", path: "/fhir/Group", body: groupBody("x", 1, 5), want: 403},
		{name: "not a Group", token: "clinic1", method: "POST", path: "/fhir/Group", body: `{"resourceType":"Patient"}`, want: 400},
		{name: "bad member reference", token: "clinic1", method: "POST", path: "/fhir/Group", body: `{"resourceType":"Group","member":[{"entity":{"reference":"Practitioner/1"}}]}`, want: 400},
		{name: "read own", token: "clinic1", method: "GET", path: "/fhir/Group/" + id, want: 200, wantMembers: []string{"Patient/1", "Patient/2"}},
		{name: "read another client's", token: "clinic2", method: "GET", path: "/fhir/Group/" + id, want: 403},
		{name: "read without the Group scope", token: "nogroup", method: "GET", path: "/fhir/Group/" + id, want: 403},
		{name: "update adds 3, removes 1", token: "clinic1", method: "PUT", path: "/fhir/Group/" + id, body: groupBody("t", 2, 3), want: 200, wantMembers: []string{"Patient/2", "Patient/3"}},
		{name: "update adds another facility's", token: "clinic1", method: "PUT", path: "/fhir/Group/" + id, body: groupBody("t", 2, 3, 6), want: 422},
		{name: "update without write scope", token: "readonly", method: "PUT", path: "/fhir/Group/" + id, body: groupBody("t", 2), want: 403},
		{name: "automatic Group of own facility", token: "clinic1", method: "GET", path: "/fhir/Group/facility-CLINIC1", want: 200, wantMembers: []string{"Patient/1", "Patient/2", "Patient/3"}},
		{name: "automatic Group of another facility", token: "clinic1", method: "GET", path: "/fhir/Group/facility-CLINIC2", want: 403},
		{name: "automatic Group, statewide", token: "state", method: "GET", path: "/fhir/Group/facility-CLINIC2", want: 200, wantMembers: []string{"Patient/5", "Patient/6"}},
		{name: "automatic Group cannot be updated", token: "clinic1", method: "PUT", path: "/fhir/Group/facility-CLINIC1", body: groupBody("t", 2), want: 403},
		{name: "unknown Group", token: "clinic1", method: "GET", path: "/fhir/Group/gnothere", want: 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := f.do(t, tc.token, tc.method, tc.path, tc.body)
			if status != tc.want {
				t.Fatalf("%d %s, want %d", status, body, tc.want)
			}
			if tc.wantMembers != nil {
				if got := members(t, body); !slices.Equal(got, tc.wantMembers) {
					t.Fatalf("members %v, want %v", got, tc.wantMembers)
				}
			}
		})
	}
	status, _, body = f.do(t, "clinic1", "GET", "/fhir/Group?name=tomorrow", "")
	if status != 200 || !strings.Contains(body, `"total":0`) {
		t.Errorf("search by the old name: %d %s", status, body)
	}
	status, _, body = f.do(t, "clinic1", "GET", "/fhir/Group", "")
	if status != 200 || !strings.Contains(body, `"total":2`) || !strings.Contains(body, "facility-CLINIC1") {
		t.Errorf("search: %d %s", status, body)
	}
	if status, _, _ := f.do(t, "clinic1", "DELETE", "/fhir/Group/"+id, ""); status != 204 {
		t.Errorf("delete: %d", status)
	}
	if len(f.reg.audit) < 3 || f.reg.audit[0].Actor != "client:clinic1" || f.reg.audit[0].Action != "fhir-group-create" {
		t.Errorf("audit %+v", f.reg.audit)
	}
}

// export kicks off an export and returns its status URL.
func (f *fixture) export(t *testing.T, token, group, query string) string {
	t.Helper()
	status, h, body := f.do(t, token, "GET", "/fhir/Group/"+group+"/$export"+query, "")
	if status != 202 || h.Get("Content-Location") == "" {
		t.Fatalf("kick-off: %d %s", status, body)
	}
	return h.Get("Content-Location")
}

type manifest struct {
	TransactionTime     string         `json:"transactionTime"`
	Request             string         `json:"request"`
	RequiresAccessToken bool           `json:"requiresAccessToken"`
	Output              []manifestFile `json:"output"`
	Error               []manifestFile `json:"error"`
}

// waitManifest polls until the export is complete.
func (f *fixture) waitManifest(t *testing.T, token, statusURL string) manifest {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		status, h, body := f.do(t, token, "GET", statusURL, "")
		switch status {
		case 202:
			if h.Get("X-Progress") == "" || h.Get("Retry-After") == "" {
				t.Fatalf("202 without X-Progress/Retry-After: %v", h)
			}
			time.Sleep(20 * time.Millisecond)
			continue
		case 200:
			var m manifest
			if err := json.Unmarshal([]byte(body), &m); err != nil {
				t.Fatal(err)
			}
			return m
		}
		t.Fatalf("status: %d %s", status, body)
	}
	t.Fatal("export not complete in 10 s")
	return manifest{}
}

// lines downloads the manifest's files: the resource ids by type.
func (f *fixture) lines(t *testing.T, token string, m manifest) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, o := range m.Output {
		status, h, body := f.do(t, token, "GET", o.URL, "")
		if status != 200 || h.Get("Content-Type") != "application/fhir+ndjson" {
			t.Fatalf("file %s: %d %s", o.URL, status, body)
		}
		for _, l := range strings.Split(strings.TrimSuffix(body, "\n"), "\n") {
			var r struct{ ResourceType, ID string }
			if err := json.Unmarshal([]byte(l), &r); err != nil || r.ResourceType != o.Type {
				t.Fatalf("line %q of %s: %v", l, o.Type, err)
			}
			out[o.Type] = append(out[o.Type], r.ID)
		}
		if len(out[o.Type]) != o.Count {
			t.Errorf("%s: %d lines, manifest says %d", o.Type, len(out[o.Type]), o.Count)
		}
	}
	return out
}

func TestExport(t *testing.T) {
	f := newFixture(t, nil)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go f.srv.Run(ctx)
	_, h, _ := f.do(t, "clinic1", "POST", "/fhir/Group", groupBody("panel", 1, 2, 3))
	loc := h.Get("Location")
	gid := loc[strings.LastIndex(loc, "/")+1:]
	f.reg.optedOut[3] = true // opted out after joining: absent from the export

	statusURL := f.export(t, "clinic1", gid, "?_type=Patient,Immunization&_since=2024-01-02T03:04:05Z")
	m := f.waitManifest(t, "clinic1", statusURL)
	if !m.RequiresAccessToken || !strings.HasSuffix(m.Request, "/fhir/Group/"+gid+"/$export?_type=Patient,Immunization&_since=2024-01-02T03:04:05Z") || m.TransactionTime == "" {
		t.Errorf("manifest %+v", m)
	}
	got := f.lines(t, "clinic1", m)
	if !slices.Equal(got["Patient"], []string{"1-0", "2-0"}) || len(got["Immunization"]) != 4 || got["ImmunizationRecommendation"] != nil {
		t.Errorf("files %v", got)
	}
	if !f.src.since[0].Equal(time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)) || f.src.grants[0] != "clinic1" {
		t.Errorf("source saw since %v grants %v", f.src.since, f.src.grants)
	}
	// Another client sees neither the status nor the files.
	if status, _, _ := f.do(t, "clinic2", "GET", statusURL, ""); status != 404 {
		t.Errorf("another client's status: %d, want 404", status)
	}
	if status, _, _ := f.do(t, "clinic2", "GET", m.Output[0].URL, ""); status != 404 {
		t.Errorf("another client's file: %d, want 404", status)
	}
	// The automatic Group, every type the scopes allow.
	m = f.waitManifest(t, "clinic1", f.export(t, "clinic1", "facility-CLINIC1", ""))
	got = f.lines(t, "clinic1", m)
	if !slices.Equal(got["Patient"], []string{"1-0", "2-0", "4-0"}) || len(got["Immunization"]) != 6 || len(got["ImmunizationRecommendation"]) != 3 {
		t.Errorf("automatic Group files %v", got)
	}
	// DELETE removes the export and its files.
	if status, _, _ := f.do(t, "clinic1", "DELETE", statusURL, ""); status != 202 {
		t.Errorf("cancel: %d", status)
	}
	if status, _, _ := f.do(t, "clinic1", "GET", statusURL, ""); status != 404 {
		t.Errorf("status after cancel: %d, want 404", status)
	}
}

func TestExportRefusals(t *testing.T) {
	f := newFixture(t, nil)
	for _, tc := range []struct {
		name, token, path string
		want              int
		says              string // in the OperationOutcome
	}{
		{"_typeFilter", "clinic1", "/fhir/Group/facility-CLINIC1/$export?_type=Immunization&_typeFilter=" +
			url.QueryEscape("Immunization?date=ge2024-01-01"), 400, `"not-supported"`},
		{"_elements", "clinic1", "/fhir/Group/facility-CLINIC1/$export?_elements=id", 400, `_elements`},
		{"includeAssociatedData", "clinic1", "/fhir/Group/facility-CLINIC1/$export?includeAssociatedData=LatestProvenanceResources", 400, `includeAssociatedData`},
		{"another facility's automatic Group", "clinic1", "/fhir/Group/facility-CLINIC2/$export", 403, ""},
		{"no Group scope", "nogroup", "/fhir/Group/facility-CLINIC1/$export", 403, ""},
		{"type not in the scopes", "readonly", "/fhir/Group/facility-CLINIC1/$export?_type=Immunization", 403, ""},
		{"unknown type", "clinic1", "/fhir/Group/facility-CLINIC1/$export?_type=Observation", 400, ""},
		{"bad _since", "clinic1", "/fhir/Group/facility-CLINIC1/$export?_since=yesterday", 400, ""},
		{"other output format", "clinic1", "/fhir/Group/facility-CLINIC1/$export?_outputFormat=text/csv", 400, ""},
		{"unknown Group", "clinic1", "/fhir/Group/gnope/$export", 404, ""},
		{"no token", "", "/fhir/Group/facility-CLINIC1/$export", 401, ""},
		{"unknown status", "clinic1", "/fhir/bulkstatus/xnope", 404, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := f.do(t, tc.token, "GET", tc.path, "")
			if status != tc.want || !strings.Contains(body, "OperationOutcome") || !strings.Contains(body, tc.says) {
				t.Errorf("%d %s, want %d with an OperationOutcome saying %s", status, body, tc.want, tc.says)
			}
			if tc.name == "_typeFilter" && !strings.Contains(body, "_typeFilter") {
				t.Errorf("the OperationOutcome does not name _typeFilter: %s", body)
			}
		})
	}
}

// Two replicas: each export runs once. A runner that dies mid-export
// (no heartbeat for Stale) is taken over; a cancelled export stops.
func TestExportReplicasAndTakeover(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Stale = 300 * time.Millisecond; c.Worker = "a" })
	other, err := New(Config{Store: f.store, Registry: f.reg, Source: f.src, Stale: 300 * time.Millisecond, Worker: "b", Batch: 2})
	if err != nil {
		t.Fatal(err)
	}
	var urls []string
	for i := 0; i < 6; i++ {
		urls = append(urls, f.export(t, "clinic1", "facility-CLINIC1", "?_type=Patient"))
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	ran := make([]int, 2)
	for i, s := range []*Server{f.srv, other} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s.RunOne(ctx) {
				ran[i]++
			}
		}()
	}
	wg.Wait()
	if ran[0]+ran[1] != 6 {
		t.Fatalf("runs %v, want 6 in all", ran)
	}
	for _, u := range urls {
		if got := f.lines(t, "clinic1", f.waitManifest(t, "clinic1", u)); len(got["Patient"]) != 4 {
			t.Errorf("%s: %v", u, got)
		}
	}
	// Replica a claims an export and dies (it never heartbeats again).
	u := f.export(t, "clinic1", "facility-CLINIC1", "?_type=Patient")
	if x, err := f.store.Claim(ctx, "a", time.Minute); err != nil || x == nil {
		t.Fatalf("claim: %v %v", x, err)
	}
	if other.RunOne(ctx) {
		t.Fatal("b took over an export whose runner is alive")
	}
	time.Sleep(400 * time.Millisecond)
	if !other.RunOne(ctx) {
		t.Fatal("b did not take over the dead runner's export")
	}
	if got := f.lines(t, "clinic1", f.waitManifest(t, "clinic1", u)); len(got["Patient"]) != 4 {
		t.Errorf("taken-over export: %v", got)
	}
}

func TestExportCancelWhileRunning(t *testing.T) {
	f := newFixture(t, nil)
	f.src.block = make(chan struct{})
	u := f.export(t, "clinic1", "facility-CLINIC1", "?_type=Patient,Immunization")
	done := make(chan bool)
	go func() { done <- f.srv.RunOne(context.Background()) }()
	time.Sleep(100 * time.Millisecond)
	if status, h, _ := f.do(t, "clinic1", "GET", u, ""); status != 202 || !strings.Contains(h.Get("X-Progress"), "Patient") {
		t.Fatalf("while running: %d %v", status, h)
	}
	if status, _, _ := f.do(t, "clinic1", "DELETE", u, ""); status != 202 {
		t.Fatalf("cancel: %d", status)
	}
	close(f.src.block)
	<-done
	if status, _, _ := f.do(t, "clinic1", "GET", u, ""); status != 404 {
		t.Errorf("after cancel: %d, want 404", status)
	}
	if n, err := f.store.Expire(context.Background()); err != nil || n != 1 {
		t.Errorf("expire: %d %v, want the cancelled export deleted", n, err)
	}
}

func TestExportFilesExpire(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.FileTTL = 200 * time.Millisecond })
	u := f.export(t, "clinic1", "facility-CLINIC1", "?_type=Patient")
	f.srv.RunOne(context.Background())
	m := f.waitManifest(t, "clinic1", u)
	time.Sleep(300 * time.Millisecond)
	if status, _, _ := f.do(t, "clinic1", "GET", m.Output[0].URL, ""); status != 404 {
		t.Errorf("expired file: %d, want 404", status)
	}
	if n, _ := f.store.Expire(context.Background()); n != 1 {
		t.Errorf("expire deleted %d, want 1", n)
	}
}

func FuzzReadGroupBody(f *testing.F) {
	f.Add(groupBody("x", 1, 2))
	f.Add(`{"resourceType":"Group","member":[{"entity":{"reference":"https://x/fhir/Patient/-1"}}]}`)
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest("POST", "/fhir/Group", strings.NewReader(body))
		_, ids, err := readGroupBody(r)
		if err != nil {
			return
		}
		for i, id := range ids {
			if id <= 0 || i > 0 && ids[i-1] >= id {
				t.Fatalf("%q: ids %v", body, ids)
			}
		}
	})
}
