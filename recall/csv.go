package recall

import (
	"encoding/csv"
	"fmt"
	"io"
	"strings"
	"time"
)

// csvHeader is the CSV download's first row.
var csvHeader = []string{"patient_id", "family", "given", "birth_date", "guardian", "phone", "street", "other", "city", "state", "zip",
	"status", "vaccines_due", "contacts_since_last_dose", "last_contact", "last_contact_method", "letter_language"}

// WriteCSV writes the children due, one row each; vaccines_due lists
// "group #dose status recommended-date" separated by "; ".
func WriteCSV(w io.Writer, cs []Child) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return fmt.Errorf("recall: csv: %w", err)
	}
	for i := range cs {
		c := &cs[i]
		if err := cw.Write([]string{fmt.Sprint(c.ID), safe(c.Family), safe(c.Given), isoDate(c.BirthDate), safe(c.Guardian), c.Phone,
			safe(c.Address.Street), safe(c.Address.Other), safe(c.Address.City), safe(c.Address.State), safe(c.Address.Zip),
			c.Worst().String(), DueList(c), fmt.Sprint(c.Contacts), isoDate(c.LastContact), c.LastMethod, string(c.Language)}); err != nil {
			return fmt.Errorf("recall: csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("recall: csv: %w", err)
	}
	return nil
}

// DueList words a child's groups due: "Polio #1 overdue (2024-03-15)".
func DueList(c *Child) string {
	parts := make([]string, len(c.Due))
	for i, d := range c.Due {
		parts[i] = fmt.Sprintf("%s #%d %s", d.Group, d.Dose, d.Status)
		if !d.Recommended.IsZero() {
			parts[i] += " (" + isoDate(d.Recommended) + ")"
		}
	}
	return strings.Join(parts, "; ")
}

func isoDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.DateOnly)
}

// safe keeps a spreadsheet from reading a registry value as a formula.
func safe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
