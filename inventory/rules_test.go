package inventory

import (
	"testing"
	"time"
)

func TestPlan(t *testing.T) {
	d := func(id int64) Dose { return Dose{ID: id, Clinic: "C"} }
	c := func(id int64) drawn { return drawn{ID: id, Clinic: "C", Lot: 1, Taken: 1} }
	for _, tc := range []struct {
		name          string
		standing      []Dose
		current       []drawn
		add, reversed []int64
	}{
		{"a new dose is drawn", []Dose{d(1)}, nil, []int64{1}, nil},
		{"a redelivery draws nothing again", []Dose{d(1)}, []drawn{c(1)}, nil, nil},
		{"a deleted dose is reversed", nil, []drawn{c(1)}, nil, []int64{1}},
		{"a correction reverses the old version and draws the new", []Dose{d(2)}, []drawn{c(1)}, []int64{2}, []int64{1}},
		{"nothing standing, nothing drawn", nil, nil, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			add, rev := Plan(tc.standing, tc.current)
			if got := ids(add, func(x Dose) int64 { return x.ID }); !equal(got, tc.add) {
				t.Errorf("add %v, want %v", got, tc.add)
			}
			if got := ids(rev, func(x drawn) int64 { return x.ID }); !equal(got, tc.reversed) {
				t.Errorf("reverse %v, want %v", got, tc.reversed)
			}
		})
	}
}

func ids[T any](xs []T, f func(T) int64) []int64 {
	var out []int64
	for _, x := range xs {
		out = append(out, f(x))
	}
	return out
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestAllocate(t *testing.T) {
	for _, tc := range []struct {
		name            string
		stock, doses    int
		taken, shortage int
	}{
		{"stock enough", 10, 3, 3, 0},
		{"the last dose", 1, 1, 1, 0},
		{"beyond the stock is a shortfall", 2, 5, 2, 3},
		{"empty lot", 0, 2, 0, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lot := &Lot{ID: 7, OnHand: tc.stock}
			var ds []Dose
			for i := range tc.doses {
				ds = append(ds, Dose{ID: int64(100 - i)})
			}
			var taken, short int
			for _, d := range Allocate(ds, func(Dose) *Lot { return lot }) {
				taken += d.taken
				short += d.shortfall
			}
			if taken != tc.taken || short != tc.shortage || lot.OnHand != tc.stock-tc.taken || lot.OnHand < 0 {
				t.Errorf("taken %d short %d left %d; want %d %d %d", taken, short, lot.OnHand, tc.taken, tc.shortage, tc.stock-tc.taken)
			}
		})
	}
	// A dose without a lot is unmatched: no lot, nothing taken.
	if d := Allocate([]Dose{{ID: 1}}, func(Dose) *Lot { return nil }); d[0].lot != nil || d[0].taken != 0 || d[0].shortfall != 0 {
		t.Errorf("unmatched: %+v", d[0])
	}
}

func TestMatchLot(t *testing.T) {
	vfc := &Lot{ID: 1, CVX: "20", Funding: VFC, OnHand: 5}
	priv := &Lot{ID: 2, CVX: "20", Funding: Private, OnHand: 5}
	other := &Lot{ID: 3, CVX: "110", Funding: VFC, OnHand: 5}
	empty := &Lot{ID: 4, CVX: "20", Funding: VFC, OnHand: 0}
	for _, tc := range []struct {
		name  string
		dose  Dose
		cands []*Lot
		want  int64
	}{
		{"no lot of that number", Dose{CVX: "20"}, nil, 0},
		{"the funding reported picks the stock", Dose{CVX: "20", Funding: "PHC70"}, []*Lot{vfc, priv}, 2},
		{"VFC funding", Dose{CVX: "20", Funding: "VXC1"}, []*Lot{priv, vfc}, 1},
		{"the vaccine agrees", Dose{CVX: "110"}, []*Lot{vfc, other}, 3},
		{"a lot with stock before an empty one", Dose{CVX: "20", Funding: "VXC1"}, []*Lot{empty, vfc}, 1},
		{"tie: the older lot", Dose{CVX: "20"}, []*Lot{empty, &Lot{ID: 9, CVX: "20", Funding: VFC}}, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := MatchLot(tc.dose, tc.cands)
			var id int64
			if got != nil {
				id = got.ID
			}
			if id != tc.want {
				t.Errorf("lot %d, want %d", id, tc.want)
			}
		})
	}
}

