// Command cdcgen converts CDC's IIS code-set XML exports (cvx.xml, mvx.xml,
// cpt.xml, tradename.xml, vac2vg.xml, cvxvis.xml) and NDC flat files
// (NDC_Unit_use.txt, NDC_Unit_sale.txt) into the tab-separated files that
// package codeset embeds. A file missing from -src is skipped (and said so),
// so that one table can be regenerated from its own export.
//
// Usage, from the repository root:
//
//	go run ./codeset/internal/cdcgen -src ../shared/cdsi/codes -out codeset/data \
//	    -origin "immregistries/codebase @ 641f2ea42152 : cdc-source/" \
//	    -edition "CDC IIS code set XML export, December 2025 update"
//
// Code values carry trailing spaces in CDC's export; they are trimmed. Dates
// are rewritten from M/D/YYYY to YYYY-MM-DD.
package main

import (
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

func main() {
	src := flag.String("src", "", "directory holding CDC's cvx.xml, mvx.xml, cpt.xml, tradename.xml, vac2vg.xml, cvxvis.xml, NDC_Unit_use.txt, NDC_Unit_sale.txt")
	out := flag.String("out", "codeset/data", "output directory for the .tsv files")
	origin := flag.String("origin", "", "repository @ commit : folder the XML came from (prefixed to each file name in its source line)")
	edition := flag.String("edition", "CDC IIS code set XML export", "which CDC export this is (second source line)")
	flag.Parse()
	if *src == "" {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*src, *out, *origin, *edition); err != nil {
		log.Fatal(err)
	}
}

func run(src, out, origin, edition string) error {
	steps := []struct {
		file string
		conv func(records []map[string]string, origin string) table
	}{
		{"cvx.xml", convCVX},
		{"mvx.xml", convMVX},
		{"cpt.xml", convCPT},
		{"tradename.xml", convTradename},
		{"vac2vg.xml", convVaccineGroups},
		{"cvxvis.xml", convCVXVIS},
	}
	for _, s := range steps {
		if _, err := os.Stat(filepath.Join(src, s.file)); errors.Is(err, fs.ErrNotExist) {
			fmt.Printf("%s: not in %s, skipped\n", s.file, src)
			continue
		}
		recs, err := readRecords(filepath.Join(src, s.file))
		if err != nil {
			return err
		}
		t := s.conv(recs, origin+s.file)
		t.sources = append(t.sources, edition)
		if err := t.write(out); err != nil {
			return err
		}
		fmt.Printf("%s: %d rows\n", t.name, len(t.rows))
	}
	if _, err := os.Stat(filepath.Join(src, ndcFiles[0].file)); errors.Is(err, fs.ErrNotExist) {
		fmt.Printf("NDC files: not in %s, skipped\n", src)
		return nil
	}
	t, err := convNDC(src, origin)
	if err != nil {
		return err
	}
	t.sources = append(t.sources, edition)
	if err := t.write(out); err != nil {
		return err
	}
	fmt.Printf("%s: %d rows\n", t.name, len(t.rows))
	return nil
}

// readRecords returns each record element of a CDC export as a map of field
// name to value. CDC uses two layouts: plain child elements (cvx.xml) and
// alternating <Name>/<Value> pairs (the others); both are handled.
func readRecords(path string) ([]map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	dec := xml.NewDecoder(f)
	dec.CharsetReader = func(label string, r io.Reader) (io.Reader, error) {
		if strings.EqualFold(label, "ISO-8859-1") {
			return latin1Reader{r}, nil
		}
		return nil, fmt.Errorf("unsupported charset %q", label)
	}
	type field struct {
		XMLName xml.Name
		Text    string `xml:",chardata"`
	}
	type record struct {
		Fields []field `xml:",any"`
	}
	var root struct {
		Records []record `xml:",any"`
	}
	if err := dec.Decode(&root); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var recs []map[string]string
	for _, r := range root.Records {
		m := map[string]string{}
		var pendingName string
		for _, fl := range r.Fields {
			switch fl.XMLName.Local {
			case "Name":
				pendingName = strings.TrimSpace(fl.Text)
			case "Value":
				if pendingName == "" {
					return nil, fmt.Errorf("%s: <Value> without <Name>", path)
				}
				m[pendingName] = clean(fl.Text)
				pendingName = ""
			default:
				m[fl.XMLName.Local] = clean(fl.Text)
			}
		}
		recs = append(recs, m)
	}
	if len(recs) == 0 {
		return nil, errors.New(path + ": no records")
	}
	return recs, nil
}

type latin1Reader struct{ r io.Reader }

func (l latin1Reader) Read(p []byte) (int, error) {
	// Read at most len(p)/2 bytes so that every byte fits once expanded.
	buf := make([]byte, (len(p)+1)/2)
	n, err := l.r.Read(buf)
	j := 0
	for _, b := range buf[:n] {
		if b < 0x80 {
			p[j] = b
			j++
		} else {
			p[j] = 0xC0 | b>>6
			p[j+1] = 0x80 | b&0x3F
			j += 2
		}
	}
	return j, err
}

// clean trims spaces and folds tabs and line breaks into single spaces so a
// value always fits in one TSV cell.
func clean(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// isoDate turns CDC's M/D/YYYY into YYYY-MM-DD; anything else is kept.
func isoDate(s string) string {
	var m, d, y int
	if _, err := fmt.Sscanf(s, "%d/%d/%d", &m, &d, &y); err != nil || y < 1900 {
		return s
	}
	return fmt.Sprintf("%04d-%02d-%02d", y, m, d)
}

type table struct {
	name, title string
	sources     []string
	notes       []string
	columns     []string
	rows        [][]string
}

func (t table) write(dir string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# name: %s\n# title: %s\n", t.name, t.title)
	for _, s := range t.sources {
		fmt.Fprintf(&b, "# source: %s\n", s)
	}
	for _, n := range t.notes {
		fmt.Fprintf(&b, "# note: %s\n", n)
	}
	fmt.Fprintf(&b, "# columns: %s\n", strings.Join(t.columns, "\t"))
	for _, r := range t.rows {
		if len(r) != len(t.columns) {
			return fmt.Errorf("%s: row %q has %d cells, want %d", t.name, r, len(r), len(t.columns))
		}
		b.WriteString(strings.Join(r, "\t"))
		b.WriteByte('\n')
	}
	return os.WriteFile(filepath.Join(dir, strings.ToLower(t.name)+".tsv"), []byte(b.String()), 0o644)
}

func sortRows(rows [][]string) {
	sort.SliceStable(rows, func(i, j int) bool { return rows[i][0] < rows[j][0] })
}

// unspecified reports whether a CVX names an "unspecified formulation" code,
// the kind used only for historical doses. CVX 196 ("Td ... Lf unspecified")
// is a real product and is excluded.
func unspecified(short, full string) bool {
	s := strings.ToLower(short + " " + full)
	return strings.Contains(s, "unspecified") && !strings.Contains(s, "lf unspecified")
}

func yn(b bool) string {
	if b {
		return "Y"
	}
	return "N"
}

func convCVX(recs []map[string]string, origin string) table {
	t := table{
		name:    "CVX",
		title:   "CDC vaccines administered (CVX), RXA-5 coding system CVX",
		sources: []string{origin},
		notes: []string{
			"status as published by CDC: Active, Inactive, Non-US, Never Active, Pending",
			"unspecified = Y when the short or full name says \"unspecified\" (historical-record codes such as 45 Hep B, unspecified formulation); 196 (Td ... Lf unspecified) is a product and is N",
		},
		columns: []string{"code", "display", "status", "full_name", "last_updated", "unspecified"},
	}
	for _, r := range recs {
		t.rows = append(t.rows, []string{r["CVXCode"], r["ShortDescription"], r["Status"], r["FullVaccinename"],
			isoDate(r["LastUpdated"]), yn(unspecified(r["ShortDescription"], r["FullVaccinename"]))})
	}
	sortRows(t.rows)
	return t
}

func convMVX(recs []map[string]string, origin string) table {
	t := table{
		name:    "MVX",
		title:   "CDC manufacturers of vaccines (MVX), RXA-17 coding system MVX",
		sources: []string{origin},
		notes:   []string{"status as published by CDC: Active or Inactive"},
		columns: []string{"code", "display", "status", "last_updated", "notes"},
	}
	for _, r := range recs {
		t.rows = append(t.rows, []string{r["MVX_CODE"], r["Manufacturer Name"], r["Status"], isoDate(r["Last Updated"]), r["Notes"]})
	}
	sortRows(t.rows)
	return t
}

func convCPT(recs []map[string]string, origin string) table {
	t := table{
		name:    "CPT",
		title:   "CPT codes for vaccines mapped to CVX (RXA-5 coding system CPT)",
		sources: []string{origin},
		notes:   []string{"status is CDC's mapping status (blank in the export means the mapping is current; shown here as Active)"},
		columns: []string{"code", "display", "status", "cvx", "vaccine_name", "last_updated"},
	}
	for _, r := range recs {
		st := r["Status"]
		if st == "" {
			st = "Active"
		}
		t.rows = append(t.rows, []string{r["CPT Code"], r["CPT Desc"], st, r["CVX Code"], r["Vaccine Name"], isoDate(r["LastUpdated"])})
	}
	sortRows(t.rows)
	return t
}

func convTradename(recs []map[string]string, origin string) table {
	t := table{
		name:    "TRADENAME",
		title:   "CDC product (trade) names with their CVX and MVX",
		sources: []string{origin},
		notes:   []string{"code is the CDC product name; a product made by several manufacturers over time has one row per manufacturer", "status is the product name status; mvx_status that of the manufacturer"},
		columns: []string{"code", "display", "status", "cvx", "mvx", "manufacturer", "mvx_status", "last_updated"},
	}
	for _, r := range recs {
		t.rows = append(t.rows, []string{r["CDC Product Name"], r["Short Description"], r["Product name Status"], r["CVXCode"],
			r["MVX Code"], r["Manufacturer"], r["MVX Status"], isoDate(r["Last Updated"])})
	}
	sortRows(t.rows)
	return t
}

func convVaccineGroups(recs []map[string]string, origin string) table {
	t := table{
		name:    "CVX_VACCINE_GROUP",
		title:   "CVX to CDC vaccine group (a combination vaccine has one row per group)",
		sources: []string{origin},
		notes:   []string{"display is the vaccine group name, group_cvx the CVX that stands for the group (its unspecified-formulation code); status is the CVX status"},
		columns: []string{"code", "display", "status", "group_cvx", "short_name"},
	}
	for _, r := range recs {
		t.rows = append(t.rows, []string{r["CVXCode"], r["Vaccine Group Name"], r["Status"], r["CVX for Vaccine Group"], r["ShortDescription"]})
	}
	sortRows(t.rows)
	return t
}
