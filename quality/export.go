package quality

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"codeberg.org/go-pdf/fpdf"
)

// Element is one vaccine-level element the CDC tracks, with how many of
// the administered doses carry it.
type Element struct {
	Name    string
	Count   int
	Percent float64 // of the administered doses; 0 without any
}

// Elements are the completeness measures of t: lot, manufacturer, VIS,
// funding eligibility and funding source over the administered doses.
func (t Totals) Elements() []Element {
	pct := func(n int) float64 {
		if t.Administered == 0 {
			return 0
		}
		return 100 * float64(n) / float64(t.Administered)
	}
	return []Element{
		{"Lot number (RXA-15)", t.Lot, pct(t.Lot)},
		{"Manufacturer (RXA-17)", t.Manufacturer, pct(t.Manufacturer)},
		{"VIS given (OBX 69764-9 or 29768-9)", t.VIS, pct(t.VIS)},
		{"Funding eligibility (OBX 64994-7)", t.Eligibility, pct(t.Eligibility)},
		{"Funding source (OBX 30963-3)", t.FundingSource, pct(t.FundingSource)},
	}
}

// Percent is n as a share of the report's messages.
func (r *Report) Percent(n int) float64 {
	if r.Totals.Messages == 0 {
		return 0
	}
	return 100 * float64(n) / float64(r.Totals.Messages)
}

// FieldsText lists a detection's fields with their message counts:
// "RXA-15 (3), RXA-17 (2)".
func (d DetectionCount) FieldsText() string {
	parts := make([]string, len(d.Fields))
	for i, f := range d.Fields {
		parts[i] = f.Position + " (" + strconv.Itoa(f.Messages) + ")"
	}
	return strings.Join(parts, ", ")
}

// ExampleIDs lists the MSH-10 of a detection's examples.
func (d DetectionCount) ExampleIDs() string {
	ids := make([]string, len(d.Examples))
	for i, e := range d.Examples {
		ids[i] = e.ControlID
	}
	return strings.Join(ids, " ")
}

// WriteCSV writes r as CSV: one row per summary figure, completeness
// element, detection and day (columns section, key, description,
// severity, count, percent, detail). It quotes no patient data: examples
// are named by their MSH-10.
func WriteCSV(w io.Writer, r *Report, status string) error {
	c := csv.NewWriter(w)
	row := func(section, key, desc, sev string, n int, pct float64, detail string) {
		_ = c.Write([]string{section, cell(key), cell(desc), sev, strconv.Itoa(n), strconv.FormatFloat(pct, 'f', 1, 64), cell(detail)})
	}
	_ = c.Write([]string{"section", "key", "description", "severity", "count", "percent", "detail"})
	t := r.Totals
	row("summary", "facility", r.Facility, "", 0, 0, "status "+status)
	row("summary", "period", r.Period.From.Format("2006-01-02")+" to "+r.Period.To.Format("2006-01-02"), "", r.Period.Days(), 0, "days")
	row("summary", "score", "Quality score (0-100)", "", r.Score, 0, "")
	row("summary", "messages", "Messages received", "", t.Messages, 100, "")
	row("summary", "with_errors", "Messages with an error or rejected", "E", t.WithErrors, r.Percent(t.WithErrors), "")
	row("summary", "with_warnings", "Messages with a warning", "W", t.WithWarnings, r.Percent(t.WithWarnings), "")
	row("summary", "rejected", "Messages rejected", "", t.Rejected, r.Percent(t.Rejected), "")
	row("completeness", "doses", "Doses reported", "", t.Doses, 100, "")
	row("completeness", "administered", "Administered (RXA-9 00)", "", t.Administered, pctOf(t.Administered, t.Doses), "of doses")
	row("completeness", "historical", "Historical (RXA-9 other)", "", t.Historical, pctOf(t.Historical, t.Doses), "of doses")
	for _, e := range t.Elements() {
		row("completeness", e.Name, e.Name, "", e.Count, e.Percent, "of administered doses")
	}
	for _, d := range r.Detections {
		row("detection", d.Detection, d.Description, d.Severity, d.Messages, r.Percent(d.Messages),
			"fields: "+d.FieldsText()+"; examples (MSH-10): "+d.ExampleIDs())
	}
	for _, d := range r.Days {
		row("day", d.Day.Format("2006-01-02"), "", "", d.Messages, float64(d.Score()),
			fmt.Sprintf("score %d; errors %d; warnings %d; administered doses %d", d.Score(), d.WithErrors, d.WithWarnings, d.Administered))
	}
	c.Flush()
	return c.Error()
}

func pctOf(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return 100 * float64(n) / float64(of)
}