func TestReconcile(t *testing.T) {
	for _, tc := range []struct {
		name     string
		expected int
		line     CountLine
		change   int
		fails    bool
	}{
		{"count agrees", 10, CountLine{Counted: 10}, 0, false},
		{"fewer counted, with reason", 10, CountLine{Counted: 8, Reason: "two vials broken, not recorded"}, -2, false},
		{"more counted, with reason", 10, CountLine{Counted: 11, Reason: "dose recorded twice"}, 1, false},
		{"a difference needs a reason", 10, CountLine{Counted: 9}, 0, true},
		{"a blank reason is none", 10, CountLine{Counted: 9, Reason: "  "}, 0, true},
		{"negative count", 0, CountLine{Counted: -1, Reason: "x"}, 0, true},
		{"count of an empty lot", 0, CountLine{Counted: 0}, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := Reconcile(tc.expected, tc.line)
			if (err != nil) != tc.fails || d != tc.change {
				t.Errorf("change %d err %v; want %d fails=%v", d, err, tc.change, tc.fails)
			}
		})
	}
}

func TestExpiryWindow(t *testing.T) {
	today := time.Date(2026, 3, 1, 15, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		exp  time.Time
		want int
	}{
		{time.Time{}, -1},
		{today.AddDate(0, 0, -1), 0},
		{today, 30},
		{today.AddDate(0, 0, 30), 30},
		{today.AddDate(0, 0, 31), 60},
		{today.AddDate(0, 0, 90), 90},
		{today.AddDate(0, 0, 91), -1},
	} {
		if got := ExpiryWindow(tc.exp, today); got != tc.want {
			t.Errorf("ExpiryWindow(%v) = %d, want %d", tc.exp.Format(time.DateOnly), got, tc.want)
		}
	}
}

func TestBorrowingRule(t *testing.T) {
	for _, tc := range []struct {
		elig, funding string
		borrowed      bool
	}{
		{"V02", Private, true}, {"V03", Private, true}, {"V04", Private, true}, {"V05", Private, true},
		{"V01", VFC, true},
		{"V02", VFC, false}, {"V01", Private, false}, {"V01", State, false}, {"", VFC, false}, {"V07", Private, false},
	} {
		if got := Borrowing(tc.elig, tc.funding) != ""; got != tc.borrowed {
			t.Errorf("Borrowing(%s, %s) = %v", tc.elig, tc.funding, got)
		}
	}
}

func TestFundingAndLotKey(t *testing.T) {
	for code, want := range map[string]string{"VXC1": VFC, "vxc51": VFC, "VXC52": F317, "VXC2": State, "PHC70": Private, "XYZ": ""} {
		if got := FundingOf(code); got != want {
			t.Errorf("FundingOf(%s) = %q, want %q", code, got, want)
		}
	}
	if LotKey(" ab-12 3.x ") != "AB123X" || LotKey("") != "" {
		t.Errorf("LotKey: %q", LotKey(" ab-12 3.x "))
	}
}

func TestReceiptLineRules(t *testing.T) {
	for _, tc := range []struct {
		name  string
		line  ReceiptLine
		fails bool
	}{
		{"complete", ReceiptLine{CVX: "20", Lot: "A1", Funding: VFC, Doses: 10}, false},
		{"NDC only", ReceiptLine{NDC: "49281-0286-10", Lot: "A1", Funding: Private, Doses: 10}, false},
		{"no lot", ReceiptLine{CVX: "20", Funding: VFC, Doses: 10}, true},
		{"no vaccine", ReceiptLine{Lot: "A1", Funding: VFC, Doses: 10}, true},
		{"bad funding", ReceiptLine{CVX: "20", Lot: "A1", Funding: "Medicaid", Doses: 10}, true},
		{"no doses", ReceiptLine{CVX: "20", Lot: "A1", Funding: VFC}, true},
	} {
		if err := tc.line.Check(); (err != nil) != tc.fails {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}
