package fhirapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

// TestThirdPartyClient has fhir-kit-client (npm; installed by
// deploy/dev/ensure-fhir-kit-client.sh) drive the API over HTTP against a
// registry on PostgreSQL. The server's routes are wrapped in a middleware
// that grants statewide system/*.rs, as SMART's would for such a token.
func TestThirdPartyClient(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: the third-party FHIR client test needs Node.js (deploy/dev/ensure-fhir-kit-client.sh)")
	}
	modules := os.Getenv("IIS_NODE_DIR")
	if modules == "" {
		modules = filepath.Join("..", "var", "node")
	}
	modules, _ = filepath.Abs(filepath.Join(modules, "node_modules"))
	if _, err := os.Stat(filepath.Join(modules, "fhir-kit-client", "package.json")); err != nil {
		t.Skipf("fhir-kit-client is not installed in %s: run deploy/dev/ensure-fhir-kit-client.sh", modules)
	}
	f := newFixture(t, flu, refusal, dtap)
	mux := http.NewServeMux()
	f.srv.Register(func(p string, h http.Handler) {
		mux.Handle(p, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h.ServeHTTP(w, r.WithContext(grant("")))
		}))
	})
	ts := httptest.NewServer(mux)
	defer ts.Close()
	f.srv.base = ts.URL + "/fhir"

	id := itoa(f.patients[dtap])
	cmd := exec.CommandContext(t.Context(), node, filepath.Join("testdata", "node", "client.mjs"), ts.URL+"/fhir", "snow", id)
	cmd.Env = append(os.Environ(), "IIS_NODE_MODULES="+modules)
	stdout, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("node client: %v\n%s", err, stderr)
	}
	var got struct {
		FhirVersion   string
		Resources     []string
		PagedIDs      []string `json:"pagedIds"`
		FoundIDs      []string `json:"foundIds"`
		ReadFamily    string
		ReadBirthDate string
		MatchIDs      []string `json:"matchIds"`
		MatchGrades   []string
		Immunizations []struct {
			CVX, Status   string
			PrimarySource bool
		}
		RecommendationGroups int
		ForecastParameters   []string
		UnknownRead          any
	}
	if err := json.Unmarshal(stdout, &got); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	t.Logf("fhir-kit-client saw: %s", stdout)
	if got.FhirVersion != "4.0.1" || !slices.Contains(got.Resources, "ImmunizationRecommendation") {
		t.Errorf("capabilities: %s %v", got.FhirVersion, got.Resources)
	}
	if len(got.PagedIDs) != 3 {
		t.Errorf("paged through %v, want the 3 patients", got.PagedIDs)
	}
	if len(got.FoundIDs) != 1 || got.FoundIDs[0] != itoa(f.patients[flu]) {
		t.Errorf("search family=snow: %v", got.FoundIDs)
	}
	// Name, birth date and sex alone are a possible match for the matcher
	// of v2 queries: returned as such, graded possible.
	if len(got.MatchIDs) == 0 || got.MatchIDs[0] != id || (got.MatchGrades[0] != "certain" && got.MatchGrades[0] != "possible") {
		t.Errorf("$match of the patient read: %v %v", got.MatchIDs, got.MatchGrades)
	}
	historical := 0
	for _, im := range got.Immunizations {
		if !im.PrimarySource {
			historical++
		}
	}
	if len(got.Immunizations) != 3 || historical != 2 {
		t.Errorf("immunizations: %+v, want 3 with 2 historical", got.Immunizations)
	}
	if got.RecommendationGroups == 0 || !slices.Contains(got.ForecastParameters, "recommendation") {
		t.Errorf("forecast: %d groups, parameters %v", got.RecommendationGroups, got.ForecastParameters)
	}
	if got.UnknownRead != float64(404) {
		t.Errorf("read of an unknown patient: %v, want 404", got.UnknownRead)
	}
}
