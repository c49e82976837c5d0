package forecast

import (
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/iisproject/iis/forecast/cdsidata"
)

// TestTwinReuse checks that reusing a twin antigen's runs (tetanus from
// diphtheria) gives the same Result as evaluating every antigen, on
// random histories of DTaP, DT, Td, Tdap, tetanus-only and other vaccines.
func TestTwinReuse(t *testing.T) {
	with, err := New(cdsidata.FS)
	if err != nil {
		t.Fatal(err)
	}
	without, err := New(cdsidata.FS)
	if err != nil {
		t.Fatal(err)
	}
	twins := 0
	for _, a := range without.antigens {
		if a.twin >= 0 {
			twins++
		}
		a.twin = -1
	}
	if twins == 0 {
		t.Fatal("no twin antigens in the release")
	}
	cvxs := []string{"20", "106", "107", "110", "50", "120", "130", "132", "146", "28", "09", "113", "115", "138", "139",
		"35", "112", "01", "22", "102", "198", "03", "94", "21", "05", "06", "07", "04", "08", "49", "133", "116", "10", "83", "150"}
	obs := []string{"048", "055", "063", "073", "275", "007", "154", "002"}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		dob := time.Date(1990+rng.IntN(35), time.Month(1+rng.IntN(12)), 1+rng.IntN(28), 0, 0, 0, 0, time.UTC)
		asOf := dob.AddDate(0, rng.IntN(240), rng.IntN(30))
		var ds []Dose
		for k := rng.IntN(12); k > 0; k-- {
			ds = append(ds, Dose{Date: dob.AddDate(0, rng.IntN(200), rng.IntN(30)), CVX: cvxs[rng.IntN(len(cvxs))],
				Condition: DoseCondition(rng.IntN(8) / 7)})
		}
		p := Patient{DOB: dob, Gender: Gender(rng.IntN(3))}
		if rng.IntN(3) == 0 {
			p.Observations = []Observation{{Code: obs[rng.IntN(len(obs))], Date: dob.AddDate(0, rng.IntN(200), 0)}}
		}
		if a, b := with.Forecast(p, ds, asOf), without.Forecast(p, ds, asOf); !reflect.DeepEqual(a, b) {
			t.Fatalf("history %d (%v, %+v as of %v): with twins\n%+v\nwithout\n%+v", i, p, ds, asOf, a, b)
		}
	}
}
