package forecast

import (
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in           string
		months, days int
		set          bool
		wantErr      bool
	}{
		{"", 0, 0, false, false},
		{"n/a", 0, 0, false, false},
		{"0 days", 0, 0, true, false},
		{"4 months", 4, 0, true, false},
		{"1 month", 1, 0, true, false},
		{"6 weeks - 4 days", 0, 38, true, false},
		{"12 years + 6 months", 150, 0, true, false},
		{"13 months + 4 weeks", 13, 28, true, false},
		{"1 year - 4 days", 12, -4, true, false},
		{"19 years - 4 months", 224, 0, true, false},
		{"12 months - 4 days", 12, -4, true, false},
		{"3 months + 1 day", 3, 1, true, false},
		{" 8 weeks ", 0, 56, true, false},
		{"6 fortnights", 0, 0, false, true},
		{"weeks", 0, 0, false, true},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseDuration(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if err != nil {
			continue
		}
		if got.Set && got.String() != strings.Join(strings.Fields(tt.in), " ") {
			t.Errorf("ParseDuration(%q).String() = %q", tt.in, got.String())
		}
		if got.Months != tt.months || got.Days != tt.days || got.Set != tt.set {
			t.Errorf("ParseDuration(%q) = %+v, want months %d days %d set %v", tt.in, got, tt.months, tt.days, tt.set)
		}
	}
}

func mustDate(t *testing.T, s string) Date {
	t.Helper()
	d, err := ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestDateAdd follows the CDSi date rules: years and months on the
// calendar, a non-existent day moves to the first of the next month, then
// weeks and days are added as days.
func TestDateAdd(t *testing.T) {
	tests := []struct{ from, dur, want string }{
		{"2000-01-01", "3 years", "2003-01-01"},
		{"2000-01-01", "6 months", "2000-07-01"},
		{"2000-11-01", "6 months", "2001-05-01"},
		{"2000-01-01", "3 days", "2000-01-04"},
		{"2000-01-01", "3 weeks", "2000-01-22"},
		{"2000-02-01", "5 weeks", "2000-03-07"}, // leap year
		{"2001-02-01", "5 weeks", "2001-03-08"},
		{"2000-01-15", "0 days - 4 days", "2000-01-11"},
		{"2000-03-31", "6 months", "2000-10-01"}, // no September 31
		{"2000-08-31", "6 months", "2001-03-01"}, // no February 31
		{"2000-01-31", "6 months - 4 days", "2000-07-27"},
		{"2000-02-29", "1 year", "2001-03-01"},
		{"2000-02-29", "4 years", "2004-02-29"},
		{"2025-11-10", "6 weeks", "2025-12-22"},
		{"2025-11-10", "3 months + 4 weeks", "2026-03-10"},
		{"2019-12-31", "2 months", "2020-03-01"},
		{"2024-01-31", "1 month", "2024-03-01"},
		{"2025-08-17", "4 months", "2025-12-17"},
		{"2000-05-01", "12 years + 6 months", "2012-11-01"},
	}
	for _, tt := range tests {
		p, err := ParseDuration(tt.dur)
		if err != nil {
			t.Fatal(err)
		}
		if got := mustDate(t, tt.from).Add(p).String(); got != tt.want {
			t.Errorf("%s + %s = %s, want %s", tt.from, tt.dur, got, tt.want)
		}
	}
	if got := NoDate.Add(Duration{Months: 1, Set: true}); got != NoDate {
		t.Errorf("NoDate + 1 month = %v, want NoDate", got)
	}
	if got := mustDate(t, "2020-01-01").Add(Duration{}); got != NoDate {
		t.Errorf("date + unset duration = %v, want NoDate", got)
	}
}

func TestDateRoundTrip(t *testing.T) {
	start := time.Date(1850, 1, 1, 0, 0, 0, 0, time.UTC)
	prev := NoDate
	for i := 0; i < 200*366; i += 1 {
		tm := start.AddDate(0, 0, i)
		d := DateOf(tm)
		if prev != NoDate && d != prev+1 {
			t.Fatalf("%s: date %d does not follow %d", tm.Format(time.DateOnly), d, prev)
		}
		prev = d
		if !d.Time().Equal(tm) {
			t.Fatalf("round trip %s -> %s", tm.Format(time.DateOnly), d)
		}
		if d.String() != tm.Format(time.DateOnly) {
			t.Fatalf("String %s, want %s", d, tm.Format(time.DateOnly))
		}
	}
}

func TestParseDate(t *testing.T) {
	for _, s := range []string{"2025-11-10", "20251110", "11/10/2025"} {
		if d := mustDate(t, s); d.String() != "2025-11-10" {
			t.Errorf("ParseDate(%q) = %s", s, d)
		}
	}
	for _, s := range []string{"2025-02-30", "2025-13-01", "x", "2025/11/10"} {
		if _, err := ParseDate(s); err == nil {
			t.Errorf("ParseDate(%q): want error", s)
		}
	}
}

// TestMakeDateTable checks the month table against the arithmetic
// conversion inside and outside the table's years.
func TestMakeDateTable(t *testing.T) {
	for y := 1500; y <= 2500; y += 7 {
		for m := 1; m <= 12; m++ {
			for _, d := range []int{1, 15, 28} {
				if got, want := MakeDate(y, m, d), makeDate(y, m, d); got != want {
					t.Fatalf("MakeDate(%d,%d,%d) = %d, want %d", y, m, d, got, want)
				}
				if yy, mm, dd := MakeDate(y, m, d).Civil(); yy != y || mm != m || dd != d {
					t.Fatalf("Civil(MakeDate(%d,%d,%d)) = %d-%d-%d", y, m, d, yy, mm, dd)
				}
			}
		}
	}
}

func TestDurationString(t *testing.T) {
	for _, tt := range []struct {
		d    Duration
		want string
	}{
		{Duration{Months: 12, Days: -4, Set: true}, "1 year - 4 days"},
		{Duration{Months: 18, Set: true}, "1 year + 6 months"},
		{Duration{Days: 56, Set: true}, "8 weeks"},
		{Duration{Set: true}, "0 days"},
		{Duration{}, ""},
	} {
		if got := tt.d.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.d, got, tt.want)
		}
	}
}
