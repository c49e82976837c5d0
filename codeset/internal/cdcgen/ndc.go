package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ndcFiles are CDC's NDC flat files (pipe-separated, no header): the
// 0-based columns of the dashed 5-4-2 NDC, the proprietary name, the CVX
// and the start and end dates (YYYYMMDD) of each.
var ndcFiles = []struct {
	file, unit                     string
	ndc, name, cvx, start, end, mn int
}{
	{"NDC_Unit_use.txt", "use", 14, 4, 11, 7, 8, 6},
	{"NDC_Unit_sale.txt", "sale", 14, 4, 12, 7, 8, 6},
}

// convNDC reads CDC's NDC unit-of-use and unit-of-sale files in src into
// one table keyed by the 11-digit NDC without dashes.
func convNDC(src, origin string) (table, error) {
	t := table{
		name:  "NDC",
		title: "NDC codes of vaccines, unit of use and unit of sale, with their CVX (RXA-5 coding system NDC)",
		notes: []string{
			"code is the 11-digit NDC (5-4-2, dashes removed); unit is use (the dose's package, e.g. a syringe) or sale (the carton)",
			"status: Active for every row (CDC's files keep the NDCs no longer sold, with their start and end dates)",
		},
		columns: []string{"code", "display", "status", "cvx", "unit", "start", "end", "manufacturer"},
	}
	for _, f := range ndcFiles {
		path := filepath.Join(src, f.file)
		t.sources = append(t.sources, origin+f.file)
		b, err := os.ReadFile(path)
		if err != nil {
			return table{}, err
		}
		sc := bufio.NewScanner(strings.NewReader(string(b)))
		sc.Buffer(make([]byte, 1<<16), 1<<20)
		for sc.Scan() {
			c := strings.Split(strings.TrimRight(sc.Text(), "\r"), "|")
			if len(c) <= f.ndc {
				continue
			}
			code := strings.ReplaceAll(clean(c[f.ndc]), "-", "")
			if len(code) != 11 {
				return table{}, fmt.Errorf("%s: NDC %q is not 5-4-2", path, c[f.ndc])
			}
			t.rows = append(t.rows, []string{code, clean(c[f.name]), "Active", clean(c[f.cvx]), f.unit,
				ymd(clean(c[f.start])), ymd(clean(c[f.end])), clean(c[f.mn])})
		}
	}
	sortRows(t.rows)
	return t, nil
}

// ymd turns YYYYMMDD into YYYY-MM-DD; anything else is kept.
func ymd(s string) string {
	if len(s) != 8 {
		return s
	}
	return s[:4] + "-" + s[4:6] + "-" + s[6:]
}

// convCVXVIS is CDC's CVX-to-VIS map (cvxvis.xml): the VIS documents
// (GS1 barcodes) that go with each CVX.
func convCVXVIS(recs []map[string]string, origin string) table {
	t := table{
		name:    "CVX_VIS",
		title:   "CVX to VIS document (the GS1 barcode of each edition of the VIS that goes with the vaccine)",
		sources: []string{origin},
		notes: []string{
			"code is the CVX; a CVX has one row per VIS edition; status as published by CDC: Current or Historic",
			"gdti is the 13-digit GS1 document type (characters 4-16 of the barcode), the VIS whatever its edition",
		},
		columns: []string{"code", "display", "status", "barcode", "gdti", "edition"},
	}
	for _, r := range recs {
		bc := r["Fully-encodedString"]
		gdti := ""
		if len(bc) == 24 {
			gdti = bc[3:16]
		}
		t.rows = append(t.rows, []string{r["CVXCode"], r["VISDocumentName"], r["Status"], bc, gdti, isoDate(r["VISEditionDate"])})
	}
	sortRows(t.rows)
	return t
}
