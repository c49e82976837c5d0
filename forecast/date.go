package forecast

import (
	"fmt"
	"time"
)

// Date is a calendar date stored as the number of days since 0000-03-01
// (proleptic Gregorian) plus one, so that the zero value means "no date".
// Dates are plain calendar days: no time of day, no time zone.
type Date int32

// NoDate is the zero Date: unset.
const NoDate Date = 0

// maxDate is later than any date the engine computes; it stands for "no
// upper bound".
const maxDate Date = 1 << 30

// MakeDate returns the Date for year y, month m (1-12), day d. It does not
// normalise out-of-range days; use addMonths for calendar arithmetic.
func MakeDate(y, m, d int) Date {
	if i := (y-tableFirstYear)*12 + m - 1; y >= tableFirstYear && i < len(monthStart) && m >= 1 && m <= 12 {
		return monthStart[i] + Date(d-1)
	}
	return makeDate(y, m, d)
}

// monthStart[i] is the first day of month i counted from January of
// tableFirstYear: a read-only table built at init that makes MakeDate a
// lookup for the years patients live in.
const tableFirstYear = 1800

var monthStart = func() []Date {
	t := make([]Date, 12*500)
	for i := range t {
		t[i] = makeDate(tableFirstYear+i/12, i%12+1, 1)
	}
	return t
}()

func makeDate(y, m, d int) Date {
	// Days-from-civil (H. Hinnant's algorithm), shifted so 0 stays free.
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return Date(era*146097 + doe + 1)
}

// Civil returns the year, month (1-12) and day of d.
func (d Date) Civil() (y, m, day int) {
	z := int(d) - 1
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era = (z - 146096) / 146097
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	day = doy - (153*mp+2)/5 + 1
	m = mp + 3
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		y++
	}
	return y, m, day
}

// DateOf converts t (its calendar date in its own location) to a Date.
// The zero time.Time maps to NoDate.
func DateOf(t time.Time) Date {
	if t.IsZero() {
		return NoDate
	}
	if t.Location() == time.UTC {
		// Fast path: whole days since the Unix epoch.
		sec := t.Unix()
		days := sec / 86400
		if sec%86400 < 0 {
			days--
		}
		return unixEpoch + Date(days)
	}
	y, m, d := t.Date()
	return MakeDate(y, int(m), d)
}

// Time returns d as midnight UTC; NoDate gives the zero time.Time.
func (d Date) Time() time.Time {
	if d == NoDate {
		return time.Time{}
	}
	return time.Unix(int64(d-unixEpoch)*86400, 0).UTC()
}

// unixEpoch is 1970-01-01 as a Date.
var unixEpoch = MakeDate(1970, 1, 1)

// String formats d as YYYY-MM-DD, or "" for NoDate.
func (d Date) String() string {
	if d == NoDate {
		return ""
	}
	if d >= maxDate {
		return "(none)"
	}
	y, m, day := d.Civil()
	if y < 0 || y > 9999 {
		return fmt.Sprintf("%04d-%02d-%02d", y, m, day)
	}
	b := [10]byte{byte('0' + y/1000), byte('0' + y/100%10), byte('0' + y/10%10), byte('0' + y%10), '-',
		byte('0' + m/10), byte('0' + m%10), '-', byte('0' + day/10), byte('0' + day%10)}
	return string(b[:])
}

// ParseDate parses YYYY-MM-DD, YYYYMMDD or MM/DD/YYYY. The empty string
// gives NoDate and no error.
func ParseDate(s string) (Date, error) {
	var y, m, d int
	var err error
	switch {
	case s == "":
		return NoDate, nil
	case len(s) == 10 && s[4] == '-' && s[7] == '-':
		y, err = atoiN(s[0:4])
		if err == nil {
			m, err = atoiN(s[5:7])
		}
		if err == nil {
			d, err = atoiN(s[8:10])
		}
	case len(s) == 8:
		y, err = atoiN(s[0:4])
		if err == nil {
			m, err = atoiN(s[4:6])
		}
		if err == nil {
			d, err = atoiN(s[6:8])
		}
	case len(s) == 10 && s[2] == '/' && s[5] == '/':
		m, err = atoiN(s[0:2])
		if err == nil {
			d, err = atoiN(s[3:5])
		}
		if err == nil {
			y, err = atoiN(s[6:10])
		}
	default:
		return NoDate, fmt.Errorf("date %q: want YYYY-MM-DD", s)
	}
	if err != nil {
		return NoDate, fmt.Errorf("date %q: %w", s, err)
	}
	if m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return NoDate, fmt.Errorf("date %q: no such day", s)
	}
	return MakeDate(y, m, d), nil
}

func atoiN(s string) (int, error) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%q is not a number", s)
		}
		n = n*10 + int(c-'0')
	}
	return n, nil
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

func daysIn(y, m int) int {
	switch m {
	case 2:
		if isLeap(y) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// Add applies a CDSi duration to d following the CDSi date rules: years and
// months are added on the calendar with the day of month kept; a day that
// does not exist in the resulting month moves to the first day of the next
// month; then weeks and days are added as a number of days. Adding to
// NoDate gives NoDate; adding an unset duration gives NoDate.
func (d Date) Add(p Duration) Date {
	if d == NoDate || !p.Set {
		return NoDate
	}
	return d.addMonthsDays(p.Months, p.Days)
}

// add is Add for the engine's spans.
func (d Date) add(p span) Date {
	if d == NoDate || !p.Set {
		return NoDate
	}
	if p.Months == 0 {
		return d + Date(p.Days)
	}
	return d.addMonthsDays(int(p.Months), int(p.Days))
}

func (d Date) addMonthsDays(months, days int) Date {
	if months != 0 {
		y, m, day := d.Civil()
		total := y*12 + (m - 1) + months
		y = total / 12
		m = total%12 + 1
		if total < 0 && total%12 != 0 {
			y--
			m += 12
		}
		if day > daysIn(y, m) {
			day = 1
			m++
			if m > 12 {
				m = 1
				y++
			}
		}
		d = MakeDate(y, m, day)
	}
	return d + Date(days)
}
