package immz

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/iisproject/iis/hl7"
)

// TestParseDTMDates: every calendar day from 1800 to 2400 parses to the
// value time.Date gives (the same instant and zone, comparable with ==),
// and the day after the last of each month is rejected.
func TestParseDTMDates(t *testing.T) {
	for d := time.Date(1800, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() < 2400; d = d.AddDate(0, 0, 1) {
		s := d.Format("20060102")
		got, prec, err := parseDTM(s)
		if err != nil || prec != precDay || got != d {
			t.Fatalf("parseDTM(%q) = %v, %d, %v; want %v", s, got, prec, err, d)
		}
		if next := d.AddDate(0, 0, 1); next.Day() == 1 {
			bad := fmt.Sprintf("%04d%02d%02d", d.Year(), d.Month(), d.Day()+1)
			if _, _, err := parseDTM(bad); err == nil {
				t.Fatalf("parseDTM(%q) accepted a day the month does not have", bad)
			}
		}
	}
	for _, s := range []string{"2024", "202402", "20240229", "2024022913", "202402291305", "20240229130559", "20240229130559.1234-0500", "20240229+0100"} {
		if _, _, err := parseDTM(s); err != nil {
			t.Errorf("parseDTM(%q): %v", s, err)
		}
	}
	for _, s := range []string{"17991231", "20230229", "20240230", "20241301", "20240100", "2024-01-01", "20240229+01", "202402291", "20240229130559.12345", "2024022924"} {
		if _, _, err := parseDTM(s); err == nil {
			t.Errorf("parseDTM(%q) accepted", s)
		}
	}
}

// TestFormatTimestamp: FormatTimestamp writes what time.Format does with
// its layout, in zones east and west, with half-hour offsets, and with the
// local mean times whose offsets have seconds.
func TestFormatTimestamp(t *testing.T) {
	zones := []*time.Location{time.UTC, time.FixedZone("odd", -(4*3600 + 56*60 + 2)), time.FixedZone("east", 13*3600+45*60)}
	for _, name := range []string{"America/New_York", "Asia/Kolkata", "America/St_Johns", "Pacific/Chatham"} {
		if loc, err := time.LoadLocation(name); err == nil {
			zones = append(zones, loc)
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, loc := range zones {
		for range 2000 {
			ts := time.Unix(rng.Int64N(1<<36)-1<<35, rng.Int64N(1e9)).In(loc)
			if got, want := FormatTimestamp(ts), ts.Format("20060102150405.000-0700"); got != want {
				t.Fatalf("FormatTimestamp(%v) = %s, want %s", ts, got, want)
			}
		}
	}
}

// TestIsNumber: isNumber agrees with strconv.ParseFloat on short strings
// of digits, points, signs, exponents and other characters.
func TestIsNumber(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	const alphabet = "0123456789..+-eE_x i"
	for range 100000 {
		b := make([]byte, rng.IntN(18))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		_, err := strconv.ParseFloat(string(b), 64)
		if got := isNumber(string(b)); got != (err == nil) {
			t.Fatalf("isNumber(%q) = %v, ParseFloat says %v", b, got, err)
		}
	}
}

// TestPlainComps: plainComps finds the components SplitComps finds, on
// random fields and their repetitions, short and longer than the eight
// bytes it examines at a time.
func TestPlainComps(t *testing.T) {
	d := &decoder{delims: hl7.DefaultDelimiters}
	rng := rand.New(rand.NewPCG(9, 10))
	const alphabet = "abcdefg^^~&"
	for range 20000 {
		b := make([]byte, rng.IntN(30))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		m, err := hl7.Parse([]byte("MSH|^~\\&\rZZZ|" + string(b)))
		if err != nil {
			t.Fatal(err)
		}
		seg, _ := m.Segment("ZZZ", 1)
		for _, v := range []hl7.Value{seg.Field(1), seg.Field(1).Rep(2)} {
			for n := 1; n <= 6; n++ {
				want := make([]hl7.Value, n)
				v.SplitComps(want)
				got := make([][]byte, n)
				d.plainComps(v, got)
				for i := range want {
					if !bytes.Equal(got[i], want[i].Bytes()) {
						t.Fatalf("%q: component %d of %d = %q, want %q", v.Bytes(), i+1, n, got[i], want[i].Bytes())
					}
				}
			}
		}
	}
}
