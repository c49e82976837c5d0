package consolidate

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func day(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t
}

// rep builds a report; msg is "facility/control" and the message time is
// derived from the control id so that chains have an order.
func rep(id int64, facility, control string, minute int, cvx, date string) Report {
	return Report{
		ID: id, Facility: facility, ControlID: control, Position: 1,
		MessageTime: time.Date(2024, 1, 1, 0, minute, 0, 0, time.UTC),
		Received:    time.Date(2024, 1, 1, 0, minute, 1, 0, time.UTC),
		CVX:         cvx, Date: day(date), Action: "A", Completion: "CP",
	}
}

func with(r Report, f func(*Report)) Report { f(&r); return r }

func historical(r *Report) { r.Historical = true }
func lotMVX(r *Report)     { r.Lot, r.MVX = "L123", "PMC" }

// eventView is what a rule test checks: winner and sources of each event.
type eventView struct {
	Winner  int64
	Sources []int64
}

func view(res Result) []eventView {
	var out []eventView
	for _, e := range res.Events {
		s := slices.Clone(e.Sources)
		slices.Sort(s)
		out = append(out, eventView{e.Winner, s})
	}
	return out
}

func TestRules(t *testing.T) {
	tests := []struct {
		name    string
		reports []Report
		want    []eventView
	}{
		{
			name: "same vaccine same day from two facilities is one event",
			reports: []Report{
				rep(1, "A", "a1", 1, "20", "2024-02-01"),
				rep(2, "B", "b1", 2, "20", "2024-02-01"),
			},
			want: []eventView{{1, []int64{1, 2}}},
		},
		{
			name: "administered beats historical",
			reports: []Report{
				with(rep(1, "A", "a1", 1, "20", "2024-02-01"), historical),
				rep(2, "B", "b1", 2, "20", "2024-02-03"),
			},
			want: []eventView{{2, []int64{1, 2}}},
		},
		{
			name: "specific CVX beats unspecified (140 over 88)",
			reports: []Report{
				with(rep(1, "A", "a1", 1, "88", "2024-10-01"), historical),
				with(rep(2, "B", "b1", 2, "140", "2024-10-01"), historical),
			},
			want: []eventView{{2, []int64{1, 2}}},
		},
		{
			name: "report with lot and MVX beats one without",
			reports: []Report{
				rep(1, "A", "a1", 1, "08", "2024-03-01"),
				with(rep(2, "B", "b1", 2, "08", "2024-03-01"), lotMVX),
			},
			want: []eventView{{2, []int64{1, 2}}},
		},
		{
			name: "administered beats a historical report with lot and specific CVX",
			reports: []Report{
				rep(1, "A", "a1", 1, "88", "2024-10-01"),
				with(with(rep(2, "B", "b1", 2, "140", "2024-10-02"), historical), lotMVX),
			},
			want: []eventView{{1, []int64{1, 2}}},
		},
		{
			name: "dates within the group window are one dose",
			reports: []Report{
				rep(1, "A", "a1", 1, "08", "2024-03-01"),
				with(rep(2, "B", "b1", 2, "45", "2024-03-20"), historical),
			},
			want: []eventView{{1, []int64{1, 2}}},
		},
		{
			name: "dates beyond the group window are two doses",
			reports: []Report{
				rep(1, "A", "a1", 1, "08", "2024-03-01"),
				with(rep(2, "B", "b1", 2, "45", "2024-04-01"), historical),
			},
			want: []eventView{{1, []int64{1}}, {2, []int64{2}}},
		},
		{
			name: "short window for rabies: day 0 and day 3 are two doses",
			reports: []Report{
				rep(1, "A", "a1", 1, "175", "2024-03-01"),
				rep(2, "B", "b1", 2, "175", "2024-03-04"),
			},
			want: []eventView{{1, []int64{1}}, {2, []int64{2}}},
		},
		{
			name: "different vaccine groups on the same day are two events",
			reports: []Report{
				rep(1, "A", "a1", 1, "08", "2024-03-01"),
				rep(2, "A", "a1", 1, "20", "2024-03-01"),
			},
			want: []eventView{{1, []int64{1}}, {2, []int64{2}}},
		},
		{
			name: "combination vaccine absorbs a component reported elsewhere",
			reports: []Report{
				with(rep(1, "A", "a1", 1, "110", "2024-03-01"), lotMVX),
				with(rep(2, "B", "b1", 2, "20", "2024-03-01"), historical),
			},
			want: []eventView{{1, []int64{1, 2}}},
		},
		{
			name: "two administered doses from the same clinic on different dates stay two",
			reports: []Report{
				rep(1, "A", "a1", 1, "20", "2024-03-01"),
				rep(2, "A", "a2", 2, "20", "2024-03-10"),
			},
			want: []eventView{{1, []int64{1}}, {2, []int64{2}}},
		},
		{
			name: "two reports in one message are never the same dose",
			reports: []Report{
				with(rep(1, "A", "a1", 1, "45", "2024-03-01"), historical),
				with(with(rep(2, "A", "a1", 1, "45", "2024-03-05"), historical), func(r *Report) { r.Position = 2 }),
			},
			want: []eventView{{1, []int64{1}}, {2, []int64{2}}},
		},
		{
			name: "update from the same source replaces the dose",
			reports: []Report{
				with(rep(1, "A", "a1", 1, "83", "2024-03-01"), func(r *Report) { r.FillerOrder = "9^EHR" }),
				with(rep(2, "A", "a2", 2, "83", "2024-03-02"), func(r *Report) { r.FillerOrder = "9^EHR"; r.Action = "U"; lotMVX(r) }),
			},
			want: []eventView{{2, []int64{2}}},
		},
		{
			name: "update arriving first still wins by message time",
			reports: []Report{
				with(rep(2, "A", "a2", 2, "83", "2024-03-02"), func(r *Report) { r.FillerOrder = "9^EHR"; r.Action = "U" }),
				with(rep(1, "A", "a1", 1, "83", "2024-03-01"), func(r *Report) { r.FillerOrder = "9^EHR" }),
			},
			want: []eventView{{2, []int64{2}}},
		},
		{
			name: "delete from the same source removes the dose",
			reports: []Report{
				with(rep(1, "A", "a1", 1, "62", "2024-03-01"), func(r *Report) { r.FillerOrder = "7^EHR" }),
				with(rep(2, "A", "a2", 2, "62", "2024-03-01"), func(r *Report) { r.FillerOrder = "7^EHR"; r.Action = "D" }),
			},
			want: nil,
		},
		{
			name: "delete from another facility with the same filler order is ignored",
			reports: []Report{
				with(rep(1, "A", "a1", 1, "62", "2024-03-01"), func(r *Report) { r.FillerOrder = "7^EHR" }),
				with(rep(2, "B", "b2", 2, "62", "2024-03-01"), func(r *Report) { r.FillerOrder = "7^EHR"; r.Action = "D" }),
			},
			want: []eventView{{1, []int64{1}}},
		},
		{
			name: "delete keeps the same dose reported by another source",
			reports: []Report{
				with(rep(1, "A", "a1", 1, "62", "2024-03-01"), func(r *Report) { r.FillerOrder = "7^EHR" }),
				with(rep(2, "B", "b1", 2, "62", "2024-03-01"), historical),
				with(rep(3, "A", "a2", 3, "62", "2024-03-01"), func(r *Report) { r.FillerOrder = "7^EHR"; r.Action = "D" }),
			},
			want: []eventView{{2, []int64{2}}},
		},
		{
			name: "a later add after a delete restores the dose",
			reports: []Report{
				with(rep(1, "A", "a1", 1, "62", "2024-03-01"), func(r *Report) { r.FillerOrder = "7^EHR" }),
				with(rep(2, "A", "a2", 2, "62", "2024-03-01"), func(r *Report) { r.FillerOrder = "7^EHR"; r.Action = "D" }),
				with(rep(3, "A", "a3", 3, "62", "2024-03-05"), func(r *Report) { r.FillerOrder = "7^EHR" }),
			},
			want: []eventView{{3, []int64{3}}},
		},
		{
			name: "delete with the same message time as its add still deletes",
			reports: []Report{
				with(rep(2, "A", "a2", 1, "62", "2024-03-01"), func(r *Report) { r.FillerOrder = "7^EHR"; r.Action = "D"; r.Received = r.Received.Add(-time.Hour) }),
				with(rep(1, "A", "a1", 1, "62", "2024-03-01"), func(r *Report) { r.FillerOrder = "7^EHR" }),
			},
			want: nil,
		},
		{
			name: "refusal is not an event",
			reports: []Report{
				with(rep(1, "A", "a1", 1, "998", "2024-03-01"), func(r *Report) { r.Completion = "RE" }),
				with(rep(2, "A", "a1", 1, "03", "2024-03-01"), func(r *Report) { r.Completion = "RE"; r.Position = 2 }),
			},
			want: nil,
		},
		{
			name: "unknown CVX matches only itself on the same date",
			reports: []Report{
				rep(1, "A", "a1", 1, "999", "2024-03-01"),
				rep(2, "B", "b1", 2, "999", "2024-03-01"),
				rep(3, "C", "c1", 3, "999", "2024-03-02"),
			},
			want: []eventView{{1, []int64{1, 2}}, {3, []int64{3}}},
		},
	}
	c := New(nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := view(c.Consolidate(slices.Clone(tt.reports)))
			if !slices.EqualFunc(got, tt.want, func(a, b eventView) bool {
				return a.Winner == b.Winner && slices.Equal(a.Sources, b.Sources)
			}) {
				t.Errorf("events = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestOrderIndependent shuffles a mixed history many times: the events
// must not depend on the order of the reports.
func TestOrderIndependent(t *testing.T) {
	base := []Report{
		rep(1, "A", "a1", 1, "08", "2024-01-01"),
		with(rep(2, "B", "b1", 2, "45", "2024-01-03"), historical),
		with(rep(3, "A", "a2", 3, "110", "2024-03-01"), lotMVX),
		with(rep(4, "C", "c1", 4, "20", "2024-03-01"), historical),
		with(rep(5, "A", "a3", 5, "83", "2024-05-01"), func(r *Report) { r.FillerOrder = "1^A" }),
		with(rep(6, "A", "a4", 6, "83", "2024-05-02"), func(r *Report) { r.FillerOrder = "1^A"; r.Action = "U" }),
		with(rep(7, "A", "a5", 7, "62", "2024-05-02"), func(r *Report) { r.FillerOrder = "2^A" }),
		with(rep(8, "A", "a6", 8, "62", "2024-05-02"), func(r *Report) { r.FillerOrder = "2^A"; r.Action = "D" }),
		with(rep(9, "D", "d1", 9, "88", "2024-10-01"), historical),
		rep(10, "E", "e1", 10, "140", "2024-10-03"),
	}
	c := New(nil)
	want := view(c.Consolidate(slices.Clone(base)))
	if len(want) != 4 {
		t.Fatalf("events = %+v, want 4", want)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 200 {
		rs := slices.Clone(base)
		rng.Shuffle(len(rs), func(i, j int) { rs[i], rs[j] = rs[j], rs[i] })
		got := view(c.Consolidate(rs))
		if !slices.EqualFunc(got, want, func(a, b eventView) bool {
			return a.Winner == b.Winner && slices.Equal(a.Sources, b.Sources)
		}) {
			t.Fatalf("shuffle %d: events = %+v, want %+v", i, got, want)
		}
	}
}

func TestActions(t *testing.T) {
	c := New(nil)
	res := c.Consolidate([]Report{
		with(rep(1, "A", "a1", 1, "83", "2024-03-01"), func(r *Report) { r.FillerOrder = "9" }),
		with(rep(2, "A", "a2", 2, "83", "2024-03-01"), func(r *Report) { r.FillerOrder = "9"; r.Action = "U" }),
		with(rep(3, "A", "a3", 3, "62", "2024-03-01"), func(r *Report) { r.FillerOrder = "8" }),
		with(rep(4, "A", "a4", 4, "62", "2024-03-01"), func(r *Report) { r.FillerOrder = "8"; r.Action = "D" }),
		rep(5, "B", "b1", 5, "83", "2024-03-01"),
		with(rep(6, "B", "b1", 5, "998", "2024-03-01"), func(r *Report) { r.Completion = "RE"; r.Position = 2 }),
	})
	want := Actions{Events: 1, Duplicates: 1, Updated: 1, Deleted: 1, NotEvents: 1}
	if res.Actions != want {
		t.Errorf("actions = %+v, want %+v", res.Actions, want)
	}
}
