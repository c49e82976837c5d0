package bulk_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/iisproject/iis/bulk"
	"github.com/iisproject/iis/fhirapi"
	"github.com/iisproject/iis/forecast"
	"github.com/iisproject/iis/internal/cputime"
	"github.com/iisproject/iis/registry/benchreg"
	"github.com/iisproject/iis/smart"
)

var benchDay = time.Date(2025, 6, 30, 0, 0, 0, 0, time.UTC)

// fixedSource writes, per patient, one Patient, four Immunizations and
// one ImmunizationRecommendation of realistic sizes (about 300, 600 and
// 900 bytes): the cost of bulk's own work (jobs, chunks in PostgreSQL)
// without the FHIR API's.
type fixedSource struct{}

func (fixedSource) ExportNDJSON(_ context.Context, typ string, ids []int64, _ time.Time, emit func([]byte) error) error {
	per, pad := map[string]int{"Patient": 1, "Immunization": 4, "ImmunizationRecommendation": 1}[typ],
		map[string]int{"Patient": 250, "Immunization": 550, "ImmunizationRecommendation": 850}[typ]
	filler := make([]byte, pad)
	for i := range filler {
		filler[i] = 'x'
	}
	var line []byte
	for _, id := range ids {
		for i := 0; i < per; i++ {
			line = fmt.Appendf(line[:0], `{"resourceType":%q,"id":"%d-%d","patient":{"reference":"Patient/%d"},"text":"%s"}`, typ, id, i, id, filler)
			if err := emit(line); err != nil {
				return err
			}
		}
	}
	return nil
}

// BenchmarkExport (IIS_BENCH_EXPORT_WORKERS: Config.Workers) measures the $export of a Group of every patient of the
// benchmark registry (100,000 by default; IIS_BENCH_GROUP_MEMBERS: that
// many of them, spread evenly over the registry) by a statewide client, from
// the job's claim to its files stored, then their download: resources/s
// and MB/s, with bulk's fixed source and with the FHIR API's resources.
func BenchmarkExport(b *testing.B) {
	reg := benchreg.Open(b, benchDay)
	ctx := context.Background()
	rows, err := reg.Pool().Query(ctx, `SELECT id FROM patients ORDER BY id`)
	if err != nil {
		b.Fatal(err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		ids = append(ids, id)
	}
	rows.Close()
	ids = groupMembers(ids)
	fc, err := forecast.Default()
	if err != nil {
		b.Fatal(err)
	}
	api, err := fhirapi.New(fhirapi.Config{Registry: reg, Forecaster: fc, Now: func() time.Time { return benchDay }})
	if err != nil {
		b.Fatal(err)
	}
	store := bulk.NewStore(reg.Pool())
	scopes, _ := smart.ParseScopes("system/*.rs system/Group.cruds")
	grant := smart.Grant{ClientID: "bench", ClientName: "bench", Scopes: scopes}
	group, err := store.CreateGroup(ctx, bulk.Group{ClientID: "bench", Name: "everyone", Members: ids})
	if err != nil {
		b.Fatal(err)
	}
	for _, src := range []struct {
		name   string
		source bulk.Source
		types  []string
	}{
		{"fixed", fixedSource{}, bulk.ExportTypes},
		{"fhirapi/Patient+Immunization", api, []string{"Patient", "Immunization"}},
		{"fhirapi/all", api, bulk.ExportTypes},
	} {
		b.Run(src.name, func(b *testing.B) {
			workers, _ := strconv.Atoi(os.Getenv("IIS_BENCH_EXPORT_WORKERS")) // 0: the default, GOMAXPROCS
			srv, err := bulk.New(bulk.Config{Store: store, Registry: reg, Source: src.source, Workers: workers})
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				benchOne(b, ctx, srv, store, grant, group, src.types, len(ids))
			}
		})
	}
}

func benchOne(b *testing.B, ctx context.Context, srv *bulk.Server, store *bulk.Store, g smart.Grant, group string, types []string, members int) {
	id, err := store.CreateExport(ctx, bulk.Export{Grant: g, GroupID: group, Types: types, RequestURL: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	t0, cpu0 := time.Now(), cputime.Process()
	if !srv.RunOne(ctx) {
		b.Fatal("no export to run")
	}
	run, cpu := time.Since(t0), cputime.Process()-cpu0
	x, err := store.Export(ctx, id, g.ClientID)
	if err != nil || x.Status != bulk.StatusComplete {
		b.Fatalf("export %s: %v %+v", id, err, x)
	}
	outs, err := store.Outputs(ctx, id)
	if err != nil {
		b.Fatal(err)
	}
	n, size := 0, 0
	t1 := time.Now()
	for _, o := range outs {
		n += o.Count
		if err := store.WriteFile(ctx, id, o.Type, func(p []byte) error { size += len(p); _, err := io.Discard.Write(p); return err }); err != nil {
			b.Fatal(err)
		}
	}
	download := time.Since(t1)
	b.ReportMetric(float64(n)/run.Seconds(), "resources/s")
	b.ReportMetric(float64(size)/1e6/run.Seconds(), "MB/s")
	b.ReportMetric(float64(size)/1e6/download.Seconds(), "download-MB/s")
	b.ReportMetric(float64(n), "resources")
	b.ReportMetric(float64(cpu.Microseconds())/float64(n), "CPU-µs/resource")
	b.Logf("%d members, %d resources, %.1f MB: export %v, download %v", members, n, float64(size)/1e6, run.Round(time.Millisecond), download.Round(time.Millisecond))
	if err := store.Cancel(ctx, id, g.ClientID); err != nil {
		b.Fatal(err)
	}
	if _, err := store.Expire(ctx); err != nil {
		b.Fatal(err)
	}
}

// groupMembers is IIS_BENCH_GROUP_MEMBERS of ids, evenly spread (every
// k-th), or all of them.
func groupMembers(ids []int64) []int64 {
	n, err := strconv.Atoi(os.Getenv("IIS_BENCH_GROUP_MEMBERS"))
	if err != nil || n <= 0 || n >= len(ids) {
		return ids
	}
	out := make([]int64, n)
	for i := range out {
		out[i] = ids[i*len(ids)/n]
	}
	return out
}
