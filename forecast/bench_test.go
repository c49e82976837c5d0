package forecast_test

import (
	"testing"
	"time"

	"github.com/iisproject/iis/forecast"
	"github.com/iisproject/iis/internal/cputime"
)

// The single-goroutine benchmarks report forecasts/s (wall clock, one
// goroutine) and, where the OS tells, cpu-us/op and forecasts/cpu-s: the
// process CPU time per forecast (GC included), which stays meaningful on a
// machine shared with other work.

// child20 is a 2-year-old with a complete 20-dose routine history.
func child20() (forecast.Patient, []forecast.Dose) {
	p := forecast.Patient{DOB: day("2023-11-10"), Gender: forecast.Female}
	return p, doses(
		dose{"2023-11-10", "08"},                                                                                  // HepB birth
		dose{"2024-01-10", "110"}, dose{"2024-01-10", "49"}, dose{"2024-01-10", "133"}, dose{"2024-01-10", "116"}, // 2 months
		dose{"2024-03-10", "110"}, dose{"2024-03-10", "49"}, dose{"2024-03-10", "133"}, dose{"2024-03-10", "116"}, // 4 months
		dose{"2024-05-10", "110"}, dose{"2024-05-10", "133"}, dose{"2024-05-10", "116"}, // 6 months
		dose{"2024-10-15", "150"},                                                                               // influenza
		dose{"2024-11-10", "03"}, dose{"2024-11-10", "21"}, dose{"2024-11-10", "83"}, dose{"2024-11-10", "133"}, // 12 months
		dose{"2025-02-10", "20"}, dose{"2025-02-10", "49"}, // 15 months
		dose{"2025-05-10", "83"}, // 18 months
	)
}

// adult10 is a 66-year-old with 10 doses.
func adult10() (forecast.Patient, []forecast.Dose) {
	p := forecast.Patient{DOB: day("1959-06-01"), Gender: forecast.Male}
	return p, doses(
		dose{"2012-03-01", "115"}, dose{"2022-03-01", "09"},
		dose{"2021-10-01", "150"}, dose{"2022-10-01", "150"}, dose{"2023-10-01", "197"}, dose{"2024-10-01", "197"},
		dose{"2020-01-10", "187"}, dose{"2020-04-10", "187"},
		dose{"2024-07-01", "216"}, dose{"2025-09-15", "309"},
	)
}

func BenchmarkForecastChild20Doses(b *testing.B) {
	e := engine(b)
	p, ds := child20()
	asOf := day("2025-11-10")
	if len(ds) != 20 {
		b.Fatalf("%d doses", len(ds))
	}
	b.ReportAllocs()
	cpu0 := cputime.Process()
	for b.Loop() {
		e.Forecast(p, ds, asOf)
	}
	reportRate(b, cputime.Process()-cpu0)
}

func BenchmarkForecastAdult10Doses(b *testing.B) {
	e := engine(b)
	p, ds := adult10()
	asOf := day("2025-11-10")
	b.ReportAllocs()
	cpu0 := cputime.Process()
	for b.Loop() {
		e.Forecast(p, ds, asOf)
	}
	reportRate(b, cputime.Process()-cpu0)
}

func BenchmarkForecastParallelChild(b *testing.B) {
	e := engine(b)
	p, ds := child20()
	asOf := day("2025-11-10")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			e.Forecast(p, ds, asOf)
		}
	})
}

func BenchmarkLoadSupportingData(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := forecast.New(cdsidataFS()); err != nil {
			b.Fatal(err)
		}
	}
}

func reportRate(b *testing.B, cpu time.Duration) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "forecasts/s")
	if cpu > 0 {
		b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-us/op")
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "forecasts/cpu-s")
	}
}
