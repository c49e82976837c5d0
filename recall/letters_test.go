package recall

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"github.com/iisproject/iis/internal/pdftext"
)

func sampleFamilies() []Family {
	oak := Address{Street: "1 Oak St", City: "Hartford", State: "CT", Zip: "06101"}
	cs := []Child{
		{ID: 1, Given: "Ann", Family: "Abbot", BirthDate: day("2024-01-15"), Guardian: "Mary Abbot", Address: oak, Phone: "8605550101",
			Due: []DueGroup{{Group: "Polio", Dose: 1, Status: Overdue, Recommended: day("2024-03-15"), PastDue: day("2024-05-12")}}},
		{ID: 2, Given: "Ben", Family: "Abbot", BirthDate: day("2021-06-10"), Guardian: "Mary Abbot", Address: oak,
			Due: []DueGroup{{Group: "MMR", Dose: 2, Status: Due, Recommended: day("2025-06-10")}}},
		{ID: 3, Given: "José", Family: "Núñez", BirthDate: day("2023-02-01"), Guardian: "Inés Núñez", Address: Address{Street: "9 Pine St", City: "Bristol", State: "CT", Zip: "06010"},
			Due: []DueGroup{{Group: "HepA", Dose: 1, Status: Due, Recommended: day("2024-02-01")}}},
	}
	return Families(cs)
}

// pdfText is the text pdftotext reads from a PDF.
func pdfText(t *testing.T, pdf []byte) string { return pdftext.Text(t, pdf) }

// One letter (page) per family, each naming every child due with the
// vaccines and dates, in English and in Spanish.
func TestLetters(t *testing.T) {
	fams := sampleFamilies()
	printed := time.Date(2024, 5, 20, 10, 0, 0, 0, time.UTC)
	from := Sender{Clinic: "Elm Street Pediatrics", Phone: "860-555-0199"}
	for _, tc := range []struct {
		lang Language
		want []string
	}{
		{English, []string{"Dear parent or guardian of Ann Abbot, Ben Abbot,", "Mary Abbot", "1 Oak St", "Hartford, CT 06101",
			"Ann Abbot (born 01/15/2024)", "Polio", "overdue", "03/15/2024", "05/12/2024", "Ben Abbot (born 06/10/2021)", "MMR", "06/10/2025",
			"Please call Elm Street Pediatrics to make an appointment (860-555-0199).", "Dear parent or guardian of José Núñez,", "HepA"}},
		{Spanish, []string{"Estimado padre, madre o tutor de Ann Abbot, Ben Abbot:", "Ann Abbot (nacido(a) el 15/01/2024)", "atrasada", "15/03/2024",
			"pendiente", "Por favor, llame a Elm Street Pediatrics para hacer una cita", "Estimado padre, madre o tutor de José Núñez:", "Inés Núñez"}},
	} {
		pdf, err := Letters(fams, day("2024-05-20"), tc.lang, from, printed)
		if err != nil {
			t.Fatal(err)
		}
		text := pdfText(t, pdf)
		pages := strings.Split(strings.TrimRight(text, "\f\n"), "\f")
		if len(pages) != 2 {
			t.Errorf("%s: %d pages, want one letter for each of the 2 families", tc.lang, len(pages))
		}
		flat := strings.Join(strings.Fields(text), " ")
		for _, w := range tc.want {
			if !strings.Contains(flat, w) {
				t.Errorf("%s letters lack %q:\n%s", tc.lang, w, text)
			}
		}
		if tc.lang == Spanish && strings.Contains(flat, "Dear parent") {
			t.Error("Spanish letters carry English text")
		}
	}
}

func TestLabels(t *testing.T) {
	var fams []Family
	for range 31 {
		fams = append(fams, sampleFamilies()...)
	}
	fams = append(fams, Family{Guardian: "The family of Nobody"}) // no address: no label
	pdf, err := Labels(fams, time.Date(2024, 5, 20, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	text := pdfText(t, pdf)
	if n := strings.Count(text, "Mary Abbot"); n != 31 {
		t.Errorf("%d labels for Mary Abbot, want 31", n)
	}
	if pages := len(strings.Split(strings.TrimRight(text, "\f\n"), "\f")); pages != 3 {
		t.Errorf("62 labels on %d sheets, want 3 of 30", pages)
	}
	if strings.Contains(text, "Nobody") {
		t.Error("a family without an address got a label")
	}
	if !strings.Contains(text, "Bristol, CT 06010") {
		t.Errorf("labels lack the city line:\n%s", text)
	}
}

func TestCSV(t *testing.T) {
	fams := sampleFamilies()
	var cs []Child
	for _, f := range fams {
		for _, c := range f.Children {
			cs = append(cs, *c)
		}
	}
	cs[0].Guardian = "=HYPERLINK(1)"
	var b bytes.Buffer
	if err := WriteCSV(&b, cs); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 || rows[1][1] != "Abbot" || rows[1][5] != "8605550101" || rows[1][11] != "overdue" ||
		rows[1][12] != "Polio #1 overdue (2024-03-15)" || rows[3][2] != "José" {
		t.Errorf("csv rows: %q", rows)
	}
	if rows[1][4] != "'=HYPERLINK(1)" {
		t.Errorf("a formula-like guardian name went out as %q", rows[1][4])
	}
}
