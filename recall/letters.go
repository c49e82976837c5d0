package recall

import (
	"bytes"
	"fmt"
	"strings"
	"time"
	"unicode"

	"codeberg.org/go-pdf/fpdf"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/unicode/norm"
)

// Language is a letter's language.
type Language string

// The letters' languages.
const (
	English Language = "en"
	Spanish Language = "es"
)

// FamilyLanguage is the letters' choice of printing each family's
// letter in the family's language (Family.Language).
const FamilyLanguage Language = "family"

// ParseLanguage maps "en" and "es" (any case), and "" or "family" to
// FamilyLanguage; anything else is an error.
func ParseLanguage(s string) (Language, error) {
	switch l := Language(strings.ToLower(strings.TrimSpace(s))); l {
	case English, Spanish, FamilyLanguage:
		return l, nil
	case "":
		return FamilyLanguage, nil
	}
	return "", fmt.Errorf("letters are printed in English (en), Spanish (es) or each family's language (family), not %q", s)
}

// LanguageOf is the letters' language for a PID-15 primary language
// code: Spanish for the ISO 639 codes of Spanish ("spa", "es", "es-US"
// and the like, any case), English for anything else (the registry has
// letters in these two only).
func LanguageOf(code string) Language {
	c := strings.ToLower(strings.TrimSpace(code))
	if c == "spa" || c == "es" || strings.HasPrefix(c, "es-") || c == "spanish" {
		return Spanish
	}
	return English
}

// wording is a letter's text in one language.
type wording struct {
	dear, intro, call, elsewhere, closing      string
	born, group, dose, status, dueOn, overdue  string
	statusDue, statusOverdue, title, noneGiven string
	date                                       func(time.Time) string
}

var wordings = map[Language]wording{
	English: {
		title:     "Immunization reminder",
		dear:      "Dear parent or guardian of %s,",
		intro:     "Our records show that the children named below are due or overdue for vaccines by %s. Vaccines on time protect your children from serious diseases.",
		call:      "Please call %s to make an appointment%s.",
		elsewhere: "If a child has already received these vaccines somewhere else, please let us know so that we can update the record.",
		closing:   "Thank you,",
		born:      "born", group: "Vaccine", dose: "Dose", status: "Status", dueOn: "Due", overdue: "Overdue since",
		statusDue: "due", statusOverdue: "overdue", noneGiven: "",
		date: func(t time.Time) string { return t.Format("01/02/2006") },
	},
	Spanish: {
		title:     "Recordatorio de vacunas",
		dear:      "Estimado padre, madre o tutor de %s:",
		intro:     "Nuestros registros indican que los niños nombrados abajo deben recibir vacunas, o están atrasados, para el %s. Las vacunas a tiempo protegen a sus hijos de enfermedades graves.",
		call:      "Por favor, llame a %s para hacer una cita%s.",
		elsewhere: "Si algún niño ya recibió estas vacunas en otro lugar, avísenos para que podamos actualizar su registro.",
		closing:   "Atentamente,",
		born:      "nacido(a) el", group: "Vacuna", dose: "Dosis", status: "Estado", dueOn: "Fecha", overdue: "Atrasada desde",
		statusDue: "pendiente", statusOverdue: "atrasada", noneGiven: "",
		date: func(t time.Time) string { return t.Format("02/01/2006") },
	},
}

// Sender is who signs the letters: the clinic.
type Sender struct {
	Clinic string
	Phone  string // shown in the letters' request to call; may be empty
}

// FamilyLetters renders one letter per family (a page each), each in its
// family's language.
func FamilyLetters(fams []Family, by time.Time, from Sender, printed time.Time) ([]byte, error) {
	return Letters(fams, by, FamilyLanguage, from, printed)
}

// Letters renders one letter per family (a page each) in language lang,
// or each in its family's language when lang is FamilyLanguage.
func Letters(fams []Family, by time.Time, lang Language, from Sender, printed time.Time) ([]byte, error) {
	langOf := func(f *Family) Language { return lang }
	if lang == FamilyLanguage {
		lang, langOf = English, func(f *Family) Language { return cmpLang(f.Language) }
	}
	w, ok := wordings[lang]
	if !ok {
		return nil, fmt.Errorf("recall: no letters in %q", lang)
	}
	p := fpdf.New("P", "mm", "Letter", "")
	p.SetMargins(22, 20, 22)
	// Uncompressed page streams: fpdf makes a new compressor for each
	// page, most of a letter's CPU time.
	p.SetCompression(false)
	p.SetAutoPageBreak(true, 18)
	p.SetCreationDate(printed)
	p.SetModificationDate(printed)
	p.SetTitle(w.title, true)
	p.SetCreator(from.Clinic, true)
	p.SetProducer("iis recall", true)
	for i := range fams {
		fw := wordings[langOf(&fams[i])]
		letter(p, &fams[i], by, &fw, from, printed)
	}
	if len(fams) == 0 {
		p.AddPage()
	}
	var b bytes.Buffer
	if err := p.Output(&b); err != nil {
		return nil, fmt.Errorf("recall: letters: %w", err)
	}
	return b.Bytes(), nil
}

// cmpLang is l, or English when l is not one of the letters' languages.
func cmpLang(l Language) Language {
	if _, ok := wordings[l]; ok {
		return l
	}
	return English
}

