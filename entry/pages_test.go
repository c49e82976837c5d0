package entry

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iisproject/iis"
	"github.com/iisproject/iis/accounts"
	"github.com/iisproject/iis/hl7/immz"
	"github.com/iisproject/iis/ingest"
	"github.com/iisproject/iis/registry"
)

// fakeIngest answers as the ingest handler would (the real validator's
// ACK) and keeps what it was sent with its Source.
type fakeIngest struct {
	val  *immz.Validator
	mu   sync.Mutex
	sent []sentMessage
}

type sentMessage struct {
	src ingest.Source
	r   *immz.Result
}

func (f *fakeIngest) ServeHL7(ctx context.Context, msg []byte) []byte {
	src, _ := ingest.SourceFromContext(ctx)
	r := f.val.Decode(msg)
	f.mu.Lock()
	f.sent = append(f.sent, sentMessage{src, r})
	f.mu.Unlock()
	return f.val.Ack(r)
}

// fakeRegistry holds one patient, reported by CLINIC-A, with one dose of
// the clinic's and one of another clinic's; stored reports are filed
// under patient 7.
type fakeRegistry struct {
	stored bool
	doses  map[int64]registry.SourceDose
}

func (f *fakeRegistry) Patient(_ context.Context, id int64) (iis.Patient, error) {
	return iis.Patient{Identifiers: []iis.Identifier{{Value: "M1", Authority: "CLINIC-A", Type: "MR"}},
		Names: []iis.Name{{Family: "Quinlan", Given: "Maeve", Type: "L"}}, BirthDate: mustDate("2026-06-02"), Sex: "F"}, nil
}

func (f *fakeRegistry) ReportPatient(context.Context, string, string) (registry.StoredReport, error) {
	if !f.stored {
		return registry.StoredReport{}, nil
	}
	return registry.StoredReport{Stored: true, Kind: "vxu", PatientID: 7}, nil
}

func (f *fakeRegistry) SourceDose(_ context.Context, id int64) (registry.SourceDose, error) {
	d, ok := f.doses[id]
	if !ok {
		return d, registry.ErrNoSuchDose
	}
	return d, nil
}

func (f *fakeRegistry) FacilityDoses(_ context.Context, pid int64, fac string) ([]registry.SourceDose, error) {
	var out []registry.SourceDose
	for _, d := range f.doses {
		if d.PatientID == pid && d.Facility == fac {
			out = append(out, d)
		}
	}
	return out, nil
}

func (f *fakeRegistry) ReportedBy(_ context.Context, pid int64, fac string) (bool, error) {
	return pid == 7 && fac == "CLINIC-A", nil
}

type fakeOrgs struct{}

func (fakeOrgs) Organization(context.Context, int64) (accounts.Organization, error) {
	return accounts.Organization{ID: 1, Kind: accounts.Clinic, Name: "Elm Street Pediatrics", FacilityID: "CLINIC-A"}, nil
}

func mustDate(s string) time.Time {
	t, _ := time.Parse(time.DateOnly, s)
	return t
}

