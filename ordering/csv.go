package ordering

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
)

// ExportColumns are the columns of the VTrckS-style order file, one row
// per vaccine approved (docs/inventory-ordering.md describes each).
var ExportColumns = []string{"order_id", "provider_pin", "funding_type", "cvx", "doses_per_package", "packages", "doses",
	"submitted_on", "approved_on", "approved_by", "comment"}

// ExportCSV writes an approved (or received) order as the VTrckS-style
// order file: a header row, then one row per vaccine with approved doses.
func ExportCSV(w io.Writer, o *Order) error {
	if o.Status != Approved && o.Status != Received {
		return inputErr("order %d is %s: only an approved order is exported", o.ID, o.Status)
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(ExportColumns); err != nil {
		return fmt.Errorf("ordering: export: %w", err)
	}
	for _, l := range o.Lines {
		if l.Approved <= 0 {
			continue
		}
		rec := []string{strconv.FormatInt(o.ID, 10), o.Clinic, o.Funding, l.CVX, strconv.Itoa(l.PackageDoses),
			strconv.Itoa(l.Approved / l.PackageDoses), strconv.Itoa(l.Approved),
			o.SubmittedAt.Format("2006-01-02"), o.DecidedAt.Format("2006-01-02"), o.DecidedBy, csvSafe(o.Note)}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("ordering: export: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("ordering: export: %w", err)
	}
	return nil
}

// csvSafe keeps a free-text cell from being read as a formula by a
// spreadsheet (a leading =, +, - or @ is quoted with ').
func csvSafe(s string) string {
	if s != "" && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@') {
		return "'" + s
	}
	return s
}
