package recall

import (
	"strings"
	"testing"
	"time"
)

func TestLanguageOf(t *testing.T) {
	for code, want := range map[string]Language{
		"spa": Spanish, "SPA": Spanish, "es": Spanish, "es-US": Spanish, " spa ": Spanish, "Spanish": Spanish,
		"eng": English, "en": English, "": English, "por": English, "vie": English, "esp": English,
	} {
		if got := LanguageOf(code); got != want {
			t.Errorf("LanguageOf(%q) = %s, want %s", code, got, want)
		}
	}
}

// A family's letter is Spanish when any of its children's records says
// Spanish, whatever order the children come in.
func TestFamilyLanguage(t *testing.T) {
	oak := Address{Street: "1 Oak St", Zip: "06101"}
	for _, tc := range []struct {
		name  string
		langs []Language
		want  Language
	}{
		{"none recorded", []Language{English, English}, English},
		{"all Spanish", []Language{Spanish, Spanish}, Spanish},
		{"Spanish first", []Language{Spanish, English}, Spanish},
		{"Spanish second", []Language{English, Spanish}, Spanish},
		{"one child", []Language{Spanish}, Spanish},
	} {
		var cs []Child
		for i, l := range tc.langs {
			cs = append(cs, Child{ID: int64(i + 1), Given: "C", Family: "Ruiz", Guardian: "Ana Ruiz", Address: oak, Language: l})
		}
		fams := Families(cs)
		if len(fams) != 1 || fams[0].Language != tc.want {
			t.Errorf("%s: %d families, language %q, want one in %s", tc.name, len(fams), fams[0].Language, tc.want)
		}
	}
}

// FamilyLetters prints each family's letter in its language: the Núñez
// family's in Spanish, the Abbots' in English, one page each.
func TestFamilyLetters(t *testing.T) {
	fams := sampleFamilies()
	for i := range fams {
		if fams[i].Guardian == "Inés Núñez" {
			fams[i].Language = Spanish
		}
	}
	pdf, err := FamilyLetters(fams, day("2024-05-20"), Sender{Clinic: "Elm Street Pediatrics"}, time.Date(2024, 5, 20, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	pages := strings.Split(strings.TrimRight(pdfText(t, pdf), "\f\n"), "\f")
	if len(pages) != 2 {
		t.Fatalf("%d pages, want 2", len(pages))
	}
	flat := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	if p := flat(pages[0]); !strings.Contains(p, "Dear parent or guardian of Ann Abbot, Ben Abbot,") || strings.Contains(p, "Estimado") {
		t.Errorf("the Abbots' letter is not in English:\n%s", p)
	}
	if p := flat(pages[1]); !strings.Contains(p, "Estimado padre, madre o tutor de José Núñez:") || strings.Contains(p, "Dear parent") {
		t.Errorf("the Núñez letter is not in Spanish:\n%s", p)
	}
}
