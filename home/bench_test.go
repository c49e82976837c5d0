package home_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/iisproject/iis/accounts"
	"github.com/iisproject/iis/certificate"
	"github.com/iisproject/iis/hl7/immz"
	"github.com/iisproject/iis/home"
	msynth "github.com/iisproject/iis/match/synth"
	"github.com/iisproject/iis/portal"
	"github.com/iisproject/iis/registry"
	"github.com/iisproject/iis/registry/pgtest"
	"github.com/iisproject/iis/synth"
)

// BenchmarkImmunizationHome measures a clinic user's Immunization Home
// over HTTP: the search by name and birth date, then the patient's record
// with every dose's evaluation, sources and the Recommender (each view
// written to the accounting of disclosures), and the certificate PDF, on a
// registry of IIS_BENCH_PATIENTS patients (default 100,000) seeded with
// COPY plus 300 children with histories stored through the write path and
// reported by the user's clinic. IIS_BENCH_DATABASE_URL names a registry
// seeded beforehand instead (the 1,000,000-patient run: iisworker
// -database-url URL -seed 1000000). One user, one request at a time;
// latency is each page's server time to the last byte.
func BenchmarkImmunizationHome(b *testing.B) {
	ctx := context.Background()
	dbURL := os.Getenv("IIS_BENCH_DATABASE_URL")
	seeded := dbURL != ""
	if !seeded {
		dbURL = pgtest.NewDatabase(b)
	}
	reg, err := registry.Open(ctx, registry.Config{URL: dbURL, MaxConns: 8})
	if err != nil {
		b.Fatal(err)
	}
	defer reg.Close()
	if !seeded {
		n := 100_000
		if v, err := strconv.Atoi(os.Getenv("IIS_BENCH_PATIENTS")); err == nil && v > 0 {
			n = v
		}
		t0 := time.Now()
		recs := msynth.Generate(msynth.DefaultConfig(n)).Records
		if len(recs) > n {
			recs = recs[:n]
		}
		if _, err := registry.Seed(ctx, reg.Pool(), recs); err != nil {
			b.Fatal(err)
		}
		b.Logf("seeded %d patients in %v", len(recs), time.Since(t0).Round(time.Second))
	}
	var total int64
	reg.Pool().QueryRow(ctx, `SELECT reltuples::bigint FROM pg_class WHERE relname = 'patients'`).Scan(&total)
	b.Logf("registry holds about %d patients", total)

	// Children with histories, reported by the bench clinic.
	fac := fmt.Sprintf("BENCH%d", time.Now().UnixNano()%1_000_000)
	v := immz.New(immz.Config{})
	g := synth.New(synth.Config{Seed: uint64(time.Now().UnixNano())})
	var msgs []*registry.Message
	for len(msgs) < 300 {
		m := g.Next()
		if m.Kind != synth.Valid {
			continue
		}
		r := v.Decode(m.Body)
		if r.VXU == nil || r.VXU.Patient.BirthDate.IsZero() {
			continue
		}
		msgs = append(msgs, &registry.Message{Kind: "vxu", Facility: fac, ControlID: m.ControlID, Type: "VXU", Ack: "AA",
			Transport: "mllp", Received: time.Now(), Raw: m.Body, Decoded: r})
	}
	var results []registry.Result
	if err := pgx.BeginFunc(ctx, reg.Pool(), func(tx pgx.Tx) error {
		results, err = reg.ApplyBulk(ctx, tx, msgs)
		return err
	}); err != nil {
		b.Fatal(err)
	}
	type target struct {
		id    int64
		query string
	}
	var targets []target
	for i, m := range msgs {
		p := &m.Decoded.VXU.Patient
		n := p.LegalName()
		targets = append(targets, target{results[i].PatientID, url.Values{"family": {n.Family}, "given": {n.Given},
			"dob": {p.BirthDate.Format(time.DateOnly)}}.Encode()})
	}

	acc, err := accounts.New(accounts.Config{Pool: reg.Pool(), Audit: reg})
	if err != nil {
		b.Fatal(err)
	}
	p, err := portal.New(portal.Config{Accounts: acc})
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	if _, err := certificate.GenerateKeyFile(dir, time.Now()); err != nil {
		b.Fatal(err)
	}
	keys, err := certificate.OpenKeys(dir, nil)
	if err != nil {
		b.Fatal(err)
	}
	issuer, err := certificate.NewIssuer(certificate.Config{Keys: keys, IssuerURL: "https://iis.example.org", Registry: "Bench Program"})
	if err != nil {
		b.Fatal(err)
	}
	h, err := home.New(home.Config{Registry: reg, Accounts: acc, Forecaster: engine,
		Certificates: func() (*certificate.Issuer, error) { return issuer, nil }})
	if err != nil {
		b.Fatal(err)
	}
	h.Mount(p)
	srv := httptest.NewServer(p)
	defer srv.Close()
	org, err := acc.CreateOrganization(ctx, accounts.Organization{Kind: accounts.Clinic, Name: "Bench Clinic " + fac, FacilityID: fac})
	if err != nil {
		b.Fatal(err)
	}
	uid, err := acc.CreateUser(ctx, accounts.NewUser{Username: "bench-" + fac, FullName: "Bench User", Email: "bench@example.org", OrgID: org, Role: accounts.ClinicUser})
	if err != nil {
		b.Fatal(err)
	}
	u, _ := acc.User(ctx, uid)
	tok, _, err := acc.StartSession(ctx, u, true, "127.0.0.1")
	if err != nil {
		b.Fatal(err)
	}
	get := func(path string) time.Duration {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.AddCookie(&http.Cookie{Name: "iis_session", Value: tok})
		t0 := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := resp.Body.Read(make([]byte, 1<<20))
		for n > 0 {
			n, _ = resp.Body.Read(make([]byte, 1<<20))
		}
		resp.Body.Close()
		d := time.Since(t0)
		if resp.StatusCode != 200 {
			b.Fatalf("GET %s: %d", path, resp.StatusCode)
		}
		return d
	}
	for i := range 50 { // warm up: connections, prepared statements
		t := targets[i%len(targets)]
		get("/patients?" + t.query)
		get(fmt.Sprintf("/patients/%d", t.id))
	}
	search := make([]time.Duration, 0, b.N)
	record := make([]time.Duration, 0, b.N)
	both := make([]time.Duration, 0, b.N)
	pdf := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		t := targets[i%len(targets)]
		s := get("/patients?" + t.query)
		r := get(fmt.Sprintf("/patients/%d", t.id))
		search, record, both = append(search, s), append(record, r), append(both, s+r)
		pdf = append(pdf, get(fmt.Sprintf("/certificates/%d/pdf", t.id)))
	}
	b.StopTimer()
	for _, m := range []struct {
		name string
		lat  []time.Duration
	}{{"search", search}, {"record", record}, {"home", both}, {"pdf", pdf}} {
		slices.Sort(m.lat)
		b.ReportMetric(float64(m.lat[len(m.lat)/2].Microseconds())/1000, m.name+"-p50-ms")
		b.ReportMetric(float64(m.lat[len(m.lat)*99/100].Microseconds())/1000, m.name+"-p99-ms")
	}
}
