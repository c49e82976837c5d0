package certificate

import (
	"cmp"
	"slices"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/iisproject/iis"
	"github.com/iisproject/iis/codeset"
)

// groupLabels names the CDC vaccine groups on the certificate, in the
// order of the childhood schedule; other groups follow by name.
var groupLabels = []struct{ group, label string }{
	{"HepB", "Hepatitis B"},
	{"ROTAVIRUS", "Rotavirus"},
	{"DTAP", "Diphtheria, tetanus, pertussis (DTaP, DTP, DT)"},
	{"TDAP", "Tetanus, diphtheria, pertussis (Tdap)"},
	{"Td", "Tetanus, diphtheria (Td)"},
	{"HIB", "Haemophilus influenzae type b (Hib)"},
	{"PneumoPCV", "Pneumococcal conjugate (PCV)"},
	{"PneumoPPV", "Pneumococcal polysaccharide (PPSV)"},
	{"POLIO", "Polio"},
	{"FLU", "Influenza"},
	{"COVID-19", "COVID-19"},
	{"MMR", "Measles, mumps, rubella (MMR)"},
	{"VARICELLA", "Varicella (chickenpox)"},
	{"HepA", "Hepatitis A"},
	{"HPV", "Human papillomavirus (HPV)"},
	{"MENING", "Meningococcal (MenACWY)"},
	{"MeningB", "Meningococcal B (MenB)"},
	{"RSV", "Respiratory syncytial virus (RSV)"},
	{"ZOSTER", "Zoster (shingles)"},
}

// otherGroup holds doses whose CVX has no vaccine group in the tables.
const otherGroup = "Other vaccines"

// groupLabel returns the printed name of a vaccine group and its rank.
func groupLabel(g string) (string, int) {
	for i, l := range groupLabels {
		if l.group == g {
			return l.label, i
		}
	}
	if g == otherGroup {
		return g, len(groupLabels) + 1
	}
	return g, len(groupLabels)
}

// doseGroup is one vaccine group's doses on the certificate.
type doseGroup struct {
	label string
	rank  int
	doses []doseLine
}

type doseLine struct {
	date    time.Time
	vaccine string
	partial bool
}

// groupDoses groups the shown doses (in date order) by vaccine group: a
// combination vaccine is listed under each of its groups.
func (is *Issuer) groupDoses(shown []iis.Vaccination) []doseGroup {
	var groups []doseGroup
	index := map[string]int{}
	add := func(group string, l doseLine) {
		i, ok := index[group]
		if !ok {
			label, rank := groupLabel(group)
			i = len(groups)
			index[group] = i
			groups = append(groups, doseGroup{label: label, rank: rank})
		}
		groups[i].doses = append(groups[i].doses, l)
	}
	for i := range shown {
		d := &shown[i]
		l := doseLine{date: d.AdministeredAt, vaccine: d.Vaccine.Text, partial: d.CompletionStatus == "PA"}
		v, known := is.cfg.Codes.Vaccine(d.CVX)
		if known && v.ShortName != "" {
			l.vaccine = capitalize(v.ShortName)
		}
		if l.vaccine == "" {
			l.vaccine = unnamedVaccine(d)
		}
		if !known || len(v.Groups) == 0 {
			add(otherGroup, l)
			continue
		}
		for _, g := range v.Groups {
			add(g.Name, l)
		}
	}
	slices.SortStableFunc(groups, func(a, b doseGroup) int {
		return cmp.Or(cmp.Compare(a.rank, b.rank), cmp.Compare(a.label, b.label))
	})
	return groups
}

func unnamedVaccine(d *iis.Vaccination) string {
	switch {
	case d.CVX != "":
		return "Vaccine CVX " + d.CVX
	case d.NDC != "":
		return "Vaccine NDC " + d.NDC
	case d.CPT != "":
		return "Vaccine CPT " + d.CPT
	}
	return "Vaccine (unnamed)"
}

// immunityLine and exemptionLine are printed rows.
type immunityLine struct {
	disease, source string
	date            time.Time
}

type exemptionLine struct {
	group, kind string
	date        time.Time
}

func (is *Issuer) immunityLines(ims []Immunity) []immunityLine {
	var out []immunityLine
	t := is.cfg.Codes.Table(codeset.EvidenceOfImmunity)
	for _, im := range ims {
		l := immunityLine{disease: im.Text, source: im.Source, date: im.Date}
		if l.disease == "" && t != nil {
			if e, ok := t.Lookup(im.Disease); ok {
				l.disease = e.Display
			}
		}
		if l.disease == "" {
			l.disease = "Immunity (SNOMED CT " + im.Disease + ")"
		}
		out = append(out, l)
	}
	slices.SortStableFunc(out, func(a, b immunityLine) int { return a.date.Compare(b.date) })
	return out
}

func exemptionLines(exs []Exemption) []exemptionLine {
	var out []exemptionLine
	for _, e := range exs {
		label, _ := groupLabel(e.VaccineGroup)
		out = append(out, exemptionLine{group: label, kind: e.Kind, date: e.Date})
	}
	slices.SortStableFunc(out, func(a, b exemptionLine) int { return a.date.Compare(b.date) })
	return out
}

// capitalize upper-cases the first letter: the CVX short names of some
// vaccines start in lower case ("varicella").
func capitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError || unicode.IsUpper(r) {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}
