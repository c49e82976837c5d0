package forecast

import (
	"fmt"
	"strconv"
	"strings"
)

// Duration is a CDSi age or interval such as "6 weeks - 4 days",
// "4 months" or "12 years + 6 months". Years are kept as months and weeks
// as days, which is exact for CDSi arithmetic: calendar months first, then
// days (see Date.Add).
type Duration struct {
	Months int    // calendar months (years × 12 + months)
	Days   int    // days (weeks × 7 + days)
	Set    bool   // false for an absent/empty value
	Text   string // CDC's spelling, e.g. "4 weeks - 4 days" (used in reasons)
}

// span is a Duration in the engine's working form: small, free of
// pointers, and with its text kept aside in Engine.durs (index text; 0 is
// the zero Duration), so the rules it sits in stay compact.
type span struct {
	Months int32 // calendar months
	Days   int32 // days
	Set    bool
	text   int32
}

// String renders the duration in CDSi style ("1 year + 6 months - 4 days").
func (p Duration) String() string {
	if !p.Set {
		return ""
	}
	if p.Text != "" {
		return p.Text
	}
	var parts []string
	add := func(n int, unit string) {
		if n == 0 {
			return
		}
		sign := "+"
		if n < 0 {
			sign, n = "-", -n
		}
		u := unit
		if n != 1 {
			u += "s"
		}
		parts = append(parts, sign, strconv.Itoa(n)+" "+u)
	}
	y, m := p.Months/12, p.Months%12
	add(y, "year")
	add(m, "month")
	if p.Days%7 == 0 {
		add(p.Days/7, "week")
	} else {
		add(p.Days, "day")
	}
	if len(parts) == 0 {
		return "0 days"
	}
	if parts[0] == "+" {
		parts = parts[1:]
	} else {
		parts[1] = "-" + parts[1]
		parts = parts[1:]
	}
	return strings.Join(parts, " ")
}

// ParseDuration parses a CDSi duration: terms "N unit" (unit: year(s),
// month(s), week(s), day(s)) joined by "+" or "-". Empty (or "n/a") input
// gives an unset Duration and no error.
func ParseDuration(s string) (Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" || strings.EqualFold(s, "n/a") {
		return Duration{}, nil
	}
	var p Duration
	p.Set = true
	p.Text = strings.Join(strings.Fields(s), " ")
	sign := 1
	i := 0
	terms := 0
	for i < len(s) {
		for i < len(s) && s[i] == ' ' {
			i++
		}
		if i >= len(s) {
			break
		}
		if s[i] == '+' || s[i] == '-' {
			if s[i] == '-' {
				sign = -1
			} else {
				sign = 1
			}
			i++
			continue
		}
		j := i
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j == i {
			return Duration{}, fmt.Errorf("duration %q: expected a number at %d", s, i)
		}
		n, _ := strconv.Atoi(s[i:j])
		for j < len(s) && s[j] == ' ' {
			j++
		}
		k := j
		for k < len(s) && ((s[k] >= 'a' && s[k] <= 'z') || (s[k] >= 'A' && s[k] <= 'Z')) {
			k++
		}
		unit := strings.ToLower(s[j:k])
		n *= sign
		switch strings.TrimSuffix(unit, "s") {
		case "year":
			p.Months += 12 * n
		case "month":
			p.Months += n
		case "week":
			p.Days += 7 * n
		case "day":
			p.Days += n
		default:
			return Duration{}, fmt.Errorf("duration %q: unknown unit %q", s, unit)
		}
		terms++
		sign = 1
		i = k
	}
	if terms == 0 {
		return Duration{}, fmt.Errorf("duration %q: no terms", s)
	}
	return p, nil
}
