package registry

import (
	"testing"
	"time"
)

func TestMessageStoreGaps(t *testing.T) {
	d := func(m, day int) time.Time { return time.Date(2026, time.Month(m), day, 0, 0, 0, 0, time.UTC) }
	for _, c := range []struct {
		name string
		want span
		have []span
		gaps []span
	}{
		{"nothing yet", span{d(1, 1), d(2, 1)}, nil, []span{{d(1, 1), d(2, 1)}}},
		{"exists", span{d(1, 1), d(2, 1)}, []span{{d(1, 1), d(2, 1)}}, nil},
		{"others only", span{d(3, 1), d(4, 1)}, []span{{d(1, 1), d(2, 1)}, {d(5, 1), d(6, 1)}}, []span{{d(3, 1), d(4, 1)}}},
		{"weeks after months", span{d(1, 26), d(2, 2)}, []span{{d(1, 1), d(2, 1)}}, []span{{d(2, 1), d(2, 2)}}},
		{"hole in the middle", span{d(1, 1), d(2, 1)}, []span{{d(1, 1), d(1, 10)}, {d(1, 20), d(2, 1)}}, []span{{d(1, 10), d(1, 20)}}},
		{"covered by a wider one", span{d(1, 5), d(1, 12)}, []span{{d(1, 1), d(2, 1)}}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := gaps(c.want, c.have)
			if len(got) != len(c.gaps) {
				t.Fatalf("gaps = %v, want %v", got, c.gaps)
			}
			for i := range got {
				if !got[i].from.Equal(c.gaps[i].from) || !got[i].to.Equal(c.gaps[i].to) {
					t.Errorf("gap %d = %v, want %v", i, got[i], c.gaps[i])
				}
			}
		})
	}
}

func TestMessageStorePeriods(t *testing.T) {
	at := time.Date(2026, 12, 10, 15, 4, 5, 0, time.UTC) // a Thursday
	for _, c := range []struct {
		period      string
		start, next time.Time
	}{
		{"", time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"month", time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"week", time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC), time.Date(2026, 12, 14, 0, 0, 0, 0, time.UTC)},
		{"day", time.Date(2026, 12, 10, 0, 0, 0, 0, time.UTC), time.Date(2026, 12, 11, 0, 0, 0, 0, time.UTC)},
	} {
		p := MessageStorePolicy{Period: c.period}
		if s := p.periodStart(at); !s.Equal(c.start) || !p.next(s).Equal(c.next) {
			t.Errorf("%q: period %v–%v, want %v–%v", c.period, s, p.next(s), c.start, c.next)
		}
	}
	for _, bad := range []MessageStorePolicy{
		{Period: "year"}, {Ahead: -1}, {RetentionMonths: map[string]int{"adt": 3}}, {RetentionMonths: map[string]int{"vxu": -1}},
	} {
		if bad.Validate() == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}
