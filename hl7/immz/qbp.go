package immz

import (
	"strconv"
	"time"

	"github.com/iisproject/iis"
)

// Query profiles (QPD-1.1 and MSH-21).
const (
	ProfileHistory           = "Z34" // Request Immunization History
	ProfileEvaluatedForecast = "Z44" // Request Evaluated History and Forecast
	defaultQuantityLimit     = 10
	maxQuantityLimit         = 100
)

// Query is a decoded QBP^Q11 (Z34 or Z44).
type Query struct {
	Profile          string // Z34 or Z44 (QPD-1.1)
	Tag              string // QPD-2, echoed in QAK-1
	Identifiers      []iis.Identifier
	Name             iis.Name
	MotherMaidenName iis.Name
	BirthDate        time.Time
	Sex              string
	Addresses        []iis.Address
	Phones           []iis.Phone
	MultipleBirth    string
	BirthOrder       int
	// ResponseModality is RCP-1 (I immediate); Limit is RCP-2.1, the most
	// candidates the sender accepts (default 10).
	ResponseModality string
	Limit            int
}

// qbp decodes and validates a QBP^Q11: MSH QPD RCP.
func (d *decoder) qbp() {
	d.startDates()
	d.shapeAll()
	qpd, ok := d.m.Segment("QPD", 1)
	if !ok {
		d.add(Issue{Location: loc("QPD", 1, 0), Code: CodeSegmentSequence, Severity: Error, AppCode: AppRequiredData, Scope: ScopeMessage,
			Message: "QPD segment is required - query rejected", Rule: "QPD required"})
		return
	}
	q := &Query{Limit: defaultQuantityLimit}
	var fb fieldBuf
	f := split(qpd, &fb)
	reject := func(field int, code, app int, msg, rule string) {
		d.add(Issue{Location: loc("QPD", 1, field), Code: code, Severity: Error, AppCode: app, Scope: ScopeMessage, Message: msg, Rule: rule})
	}
	q.Profile = d.text(f.at(1).Comp(1))
	switch q.Profile {
	case ProfileHistory, ProfileEvaluatedForecast:
	case "":
		reject(1, CodeRequiredFieldMiss, AppRequiredData, "QPD-1 message query name is required (Z34 or Z44) - query rejected", "QPD-1 required")
	default:
		reject(1, CodeTableValueNotFound, AppTableValueNotFound, "QPD-1 query "+quote(q.Profile)+" is not supported; use Z34 or Z44 - query rejected", "QPD-1 table")
	}
	q.Tag = d.text(f.at(2))
	if q.Tag == "" {
		reject(2, CodeRequiredFieldMiss, AppRequiredData, "QPD-2 query tag is required - query rejected", "QPD-2 required")
	}
	f3 := f.at(3)
	for r := 1; r <= f3.NumReps(); r++ {
		if id := d.readCX(f3.Rep(r)); id.Value != "" {
			q.Identifiers = append(q.Identifiers, id)
		}
	}
	q.Name = d.readXPN(f.at(4))
	q.MotherMaidenName = d.readXPN(f.at(5))
	if s := d.text(f.at(6).Comp(1)); s != "" {
		q.BirthDate, _ = d.date(f.at(6), loc("QPD", 1, 6), "QPD-6 patient birth date", Error, ScopeMessage, "QPD-6")
	}
	q.Sex = d.text(f.at(7))
	f8 := f.at(8)
	for r := 1; r <= f8.NumReps(); r++ {
		if a := d.readXAD(f8.Rep(r)); a != (iis.Address{}) {
			q.Addresses = append(q.Addresses, a)
		}
	}
	f9 := f.at(9)
	for r := 1; r <= f9.NumReps(); r++ {
		if ph := d.readXTN(f9.Rep(r)); ph != (iis.Phone{}) {
			q.Phones = append(q.Phones, ph)
		}
	}
	q.MultipleBirth = d.text(f.at(10))
	if o := d.text(f.at(11)); o != "" {
		q.BirthOrder, _ = strconv.Atoi(o)
	}
	if len(q.Identifiers) == 0 && (q.Name.Family == "" || q.BirthDate.IsZero()) {
		reject(3, CodeRequiredFieldMiss, AppRequiredData, "The query needs a patient identifier (QPD-3) or a name and birth date (QPD-4, QPD-6) - query rejected", "QPD patient required")
	}

	if rcp, ok := d.m.Segment("RCP", 1); ok {
		var fb fieldBuf
		f := split(rcp, &fb)
		q.ResponseModality = d.text(f.at(1))
		if l := d.text(f.at(2).Comp(1)); l != "" {
			n, err := strconv.Atoi(l)
			if err != nil || n < 1 {
				d.warn(loc("RCP", 1, 2, 1, 1), CodeDataType, AppInvalidValue, "RCP-2 quantity limit "+quote(l)+" is not a positive number; "+strconv.Itoa(defaultQuantityLimit)+" is used", "RCP-2 format")
			} else {
				q.Limit = min(n, maxQuantityLimit)
			}
		}
	}
	if !d.res.Rejected() {
		d.res.Query = q
	}
}