// cell keeps a spreadsheet from reading a sent value as a formula.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// PDF lays out r as a summary for the clinic's EHR vendor: score,
// completeness, detections with their fields and example MSH-10s, and the
// days. Like the CSV, it quotes no patient data.
func PDF(r *Report, status string, generated time.Time) ([]byte, error) {
	p := fpdf.New("P", "mm", "Letter", "")
	p.SetMargins(18, 16, 18)
	p.SetAutoPageBreak(true, 16)
	p.SetCreationDate(generated)
	p.SetModificationDate(generated)
	p.SetTitle("Data quality report "+r.Facility, true)
	p.SetProducer("iis quality", true)
	tr := p.UnicodeTranslatorFromDescriptor("")
	p.AddPage()
	pw, _ := p.GetPageSize()
	l, _, rm, _ := p.GetMargins()
	width := pw - l - rm
	line := func(size float64, style, s string) {
		p.SetFont("Helvetica", style, size)
		p.MultiCell(width, size*0.5, tr(s), "", "L", false)
	}
	line(16, "B", "Data quality report: "+r.Facility)
	line(10, "", fmt.Sprintf("Period %s to %s (%d days) - status %s - generated %s",
		r.Period.From.Format("2006-01-02"), r.Period.To.Format("2006-01-02"), r.Period.Days(), status, generated.Format("2006-01-02 15:04")))
	p.Ln(3)
	t := r.Totals
	score := "no messages"
	if r.Score >= 0 {
		score = strconv.Itoa(r.Score) + " / 100"
	}
	line(13, "B", "Score: "+score)
	line(10, "", fmt.Sprintf("%d messages: %d with an error or rejected (%.1f%%), %d with a warning (%.1f%%), %d rejected.",
		t.Messages, t.WithErrors, r.Percent(t.WithErrors), t.WithWarnings, r.Percent(t.WithWarnings), t.Rejected))
	p.Ln(2)
	line(12, "B", "Vaccine-level completeness")
	line(10, "", fmt.Sprintf("%d doses: %d administered, %d historical.", t.Doses, t.Administered, t.Historical))
	table(p, tr, []float64{110, 30, 30}, []string{"Element (administered doses)", "Doses", "Percent"}, func(add func(...string)) {
		for _, e := range t.Elements() {
			add(e.Name, strconv.Itoa(e.Count), fmt.Sprintf("%.1f%%", e.Percent))
		}
	})
	p.Ln(2)
	line(12, "B", "Detections")
	if len(r.Detections) == 0 {
		line(10, "", "No detection in this period.")
	}
	table(p, tr, []float64{58, 10, 18, 44, 50}, []string{"Detection", "Sev.", "Messages", "Fields", "Examples (MSH-10)"}, func(add func(...string)) {
		for _, d := range r.Detections {
			add(d.Detection+" "+d.Description, d.Severity, strconv.Itoa(d.Messages), d.FieldsText(), d.ExampleIDs())
		}
	})
	p.Ln(2)
	line(12, "B", "By day")
	table(p, tr, []float64{40, 30, 30, 30, 30}, []string{"Day", "Messages", "Errors", "Warnings", "Score"}, func(add func(...string)) {
		for _, d := range r.Days {
			add(d.Day.Format("2006-01-02"), strconv.Itoa(d.Messages), strconv.Itoa(d.WithErrors), strconv.Itoa(d.WithWarnings), strconv.Itoa(d.Score()))
		}
	})
	var b bytes.Buffer
	if err := p.Output(&b); err != nil {
		return nil, fmt.Errorf("quality: PDF: %w", err)
	}
	return b.Bytes(), nil
}

// table lays out a header row and the rows rows adds, wrapping long cells.
func table(p *fpdf.Fpdf, tr func(string) string, widths []float64, head []string, rows func(add func(...string))) {
	p.SetFont("Helvetica", "B", 9)
	for i, h := range head {
		p.CellFormat(widths[i], 6, tr(h), "B", 0, "L", false, 0, "")
	}
	p.Ln(-1)
	p.SetFont("Helvetica", "", 9)
	rows(func(cells ...string) {
		lines := 1
		for i, c := range cells {
			lines = max(lines, len(p.SplitText(tr(c), widths[i]-2)))
		}
		h := 4.5 * float64(lines)
		_, pageH := p.GetPageSize()
		if p.GetY()+h > pageH-16 {
			p.AddPage()
		}
		x, y := p.GetXY()
		for i, c := range cells {
			p.SetXY(x, y)
			p.MultiCell(widths[i], 4.5, tr(c), "", "L", false)
			x += widths[i]
		}
		p.SetXY(p.GetX(), y+h)
		p.SetX(18)
	})
}
