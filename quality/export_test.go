package quality_test

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iisproject/iis/quality"
)

func sampleReport() *quality.Report {
	t := quality.Totals{Messages: 3, VXU: 3, WithErrors: 1, WithWarnings: 2, Completeness: quality.Completeness{
		Doses: 5, Administered: 4, Historical: 1, Lot: 3, Manufacturer: 3, VIS: 4, Eligibility: 4}}
	return &quality.Report{
		Facility: "CLINIC_A", Period: quality.Period{From: day("2026-03-01"), To: day("2026-03-31")},
		Totals: t, Score: t.Score(),
		Days: []quality.Day{{Day: day("2026-03-02"), Totals: quality.Totals{Messages: 2, WithWarnings: 1}}},
		Detections: []quality.DetectionCount{{Detection: "MQE0339", Description: "Vaccination lot number is missing", Severity: "W",
			Messages: 1, Fields: []quality.FieldCount{{Position: "RXA-15", Messages: 1}},
			Examples: []quality.Example{{ReportID: 7, ControlID: "=CMD|x", Sent: ""}}}},
	}
}

func TestWriteCSV(t *testing.T) {
	var b bytes.Buffer
	if err := quality.WriteCSV(&b, sampleReport(), "test"); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	find := func(section, key string) []string {
		for _, r := range rows {
			if r[0] == section && r[1] == key {
				return r
			}
		}
		t.Fatalf("no row %s/%s in %v", section, key, rows)
		return nil
	}
	if r := find("summary", "score"); r[4] != "67" {
		t.Errorf("score row %v", r)
	}
	if r := find("completeness", "Lot number (RXA-15)"); r[4] != "3" || r[5] != "75.0" {
		t.Errorf("lot row %v, want 3 doses, 75.0%%", r)
	}
	r := find("detection", "MQE0339")
	if r[3] != "W" || r[4] != "1" || !strings.Contains(r[6], "RXA-15 (1)") {
		t.Errorf("detection row %v", r)
	}
	if r := find("day", "2026-03-02"); r[4] != "2" {
		t.Errorf("day row %v", r)
	}
}

// TestPDF reads the vendor's summary as a reader would (pdftotext).
func TestPDF(t *testing.T) {
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Skip("pdftotext not installed (deploy/dev/ensure-poppler.sh)")
	}
	pdf, err := quality.PDF(sampleReport(), "test", time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "r.pdf")
	if err := os.WriteFile(f, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-layout", f, "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(strings.Fields(string(out)), " ")
	for _, want := range []string{
		"Data quality report: CLINIC_A", "Period 2026-03-01 to 2026-03-31 (31 days) - status test",
		"Score: 67 / 100", "3 messages: 1 with an error or rejected (33.3%)",
		"5 doses: 4 administered, 1 historical.", "Lot number (RXA-15) 3 75.0%", "VIS given",
		"MQE0339 Vaccination lot", "RXA-15 (1)", "=CMD|x", "2026-03-02 2 0 1",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("PDF text lacks %q:\n%s", want, text)
		}
	}
}

// TestPDFManyDetections: a long report flows onto further pages with
// every detection in it.
func TestPDFManyDetections(t *testing.T) {
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Skip("pdftotext not installed (deploy/dev/ensure-poppler.sh)")
	}
	r := sampleReport()
	for i := range 120 {
		r.Detections = append(r.Detections, quality.DetectionCount{Detection: fmt.Sprintf("MQE%04d", 100+i), Description: "A detection with a long name that wraps in its column",
			Severity: "I", Messages: 1, Fields: []quality.FieldCount{{Position: "OBX-5", Messages: 1}}})
	}
	pdf, err := quality.PDF(r, "production", time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "r.pdf")
	if err := os.WriteFile(f, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", f, "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	if pages := strings.Count(string(out), "\f"); pages < 3 || !strings.Contains(string(out), "MQE0219") {
		t.Errorf("%d pages; last detection present: %v", pages, strings.Contains(string(out), "MQE0219"))
	}
}
