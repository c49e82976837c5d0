package ordering

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestSuggest(t *testing.T) {
	for _, c := range []struct {
		name              string
		rule              Rule
		used, onHand, pkg int
		want              int
	}{
		{"two months of supply less stock, in packages", DefaultRule, 30, 5, 10, 20},                  // target 20, need 15 → 2 packages
		{"exactly whole packages", DefaultRule, 30, 0, 10, 20},                                        // target 20
		{"stock covers the target", DefaultRule, 30, 20, 10, 0},                                       // target 20
		{"stock beyond the target", DefaultRule, 30, 100, 10, 0},                                      //
		{"the target rounds up to a whole dose", DefaultRule, 1, 0, 10, 10},                           // 2/3 → 1 dose → 1 package
		{"one dose short is a package", DefaultRule, 30, 19, 10, 10},                                  //
		{"packages of five", DefaultRule, 30, 4, 5, 20},                                               // need 16 → 4 packages
		{"no usage, no order", DefaultRule, 0, 0, 10, 0},                                              //
		{"negative stock counts as none", DefaultRule, 3, -4, 10, 10},                                 //
		{"package size zero is one dose", DefaultRule, 30, 5, 0, 15},                                  //
		{"one month of usage, three of supply", Rule{UsageMonths: 1, SupplyMonths: 3}, 12, 6, 10, 30}, // target 36, need 30
		{"an unset rule orders nothing", Rule{}, 30, 0, 10, 0},                                        //
	} {
		if got := Suggest(c.rule, c.used, c.onHand, c.pkg); got != c.want {
			t.Errorf("%s: Suggest(%+v, used %d, on hand %d, package %d) = %d, want %d", c.name, c.rule, c.used, c.onHand, c.pkg, got, c.want)
		}
	}
}

func TestApprove(t *testing.T) {
	lines := []Line{{CVX: "133", Requested: 20, PackageDoses: 10}, {CVX: "20", Requested: 10, PackageDoses: 10}}
	for _, c := range []struct {
		name     string
		approved map[string]int
		reason   string
		want     map[string]int
		err      string
	}{
		{"as requested", nil, "", map[string]int{"133": 20, "20": 10}, ""},
		{"the same quantity given back is no change", map[string]int{"133": 20}, "", map[string]int{"133": 20, "20": 10}, ""},
		{"a change needs a reason", map[string]int{"133": 10}, "", nil, "reason for changing"},
		{"a change with its reason", map[string]int{"133": 10}, "allocation", map[string]int{"133": 10, "20": 10}, ""},
		{"one vaccine cut to nothing", map[string]int{"20": 0}, "enough in stock", map[string]int{"133": 20, "20": 0}, ""},
		{"nothing at all is a denial", map[string]int{"133": 0, "20": 0}, "no", nil, "is a denial"},
		{"a vaccine not on the order", map[string]int{"08": 10}, "x", nil, "not on the order"},
	} {
		got, err := Approve(lines, c.approved, c.reason)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) || !errors.Is(err, ErrInput) {
				t.Errorf("%s: error %v, want one saying %q", c.name, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		for _, l := range got {
			if !l.Decided || l.Approved != c.want[l.CVX] {
				t.Errorf("%s: CVX %s approved %d (decided %v), want %d", c.name, l.CVX, l.Approved, l.Decided, c.want[l.CVX])
			}
		}
	}
}

func TestCheckLines(t *testing.T) {
	s := &Store{cfg: Config{Packages: map[string]int{"120": 5}}}
	req := func(l Line) int { return l.Requested }
	for _, c := range []struct {
		name  string
		lines []Line
		keep  int
		err   string
	}{
		{"whole packages", []Line{{CVX: "133", Requested: 20}, {CVX: "120", Requested: 15}}, 2, ""},
		{"a blank row is skipped", []Line{{CVX: "133", Requested: 10}, {CVX: " ", Requested: 0}}, 1, ""},
		{"part of a package", []Line{{CVX: "133", Requested: 15}}, 0, "whole packages of 10"},
		{"part of a five-dose package", []Line{{CVX: "120", Requested: 12}}, 0, "whole packages of 5"},
		{"negative", []Line{{CVX: "133", Requested: -10}}, 0, "negative"},
		{"twice", []Line{{CVX: "133", Requested: 10}, {CVX: "133", Requested: 10}}, 0, "twice"},
		{"doses without a vaccine", []Line{{Requested: 10}}, 0, "names no vaccine"},
	} {
		got, err := s.checkLines(c.lines, req)
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: error %v, want %q", c.name, err, c.err)
		case c.err == "" && (err != nil || len(got) != c.keep):
			t.Errorf("%s: %d lines, %v; want %d", c.name, len(got), err, c.keep)
		}
	}
}

func TestExportCSV(t *testing.T) {
	day := time.Date(2026, 11, 2, 15, 0, 0, 0, time.UTC)
	o := &Order{ID: 7, Clinic: "RIVERSIDE", Funding: "VFC", Status: Approved, Note: "=cmd", SubmittedAt: day, DecidedAt: day.AddDate(0, 0, 1), DecidedBy: "user:pat",
		Lines: []Line{{CVX: "133", PackageDoses: 10, Requested: 30, Approved: 20, Decided: true}, {CVX: "20", PackageDoses: 10, Requested: 10, Approved: 0, Decided: true}}}
	var b bytes.Buffer
	if err := ExportCSV(&b, o); err != nil {
		t.Fatal(err)
	}
	want := "order_id,provider_pin,funding_type,cvx,doses_per_package,packages,doses,submitted_on,approved_on,approved_by,comment\n" +
		"7,RIVERSIDE,VFC,133,10,2,20,2026-11-02,2026-11-03,user:pat,'=cmd\n"
	if b.String() != want {
		t.Errorf("export:\n%s\nwant\n%s", b.String(), want)
	}
	o.Status = Submitted
	if err := ExportCSV(&b, o); err == nil {
		t.Error("a submitted order exported")
	}
}

// FuzzSuggest holds the rule's promises for any numbers: whole packages,
// never negative, enough to reach the target, less than a package beyond
// what reaching it needs.
func FuzzSuggest(f *testing.F) {
	f.Add(30, 5, 10, 3, 2)
	f.Add(1, 0, 1, 1, 1)
	f.Add(0, -3, 0, 0, 0)
	f.Fuzz(func(t *testing.T, used, onHand, pkg, um, sm int) {
		if used > 1e6 || used < -1e6 || onHand > 1e6 || onHand < -1e6 || pkg > 1e4 || um > 120 || sm > 120 {
			t.Skip()
		}
		r := Rule{UsageMonths: um, SupplyMonths: sm}
		got := Suggest(r, used, onHand, pkg)
		p := max(pkg, 1)
		if got < 0 || got%p != 0 {
			t.Fatalf("Suggest(%+v, %d, %d, %d) = %d: not whole packages", r, used, onHand, pkg, got)
		}
		if um <= 0 || sm <= 0 || used <= 0 {
			if got != 0 {
				t.Fatalf("Suggest(%+v, %d, %d, %d) = %d without usage or a rule", r, used, onHand, pkg, got)
			}
			return
		}
		need := (used*sm+um-1)/um - max(onHand, 0)
		if got < need || (got > 0 && got-need >= p) {
			t.Fatalf("Suggest(%+v, %d, %d, %d) = %d for a need of %d", r, used, onHand, pkg, got, need)
		}
	})
}