// pagesServer serves the pages to a signed-in clinic user.
func pagesServer(t *testing.T, reg *fakeRegistry) (*httptest.Server, *fakeIngest) {
	t.Helper()
	in := &fakeIngest{val: testValidator()}
	p, err := New(Config{Ingest: in, Registry: reg, Organizations: fakeOrgs{}, Wait: 1, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	u := accounts.User{ID: 3, Username: "nurse@elm", FullName: "Nora Nurse", OrgID: 1, Role: accounts.ClinicUser}
	p.Register(func(pattern string, perm accounts.Permission, page PageFunc) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) { page(w, r, u, "tok") })
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, in
}

func fetch(t *testing.T, c *http.Client, method, u string, form url.Values) (int, string, string) {
	t.Helper()
	var resp *http.Response
	var err error
	if method == http.MethodPost {
		resp, err = c.PostForm(u, form)
	} else {
		resp, err = c.Get(u)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

func formValues(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

// TestPages walks the pages against fakes: registration (stored at once,
// or not yet), a dose with an error beside its field, a dose accepted, a
// correction and a deletion under the dose's ORC-3, another clinic's
// dose read-only, a patient of no relationship refused.
func TestPages(t *testing.T) {
	reg := &fakeRegistry{doses: map[int64]registry.SourceDose{
		11: {ID: 11, PatientID: 7, Facility: "CLINIC-A", Transport: "mllp", Consolidation: "winner",
			Vaccination: iis.Vaccination{CVX: "08", Vaccine: iis.Code{Code: "08", Text: "Hep B", System: "CVX"}, AdministeredAt: mustDate("2026-06-03"),
				Lots: []string{"L1"}, FillerOrder: iis.Identifier{Value: "EHR-55", Authority: "CLINIC-A"}, Amount: "0.5",
				VIS: []iis.VIS{{Document: iis.Code{Code: "253088698300003511070517", System: "cdcgs1vis"}}}}},
		13: {ID: 13, PatientID: 7, Facility: "CLINIC-A", Consolidation: "not_event",
			Vaccination: iis.Vaccination{CVX: "998", Vaccine: iis.Code{Code: "998", Text: "No vaccine administered"}, CompletionStatus: "NA"}},
		12: {ID: 12, PatientID: 7, Facility: "CLINIC-B", Consolidation: "winner",
			Vaccination: iis.Vaccination{CVX: "08", AdministeredAt: mustDate("2026-06-04"), FillerOrder: iis.Identifier{Value: "X", Authority: "CLINIC-B"}}},
	}}
	srv, in := pagesServer(t, reg)
	c := srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	if code, _, body := fetch(t, c, "GET", srv.URL+"/patients/new", nil); code != 200 || !strings.Contains(body, `id="patient-form"`) {
		t.Fatalf("new patient form: %d\n%s", code, body)
	}
	pf := formValues("family", "Quinlan", "given", "Maeve", "birth_date", "2027-06-02", "sex", "F", "mrn", "M1")
	code, _, body := fetch(t, c, "POST", srv.URL+"/patients/new", pf)
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, `id="err-birth_date"`) || !strings.Contains(body, "is in the future") {
		t.Fatalf("future birth date: %d\n%s", code, body)
	}
	pf.Set("birth_date", "2026-06-02")
	code, loc, _ := fetch(t, c, "POST", srv.URL+"/patients/new", pf)
	if code != http.StatusSeeOther || !strings.HasPrefix(loc, "/entries/WEB") {
		t.Fatalf("registration not yet stored: %d %s", code, loc)
	}
	if code, _, body := fetch(t, c, "GET", srv.URL+loc, nil); code != 200 || !strings.Contains(body, `id="processing"`) ||
		!strings.Contains(body, `<meta http-equiv="refresh" content="3">`) || !strings.Contains(body, `href="`+loc+`"`) {
		t.Fatalf("status page: %d\n%s", code, body)
	}
	last := in.sent[len(in.sent)-1]
	if last.src != (ingest.Source{Facility: "CLINIC-A", Transport: "web", Authenticated: true}) || last.r.Header.SendingFacility.Name != "CLINIC-A" {
		t.Errorf("source %+v, MSH-4 %+v", last.src, last.r.Header.SendingFacility)
	}
	reg.stored = true
	if code, loc, _ := fetch(t, c, "GET", srv.URL+loc, nil); code != http.StatusSeeOther || loc != "/patients/7/doses/new?saved=entry" {
		t.Fatalf("status once stored: %d %s", code, loc)
	}
	if code, loc, _ := fetch(t, c, "POST", srv.URL+"/patients/new", pf); code != http.StatusSeeOther || loc != "/patients/7/doses/new?saved=patient" {
		t.Fatalf("registration stored: %d %s", code, loc)
	}

	code, _, body = fetch(t, c, "GET", srv.URL+"/patients/7/doses/new?saved=patient", nil)
	if code != 200 || !strings.Contains(body, "Patient registered.") || !strings.Contains(body, `href="/patients/7/doses/11/edit"`) ||
		strings.Contains(body, "/doses/12/edit") || !strings.Contains(body, "Maeve") || strings.Contains(body, "No vaccine administered") {
		t.Fatalf("dose page: %d\n%s", code, body)
	}
	df := formValues("kind", "administered", "cvx", "20", "date", "2027-12-08", "lot", "AB12", "mvx", "SKB", "amount", "0.5", "units", "mL",
		"eligibility", "V02", "site", "LT", "route", "C28161")
	code, _, body = fetch(t, c, "POST", srv.URL+"/patients/7/doses/new", df)
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, `id="err-date"`) || !strings.Contains(body, `value="AB12"`) {
		t.Fatalf("future dose: %d\n%s", code, body)
	}
	// The form shown again carries a new entry id (the refused one is
	// stored as refused); sending it twice (a double click) sends one
	// entry twice: same MSH-10, same ORC-3, which the registry keeps once.
	entry := hidden(t, body, "entry")
	if !validControlID(entry) || entry == df.Get("entry") {
		t.Fatalf("entry id of the form shown again: %q", entry)
	}
	df.Set("entry", entry)
	df.Set("date", "2026-12-07")
	for range 2 {
		if code, loc, _ := fetch(t, c, "POST", srv.URL+"/patients/7/doses/new", df); code != http.StatusSeeOther || loc != "/patients/7/doses/new?saved=dose" {
			t.Fatalf("dose: %d %s", code, loc)
		}
	}
	first, second := in.sent[len(in.sent)-2].r, in.sent[len(in.sent)-1].r
	dose := second.VXU.Vaccinations[0]
	if dose.FillerOrder.Value != FillerOrderFor(entry) || dose.Action != "A" || dose.Lots[0] != "AB12" || second.Header.ControlID != entry ||
		first.Header.ControlID != entry || first.VXU.Vaccinations[0].FillerOrder != dose.FillerOrder {
		t.Errorf("dose sent %+v (MSH-10 %s, then %s)", dose, first.Header.ControlID, second.Header.ControlID)
	}

	code, _, body = fetch(t, c, "GET", srv.URL+"/patients/7/doses/11/edit", nil)
	// The stored VIS edition is no longer current, so not among the
	// choices: it stays selected rather than being dropped by the correction.
	if code != 200 || !strings.Contains(body, `value="L1"`) || !strings.Contains(body, `id="f-delete"`) ||
		!strings.Contains(body, `<option value="253088698300003511070517" selected>`) {
		t.Fatalf("edit page: %d\n%s", code, body)
	}
	ef := formValues("kind", "administered", "cvx", "08", "date", "2026-06-03", "lot", "L2", "amount", "0.5", "units", "mL")
	// Without a funding eligibility the registry takes the dose with a
	// warning: the page says so before going on.
	code, _, body = fetch(t, c, "POST", srv.URL+"/patients/7/doses/11/edit", ef)
	if code != 200 || !strings.Contains(body, "Dose corrected.") || !strings.Contains(body, "VFC eligibility observation") ||
		!strings.Contains(body, `href="/patients/7/doses/new?saved=corrected"`) {
		t.Fatalf("correction: %d\n%s", code, body)
	}
	ef.Set("eligibility", "V01")
	if code, loc, _ := fetch(t, c, "POST", srv.URL+"/patients/7/doses/11/edit", ef); code != http.StatusSeeOther || loc != "/patients/7/doses/new?saved=corrected" {
		t.Fatalf("correction: %d %s", code, loc)
	}
	upd := in.sent[len(in.sent)-1].r.VXU.Vaccinations[0]
	if upd.FillerOrder != (iis.Identifier{Value: "EHR-55", Authority: "CLINIC-A"}) || upd.Action != "U" || upd.Lots[0] != "L2" {
		t.Errorf("correction sent %+v", upd)
	}
	if code, loc, _ := fetch(t, c, "POST", srv.URL+"/patients/7/doses/11/delete", url.Values{}); code != http.StatusSeeOther || loc != "/patients/7/doses/new?saved=deleted" {
		t.Fatalf("delete: %d %s", code, loc)
	}
	del := in.sent[len(in.sent)-1].r.VXU.Vaccinations[0]
	if del.FillerOrder.Value != "EHR-55" || del.Action != "D" {
		t.Errorf("delete sent %+v", del)
	}

	n := len(in.sent)
	if code, _, body := fetch(t, c, "GET", srv.URL+"/patients/7/doses/12/edit", nil); code != 200 || !strings.Contains(body, `id="read-only"`) || strings.Contains(body, `id="dose-form"`) {
		t.Errorf("another clinic's dose: %d\n%s", code, body)
	}
	if code, _, _ := fetch(t, c, "POST", srv.URL+"/patients/7/doses/12/delete", url.Values{}); code != http.StatusForbidden {
		t.Errorf("deleting another clinic's dose: %d", code)
	}
	if code, _, _ := fetch(t, c, "GET", srv.URL+"/patients/7/doses/99/edit", nil); code != http.StatusNotFound {
		t.Errorf("unknown dose: %d", code)
	}
	if code, _, _ := fetch(t, c, "GET", srv.URL+"/patients/8/doses/new", nil); code != http.StatusForbidden {
		t.Errorf("a patient of no relationship: %d", code)
	}
	if code, _, _ := fetch(t, c, "POST", srv.URL+"/patients/8/doses/new", df); code != http.StatusForbidden {
		t.Errorf("a dose for a patient of no relationship: %d", code)
	}
	if len(in.sent) != n {
		t.Errorf("refused entries were sent: %d messages", len(in.sent)-n)
	}
}

// hidden returns the value of the hidden input name in an HTML page.
func hidden(t *testing.T, body, name string) string {
	t.Helper()
	_, rest, ok := strings.Cut(body, `name="`+name+`" value="`)
	if !ok {
		t.Fatalf("no hidden %s in\n%s", name, body)
	}
	v, _, _ := strings.Cut(rest, `"`)
	return v
}