// letter lays out one family's letter.
func letter(p *fpdf.Fpdf, f *Family, by time.Time, w *wording, from Sender, printed time.Time) {
	p.AddPage()
	pw, _ := p.GetPageSize()
	l, _, r, _ := p.GetMargins()
	width := pw - l - r
	p.SetFont("Helvetica", "B", 14)
	p.CellFormat(width, 7, tr(from.Clinic), "", 1, "L", false, 0, "")
	p.SetFont("Helvetica", "", 10)
	p.CellFormat(width, 5, tr(w.date(printed)), "", 1, "R", false, 0, "")
	p.Ln(6)
	p.SetFont("Helvetica", "", 11)
	for _, line := range append([]string{f.Guardian}, f.Address.Lines()...) {
		p.CellFormat(width, 5.5, tr(line), "", 1, "L", false, 0, "")
	}
	p.Ln(10)
	names := make([]string, len(f.Children))
	for i, c := range f.Children {
		names[i] = c.Name()
	}
	para := func(s string) {
		p.MultiCell(width, 5.5, tr(s), "", "L", false)
		p.Ln(3)
	}
	para(fmt.Sprintf(w.dear, strings.Join(names, ", ")))
	para(fmt.Sprintf(w.intro, w.date(by)))
	for _, c := range f.Children {
		childTable(p, c, w, width)
	}
	phone := ""
	if from.Phone != "" {
		phone = " (" + from.Phone + ")"
	}
	para(fmt.Sprintf(w.call, from.Clinic, phone))
	para(w.elsewhere)
	para(w.closing)
	para(from.Clinic)
}

// childTable prints a child's name and the groups due.
func childTable(p *fpdf.Fpdf, c *Child, w *wording, width float64) {
	p.SetFont("Helvetica", "B", 11)
	p.CellFormat(width, 6, tr(fmt.Sprintf("%s (%s %s)", c.Name(), w.born, w.date(c.BirthDate))), "", 1, "L", false, 0, "")
	cols := []float64{width * 0.34, width * 0.12, width * 0.16, width * 0.19, width * 0.19}
	p.SetFont("Helvetica", "B", 10)
	for i, h := range []string{w.group, w.dose, w.status, w.dueOn, w.overdue} {
		p.CellFormat(cols[i], 5.5, tr(h), "B", 0, "L", false, 0, "")
	}
	p.Ln(-1)
	p.SetFont("Helvetica", "", 10)
	for _, d := range c.Due {
		st := w.statusDue
		if d.Status == Overdue {
			st = w.statusOverdue
		}
		for i, s := range []string{d.Group, fmt.Sprint(d.Dose), st, dateOr(d.Recommended, w), dateOr(d.PastDue, w)} {
			p.CellFormat(cols[i], 5.5, tr(s), "", 0, "L", false, 0, "")
		}
		p.Ln(-1)
	}
	p.Ln(4)
}

func dateOr(t time.Time, w *wording) string {
	if t.IsZero() {
		return ""
	}
	return w.date(t)
}

// Avery 5160 / 8160: 30 labels of 2⅝ × 1 inch on US Letter, 3 across
// and 10 down, in millimetres.
const (
	labelW, labelH   = 66.675, 25.4
	labelLeft        = 4.7625
	labelTop         = 12.7
	labelPitchX      = 69.85
	labelsAcross     = 3
	labelsDown       = 10
	labelPad         = 4.0
	labelLineH       = 4.6
	labelMaxLines    = 5
	labelsPerSheet   = labelsAcross * labelsDown
	labelFontSize    = 10.0
	labelPitchY      = labelH
	labelTextWidthMM = labelW - 2*labelPad
)

// Labels renders one mailing label per family with an address on Avery
// 5160 sheets.
func Labels(fams []Family, printed time.Time) ([]byte, error) {
	p := fpdf.New("P", "mm", "Letter", "")
	p.SetMargins(0, 0, 0)
	p.SetCompression(false)
	p.SetAutoPageBreak(false, 0)
	p.SetCreationDate(printed)
	p.SetModificationDate(printed)
	p.SetTitle("Mailing labels", true)
	p.SetProducer("iis recall", true)
	p.SetFont("Helvetica", "", labelFontSize)
	n := 0
	for i := range fams {
		lines := append([]string{fams[i].Guardian}, fams[i].Address.Lines()...)
		if len(lines) < 2 {
			continue // no address to mail to
		}
		if n%labelsPerSheet == 0 {
			p.AddPage()
		}
		k := n % labelsPerSheet
		x := labelLeft + float64(k%labelsAcross)*labelPitchX + labelPad
		y := labelTop + float64(k/labelsAcross)*labelPitchY + (labelH-float64(min(len(lines), labelMaxLines))*labelLineH)/2
		for j, line := range lines[:min(len(lines), labelMaxLines)] {
			p.SetXY(x, y+float64(j)*labelLineH)
			p.CellFormat(labelTextWidthMM, labelLineH, tr(fit(p, line)), "", 0, "L", false, 0, "")
		}
		n++
	}
	if n == 0 {
		p.AddPage()
	}
	var b bytes.Buffer
	if err := p.Output(&b); err != nil {
		return nil, fmt.Errorf("recall: labels: %w", err)
	}
	return b.Bytes(), nil
}

// fit shortens s to the label's width.
func fit(p *fpdf.Fpdf, s string) string {
	rs := []rune(s)
	for len(rs) > 1 && p.GetStringWidth(tr(string(rs))) > labelTextWidthMM {
		rs = []rune(strings.TrimSpace(string(rs[:len(rs)-1])))
	}
	return string(rs)
}

// tr converts text to Windows-1252, the encoding of the PDF core fonts: a
// character outside it is printed without its accents when it has a
// Windows-1252 base letter, else as '?'.
func tr(s string) string {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if c, ok := charmap.Windows1252.EncodeRune(r); ok {
			b = append(b, c)
			continue
		}
		c := byte('?')
		for _, x := range norm.NFD.String(string(r)) {
			if !unicode.Is(unicode.Mn, x) {
				if e, ok := charmap.Windows1252.EncodeRune(x); ok {
					c = e
				}
				break
			}
		}
		b = append(b, c)
	}
	return string(b)
}
