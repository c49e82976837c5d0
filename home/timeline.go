package home

import (
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/iisproject/iis"
	"github.com/iisproject/iis/forecast"
)

// The timeline's geometry, in SVG user units.
const (
	tlWidth  = 960
	tlLeft   = 170 // room for the vaccine group names
	tlRight  = 20
	tlTop    = 34
	tlRow    = 26
	tlBottom = 16
)

// timeline draws the doses against the schedule: a row per vaccine group
// on an axis of age, each dose a dot (green valid, red not valid), the
// window of the next dose shaded from its earliest date to its past-due
// date (or latest date), with a tick at the recommended date, and a line
// at today. It is built on the server; no script.
func timeline(dob, today time.Time, groups []groupView, res *forecast.Result, in *forecast.Record, vs []iis.Vaccination) template.HTML {
	if dob.IsZero() || len(res.Groups) == 0 {
		return ""
	}
	// The axis runs from birth to 18 months after today (or after the
	// latest dose): a child's near future, not the whole schedule.
	end := today
	for _, v := range vs {
		if v.AdministeredAt.After(end) {
			end = v.AdministeredAt
		}
	}
	end = end.AddDate(0, 18, 0)
	span := end.Sub(dob)
	if span < 2*365*24*time.Hour {
		span = 2 * 365 * 24 * time.Hour
		end = dob.Add(span)
	}
	x := func(t time.Time) float64 {
		return tlLeft + float64(t.Sub(dob))/float64(span)*float64(tlWidth-tlLeft-tlRight)
	}
	height := tlTop + tlRow*len(res.Groups) + tlBottom
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="timeline" id="timeline" viewBox="0 0 %d %d" role="img" aria-labelledby="timeline-title">`, tlWidth, height)
	b.WriteString(`<title id="timeline-title">Doses by age against the schedule: dots are doses (green valid, red not valid), shaded bands the window of the next dose</title>`)
	axis(&b, dob, span, x, height)
	for i, g := range res.Groups {
		y := tlTop + i*tlRow + tlRow/2
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="12" fill="#1b1f24" dominant-baseline="middle">%s</text>`, 6, y, template.HTMLEscapeString(g.VaccineGroup))
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#d1d9e0"/>`, tlLeft, y, tlWidth-tlRight, y)
		window(&b, &g, groups[i].Class, x, y, end)
		for _, gd := range g.Doses {
			v := &vs[in.DoseOf[gd.Dose]]
			fill := "#1a7f37"
			if gd.Status != forecast.Valid {
				fill = "#b42318"
			}
			fmt.Fprintf(&b, `<circle class="dose" cx="%.1f" cy="%d" r="6" fill="%s" stroke="#fff" stroke-width="1.5"><title>%s %s: %s</title></circle>`,
				x(v.AdministeredAt), y, fill, v.AdministeredAt.Format(time.DateOnly), template.HTMLEscapeString(groups[i].Name), gd.Status)
		}
	}
	tx := x(today)
	fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#123a63" stroke-dasharray="4 3"/>`, tx, tlTop-6, tx, height-tlBottom+4)
	fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="11" fill="#123a63" text-anchor="middle">today</text>`, tx, height-2)
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // every text is escaped above
}

// window shades the next dose's window of a group still in progress.
func window(b *strings.Builder, g *forecast.GroupForecast, class string, x func(time.Time) float64, y int, end time.Time) {
	if class != "due" && class != "overdue" && class != "notyet" {
		return
	}
	start := g.Earliest
	if start == forecast.NoDate {
		start = g.Recommended
	}
	if start == forecast.NoDate {
		return
	}
	stop := g.PastDue
	if stop == forecast.NoDate || stop < start {
		stop = g.Latest
	}
	if stop == forecast.NoDate || stop < start || stop.Time().Sub(start.Time()) > 5*365*24*time.Hour {
		t := start.Time().AddDate(0, 3, 0)
		stop = forecast.MakeDate(t.Year(), int(t.Month()), t.Day())
	}
	if start.Time().After(end) {
		return // beyond the axis
	}
	if stop.Time().After(end) {
		t := end
		stop = forecast.MakeDate(t.Year(), int(t.Month()), t.Day())
	}
	x0, x1 := x(start.Time()), x(stop.Time())
	fmt.Fprintf(b, `<rect class="window" x="%.1f" y="%d" width="%.1f" height="%d" fill="#cfe2ff" stroke="#80b3ff"><title>next dose: earliest %s, recommended %s, past due %s</title></rect>`,
		x0, y-8, max(x1-x0, 2), 16, dateOf(g.Earliest), dateOf(g.Recommended), dateOf(g.PastDue))
	if g.Recommended != forecast.NoDate && !g.Recommended.Time().After(end) {
		xr := x(g.Recommended.Time())
		fmt.Fprintf(b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#0b5cad" stroke-width="2"/>`, xr, y-9, xr, y+9)
	}
}

// axis draws the age axis: ticks every 2 months under 2 years, every
// year under 10, every 2 years after.
func axis(b *strings.Builder, dob time.Time, span time.Duration, x func(time.Time) float64, height int) {
	years := span.Hours() / 24 / 365.25
	type tick struct {
		months int
		label  string
	}
	var ticks []tick
	switch {
	case years <= 2.5:
		for m := 0; float64(m) <= years*12; m += 2 {
			ticks = append(ticks, tick{m, fmt.Sprintf("%d mo", m)})
		}
	case years <= 10:
		for y := 0; float64(y) <= years; y++ {
			ticks = append(ticks, tick{12 * y, fmt.Sprintf("%d y", y)})
		}
	default:
		for y := 0; float64(y) <= years; y += 2 {
			ticks = append(ticks, tick{12 * y, fmt.Sprintf("%d y", y)})
		}
	}
	for _, t := range ticks {
		tx := x(dob.AddDate(0, t.months, 0))
		fmt.Fprintf(b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#eef1f4"/>`, tx, tlTop-4, tx, height-tlBottom)
		fmt.Fprintf(b, `<text x="%.1f" y="%d" font-size="11" fill="#59636e" text-anchor="middle">%s</text>`, tx, tlTop-10, t.label)
	}
}
