package coverage

import (
	"fmt"
	"html/template"
	"strings"
)

// The charts are SVG drawn on the server: no script, and each bar or
// point carries its figure as a <title> for screen readers and hover.

// maxBars is how many clinics the bar chart shows (the largest).
const maxBars = 25

// barChart draws the rate of m for each row (a clinic), one horizontal
// bar per row.
func barChart(rows []row, m Measure) template.HTML {
	if len(rows) == 0 {
		return ""
	}
	rows = rows[:min(len(rows), maxBars)]
	const left, width, barH, gap = 230, 420, 18, 6
	h := len(rows)*(barH+gap) + 30
	var b strings.Builder
	fmt.Fprintf(&b, `<svg id="bars" role="img" aria-labelledby="bars-title" viewBox="0 0 %d %d" width="100%%" xmlns="http://www.w3.org/2000/svg">`, left+width+70, h)
	fmt.Fprintf(&b, `<title id="bars-title">%s up to date by clinic</title>`, template.HTMLEscapeString(m.String()))
	for _, pct := range []int{0, 25, 50, 75, 100} {
		x := left + width*pct/100
		fmt.Fprintf(&b, `<line x1="%d" y1="0" x2="%d" y2="%d" stroke="#d1d9e0"/><text x="%d" y="%d" font-size="11" text-anchor="middle" fill="#59636e">%d%%</text>`,
			x, x, h-20, x, h-6, pct)
	}
	for i, r := range rows {
		y := i * (barH + gap)
		rate := r.Tally.Rate(m)
		label := r.Label
		if len(label) > 34 {
			label = label[:33] + "…"
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="12" text-anchor="end">%s</text>`, left-8, y+13, template.HTMLEscapeString(label))
		fmt.Fprintf(&b, `<rect class="bar" x="%d" y="%d" width="%.1f" height="%d" fill="#0b5cad"><title>%s: %.1f%% of %d children</title></rect>`,
			left, y, float64(width)*rate/100, barH, template.HTMLEscapeString(r.Label), rate, r.Tally.Children)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="11">%.1f%%</text>`, float64(left)+float64(width)*rate/100+4, y+13, rate)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// trendChart draws the rate of m by the month the children turned two
// (thirteen for teens): a line with a point per month.
func trendChart(rep *Report, m Measure) template.HTML {
	months := rep.Months()
	if len(months) == 0 {
		return ""
	}
	const left, top, width, height = 40, 10, 620, 200
	var b strings.Builder
	fmt.Fprintf(&b, `<svg id="trend" role="img" aria-labelledby="trend-title" viewBox="0 0 %d %d" width="100%%" xmlns="http://www.w3.org/2000/svg">`, left+width+20, top+height+40)
	fmt.Fprintf(&b, `<title id="trend-title">%s up to date by month of birthday</title>`, template.HTMLEscapeString(m.String()))
	for _, pct := range []int{0, 25, 50, 75, 100} {
		y := top + height - height*pct/100
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#d1d9e0"/><text x="%d" y="%d" font-size="11" text-anchor="end" fill="#59636e">%d%%</text>`,
			left, y, left+width, y, left-4, y+4, pct)
	}
	step := float64(width)
	if len(months) > 1 {
		step = float64(width) / float64(len(months)-1)
	}
	var pts []string
	for i, mo := range months {
		t := rep.ByMonth[mo]
		x := float64(left) + step*float64(i)
		if len(months) == 1 {
			x = float64(left + width/2)
		}
		y := float64(top+height) - float64(height)*t.Rate(m)/100
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", x, y))
		fmt.Fprintf(&b, `<circle class="point" cx="%.1f" cy="%.1f" r="4" fill="#0b5cad"><title>%s: %.1f%% of %d children</title></circle>`,
			x, y, mo, t.Rate(m), t.Children)
		if len(months) <= 12 || i%((len(months)+11)/12) == 0 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="11" text-anchor="middle">%s</text>`, x, top+height+16, mo)
		}
	}
	fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="#0b5cad" stroke-width="2"/>`, strings.Join(pts, " "))
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
