package reports

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// RestrictedColumn is the first column of a stored CSV file whose rows
// are children: "Y" for a child who opted out or is protected.
const RestrictedColumn = "restricted"

// notDisclosed replaces a restricted child's name for clinic users.
const notDisclosed = "Record not disclosed (opted out or protected)"

func yn(b bool) string {
	if b {
		return "Y"
	}
	return "N"
}

// csvSafe keeps a spreadsheet from reading a cell as a formula.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// Table is a stored CSV file read for a page or a download, as the user
// may see it.
type Table struct {
	Head []string
	Rows [][]string
}

// ReadTable reads a stored CSV file. Unless program (program staff see
// every child), a restricted row's patient id and name are withheld: a
// clinic sees why the child is listed, not who (as on the live pages).
func ReadTable(b []byte, program bool) (*Table, error) {
	cr := csv.NewReader(bytes.NewReader(b))
	cr.FieldsPerRecord = -1
	recs, err := cr.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("reports: stored file: %w", err)
	}
	if len(recs) == 0 {
		return &Table{}, nil
	}
	t := &Table{Head: recs[0], Rows: recs[1:]}
	if program || len(t.Head) == 0 || t.Head[0] != RestrictedColumn {
		return t, nil
	}
	id, name := slices.Index(t.Head, "patient id"), slices.Index(t.Head, "name")
	for _, r := range t.Rows {
		if len(r) == 0 || r[0] != "Y" {
			continue
		}
		if id >= 0 && id < len(r) {
			r[id] = ""
		}
		if name >= 0 && name < len(r) {
			r[name] = notDisclosed
		}
	}
	return t, nil
}

// Filter keeps the rows whose column col lists value among its "; "
// separated values; a column the table lacks keeps every row.
func (t *Table) Filter(col, value string) {
	i := slices.Index(t.Head, col)
	if i < 0 || value == "" {
		return
	}
	t.Rows = slices.DeleteFunc(t.Rows, func(r []string) bool {
		return i >= len(r) || !slices.Contains(strings.Split(r[i], "; "), value)
	})
}

// PatientIDs are the ids of the table's "patient id" column (the
// children disclosed by showing it).
func (t *Table) PatientIDs() []int64 {
	i := slices.Index(t.Head, "patient id")
	if i < 0 {
		i = slices.Index(t.Head, "patient_id")
	}
	var out []int64
	for _, r := range t.Rows {
		if i >= 0 && i < len(r) {
			if id, err := strconv.ParseInt(r[i], 10, 64); err == nil {
				out = append(out, id)
			}
		}
	}
	return out
}

// CSV writes the table back as CSV.
func (t *Table) CSV() []byte {
	var b bytes.Buffer
	cw := csv.NewWriter(&b)
	cw.Write(t.Head)
	cw.WriteAll(t.Rows)
	return b.Bytes()
}
