package forecast_test

import (
	"math/rand"
	"reflect"
	"testing"
	"time"

	"github.com/iisproject/iis/forecast"
)

// cvxPool is a mix of childhood, adolescent, adult, live and combination
// vaccines, plus codes the CVX map does not know.
var cvxPool = []string{"08", "20", "106", "110", "120", "146", "115", "09", "113", "10", "49", "48", "51",
	"133", "215", "216", "33", "116", "119", "122", "03", "94", "21", "83", "52", "104", "43", "189",
	"62", "165", "137", "114", "136", "147", "203", "162", "163", "141", "150", "149", "187", "121",
	"208", "300", "309", "310", "311", "303", "305", "306", "05", "07", "06", "999", "", "x"}

func randomHistory(rng *rand.Rand) (forecast.Patient, []forecast.Dose, time.Time) {
	dob := time.Date(1940+rng.Intn(86), time.Month(1+rng.Intn(12)), 1+rng.Intn(28), 0, 0, 0, 0, time.UTC)
	asOf := dob.AddDate(0, 0, rng.Intn(90*365))
	p := forecast.Patient{DOB: dob, Gender: forecast.Gender(rng.Intn(4))}
	for i := rng.Intn(3); i > 0; i-- {
		p.Observations = append(p.Observations, forecast.Observation{Code: []string{"003", "007", "032", "080", "145", "151", "160", "171", "026"}[rng.Intn(9)],
			Date: dob.AddDate(0, 0, rng.Intn(40*365))})
	}
	n := rng.Intn(25)
	ds := make([]forecast.Dose, n)
	for i := range ds {
		ds[i] = forecast.Dose{Date: dob.AddDate(0, 0, rng.Intn(30*365+1)-30), CVX: cvxPool[rng.Intn(len(cvxPool))]}
		if rng.Intn(40) == 0 {
			ds[i].Condition = forecast.ConditionExpired
		}
	}
	return p, ds, asOf
}

func checkOrdered(t *testing.T, r forecast.Result) {
	t.Helper()
	for _, g := range r.Groups {
		if g.Status != forecast.NotComplete {
			continue
		}
		if (g.Earliest == forecast.NoDate) != (g.Recommended == forecast.NoDate) {
			t.Fatalf("%s: earliest %v but recommended %v", g.VaccineGroup, g.Earliest, g.Recommended)
		}
		if g.Recommended < g.Earliest {
			t.Fatalf("%s: recommended %v before earliest %v", g.VaccineGroup, g.Recommended, g.Earliest)
		}
		if g.PastDue != forecast.NoDate && g.PastDue < g.Recommended {
			t.Fatalf("%s: past due %v before recommended %v", g.VaccineGroup, g.PastDue, g.Recommended)
		}
	}
	for _, a := range r.Antigens {
		if a.Status == forecast.NotComplete && (a.Recommended < a.Earliest || (a.PastDue != forecast.NoDate && a.PastDue < a.Recommended)) {
			t.Fatalf("%s: dates out of order %v %v %v", a.Antigen, a.Earliest, a.Recommended, a.PastDue)
		}
	}
}

// TestRandomHistories: no panic on random histories, deterministic output,
// dates ordered, and a later dose never changes an earlier dose's verdict
// while the same patient series stays selected.
func TestRandomHistories(t *testing.T) {
	e := engine(t)
	rng := rand.New(rand.NewSource(1))
	n := 1500
	if testing.Short() {
		n = 200
	}
	for i := 0; i < n; i++ {
		p, ds, asOf := randomHistory(rng)
		r := e.Forecast(p, ds, asOf)
		checkOrdered(t, r)
		if !reflect.DeepEqual(r, e.Forecast(p, ds, asOf)) {
			t.Fatalf("history %d: result not deterministic", i)
		}
		if len(ds) == 0 {
			continue
		}
		last := ds[0].Date
		for _, d := range ds {
			if d.Date.After(last) {
				last = d.Date
			}
		}
		more := append(append([]forecast.Dose(nil), ds...), forecast.Dose{Date: last.AddDate(0, 0, 1+rng.Intn(400)), CVX: cvxPool[rng.Intn(len(cvxPool))]})
		r2 := e.Forecast(p, more, asOf)
		series := map[string]string{}
		for _, a := range r.Antigens {
			series[a.Antigen] = a.Series
		}
		sameSeries := map[string]bool{}
		for _, a := range r2.Antigens {
			sameSeries[a.Antigen] = series[a.Antigen] == a.Series
		}
		before := map[[2]any]forecast.EvalStatus{}
		for _, ev := range r.Evaluations {
			before[[2]any{ev.Antigen, ev.Dose}] = ev.Status
		}
		for _, ev := range r2.Evaluations {
			old, ok := before[[2]any{ev.Antigen, ev.Dose}]
			if ok && sameSeries[ev.Antigen] && old == forecast.Valid && ev.Status != forecast.Valid {
				t.Fatalf("history %d: adding a later dose made dose %d of %s %s", i, ev.Dose, ev.Antigen, ev.Status)
			}
		}
	}
}

// FuzzForecast feeds arbitrary bytes as a dose history.
func FuzzForecast(f *testing.F) {
	e, err := forecast.Default()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(int64(0), []byte{1, 2, 3, 4, 5, 6})
	f.Add(int64(1e9), []byte("dtap hepb mmr"))
	f.Fuzz(func(t *testing.T, seed int64, data []byte) {
		dob := time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int(uint64(seed)%(75*365)))
		var ds []forecast.Dose
		for i := 0; i+1 < len(data) && len(ds) < 40; i += 2 {
			ds = append(ds, forecast.Dose{Date: dob.AddDate(0, 0, int(data[i])*40+int(data[i+1])-20), CVX: cvxPool[int(data[i+1])%len(cvxPool)]})
		}
		asOf := dob.AddDate(0, 0, len(data)*97)
		r := e.Forecast(forecast.Patient{DOB: dob, Gender: forecast.Gender(seed & 3)}, ds, asOf)
		checkOrdered(t, r)
	})
}

// TestConcurrentForecasts runs forecasts from several goroutines and
// compares them with sequential results (run with -race).
func TestConcurrentForecasts(t *testing.T) {
	e := engine(t)
	rng := rand.New(rand.NewSource(7))
	type in struct {
		p    forecast.Patient
		ds   []forecast.Dose
		asOf time.Time
	}
	var ins []in
	var want []forecast.Result
	for i := 0; i < 64; i++ {
		p, ds, asOf := randomHistory(rng)
		ins = append(ins, in{p, ds, asOf})
		want = append(want, e.Forecast(p, ds, asOf))
	}
	errs := make(chan string, 8)
	for g := 0; g < 8; g++ {
		go func(g int) {
			for k := 0; k < 4; k++ {
				for i := range ins {
					j := (i + g*7 + k) % len(ins)
					if !reflect.DeepEqual(e.Forecast(ins[j].p, ins[j].ds, ins[j].asOf), want[j]) {
						errs <- "history differs under concurrency"
						return
					}
				}
			}
			errs <- ""
		}(g)
	}
	for g := 0; g < 8; g++ {
		if msg := <-errs; msg != "" {
			t.Fatal(msg)
		}
	}
}
