package fhirapi

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/fhir/go/fhirversion"
	"github.com/google/fhir/go/jsonformat"
	"github.com/google/fhir/go/jsonformat/fhirvalidate"

	"github.com/iisproject/iis/forecast"
	"github.com/iisproject/iis/hl7/immz"
	"github.com/iisproject/iis/registry"
	"github.com/iisproject/iis/registry/pgtest"
	"github.com/iisproject/iis/smart"
)

// assessedOn is the assessment date of the tests' forecasts.
var assessedOn = time.Date(2014, 1, 15, 12, 0, 0, 0, time.UTC)

var validator = immz.New(immz.Config{})

// fixture is a registry on its own PostgreSQL database holding the
// testdata VXUs, and a Server over it.
type fixture struct {
	store *registry.Store
	srv   *Server
	// patients maps a testdata file to the id of the patient it stored.
	patients map[string]int64
}

func newFixture(t testing.TB, files ...string) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := registry.Open(ctx, registry.Config{URL: pgtest.NewDatabase(t), MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	fc, err := forecast.Default()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Config{Registry: st, Forecaster: fc, Now: func() time.Time { return assessedOn }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	f := &fixture{store: st, srv: srv, patients: map[string]int64{}}
	for _, name := range files {
		f.patients[name] = f.send(t, "FAC"+name[:3], name, readTestdata(t, name))
	}
	return f
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// send stores a VXU as the worker does and returns its patient's id.
func (f *fixture) send(t testing.TB, facility, control string, raw []byte) int64 {
	t.Helper()
	res := validator.Decode(raw)
	if res.VXU == nil {
		t.Fatalf("%s: not an accepted VXU: %+v", control, res.Issues)
	}
	if n := res.Header.SendingFacility.Name; n != "" {
		facility = n
	}
	m := &registry.Message{Kind: "vxu", Facility: facility, ControlID: control, Type: "VXU", Ack: validator.AckCode(res),
		Transport: "mllp", Received: time.Now(), Raw: raw, Decoded: res}
	out, err := f.store.ApplyLocked(context.Background(), m)
	if err != nil {
		t.Fatalf("apply %s: %v", control, err)
	}
	return out.PatientID
}

// grant is a context carrying a statewide grant of scopes (system/*.rs
// when none are given).
func grant(facility string, scopes ...string) context.Context {
	g := smart.Grant{ClientID: "test-client", FacilityID: facility, Expires: time.Now().Add(time.Hour)}
	if len(scopes) == 0 {
		scopes = []string{"system/*.rs"}
	}
	for _, s := range scopes {
		sc, err := smart.ParseScope(s)
		if err != nil {
			panic(err)
		}
		g.Scopes = append(g.Scopes, sc)
	}
	return smart.NewContext(context.Background(), g)
}

var strictParse = func() *jsonformat.Unmarshaller {
	u, err := jsonformat.NewUnmarshaller("UTC", fhirversion.R4)
	if err != nil {
		panic(err)
	}
	return u
}()

// validResource parses a resource the API wrote and checks it with
// google/fhir/go's validator (required fields, reference types,
// primitives); it returns the parsed resource type's name.
func validResource(t testing.TB, js []byte) string {
	t.Helper()
	cr, err := strictParse.Unmarshal(js)
	if err != nil {
		t.Fatalf("resource does not parse as R4: %v\n%s", err, js)
	}
	if err := fhirvalidate.Validate(cr); err != nil {
		t.Fatalf("resource does not validate: %v\n%s", err, js)
	}
	return string(cr.ProtoReflect().WhichOneof(cr.ProtoReflect().Descriptor().Oneofs().Get(0)).Name())
}
