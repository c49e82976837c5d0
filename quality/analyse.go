package quality

import (
	"slices"
	"strings"
	"time"

	"github.com/iisproject/iis"
	"github.com/iisproject/iis/hl7"
	"github.com/iisproject/iis/hl7/immz"
	"github.com/iisproject/iis/registry"
)

// Analysis is what one stored message contributes to its facility's
// report.
type Analysis struct {
	ReportID   int64
	Facility   string
	Day        time.Time // the day received, in the report's time zone (midnight UTC of that date)
	Received   time.Time
	ControlID  string
	Kind       string
	Ack        string
	HasError   bool
	HasWarning bool
	Doses      Completeness
	Findings   []Finding
	// Unreadable counts the ERR entries that could not be read (kept out
	// of the report).
	Unreadable int
}

// Completeness counts a message's (or a period's) doses as the CDC's
// vaccine-level completeness measures do: the doses given (RXA-20 CP or
// PA, not a delete), administered (RXA-9 00) or historical, and of the
// administered ones, how many carry each element.
type Completeness struct {
	Doses, Administered, Historical int
	Lot, Manufacturer, VIS          int
	Eligibility, FundingSource      int
}

// Finding is one detection in one message: where, and what was sent there.
type Finding struct {
	Detection string
	Severity  string
	Positions []string
	Sent      string
}

// decoder reads every stored VXU whatever its processing ID: the
// facility's own settings decided whether it was accepted.
var decoder = immz.New(immz.Config{ProcessingIDs: []string{"P", "T", "D"}})

// Analyse reads one stored message: its findings (from the ACK's ERR
// entries, with the values sent at their positions) and, for a VXU, the
// completeness of its doses. loc is the time zone of the report's days.
func Analyse(m registry.ReceivedMessage, loc *time.Location) Analysis {
	y, mo, d := m.Received.In(loc).Date()
	a := Analysis{ReportID: m.ID, Facility: m.Facility, Day: time.Date(y, mo, d, 0, 0, 0, 0, time.UTC),
		Received: m.Received, ControlID: m.ControlID, Kind: m.Kind, Ack: m.Ack}
	var msg *hl7.Message
	if m.Kind == "vxu" || m.Kind == "rejected" {
		res := decoder.Decode(m.Raw)
		msg = res.Message()
		if m.Kind == "vxu" && res.VXU != nil {
			a.Doses = completeness(res.VXU.Vaccinations)
		}
	}
	if msg == nil {
		msg, _ = hl7.Parse(m.Raw)
	}
	a.Findings, a.Unreadable = findings(m.Issues, msg)
	for _, f := range a.Findings {
		a.HasError = a.HasError || f.Severity == "E"
		a.HasWarning = a.HasWarning || f.Severity == "W"
	}
	if m.Ack == "AR" {
		a.HasError = true
	}
	return a
}

// completeness counts doses and the elements of the administered ones.
func completeness(vs []iis.Vaccination) Completeness {
	var c Completeness
	for i := range vs {
		v := &vs[i]
		if v.Action == "D" || v.CompletionStatus != "" && v.CompletionStatus != "CP" && v.CompletionStatus != "PA" {
			continue
		}
		c.Doses++
		if v.Historical {
			c.Historical++
			continue
		}
		c.Administered++
		if len(v.Lots) > 0 && strings.TrimSpace(v.Lots[0]) != "" {
			c.Lot++
		}
		if v.Manufacturer.Code != "" {
			c.Manufacturer++
		}
		if slices.ContainsFunc(v.VIS, func(s iis.VIS) bool { return !s.Document.IsZero() || !s.Published.IsZero() }) {
			c.VIS++
		}
		if !v.FundingEligibility.IsZero() {
			c.Eligibility++
		}
		if !v.FundingSource.IsZero() {
			c.FundingSource++
		}
	}
	return c
}

// add adds o to c.
func (c *Completeness) add(o Completeness) {
	c.Doses += o.Doses
	c.Administered += o.Administered
	c.Historical += o.Historical
	c.Lot += o.Lot
	c.Manufacturer += o.Manufacturer
	c.VIS += o.VIS
	c.Eligibility += o.Eligibility
	c.FundingSource += o.FundingSource
}

// findings groups a message's ERR entries by detection and severity, with
// the values sent at their positions (msg may be nil).
func findings(issues []string, msg *hl7.Message) (out []Finding, unreadable int) {
	idx := map[[2]string]int{}
	for _, s := range issues {
		e, err := ParseEntry(s)
		if err != nil {
			unreadable++
			continue
		}
		k := [2]string{e.Detection(), e.Severity}
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, Finding{Detection: k[0], Severity: k[1]})
		}
		f := &out[i]
		if e.Position != "" && !slices.Contains(f.Positions, e.Position) {
			f.Positions = append(f.Positions, e.Position)
		}
	}
	for i := range out {
		out[i].Sent = sentAt(msg, out[i].Positions)
	}
	return out, unreadable
}

// shownSegments are the segments whose values a report quotes: the
// header, the orders, doses and observations. The patient's own segments
// (PID, PD1, NK1, …) are never quoted: the message page shows them to
// those who open it.
var shownSegments = []string{"MSH", "ORC", "RXA", "RXR", "OBX", "QAK", "MSA"}

const (
	maxSentValues = 3
	maxSentBytes  = 60
)

// sentAt returns the distinct values at positions in every occurrence of
// their segment, as sent (escaped HL7), " | " between them; "" when
// nothing was sent there or the segment is not quoted.
func sentAt(msg *hl7.Message, positions []string) string {
	if msg == nil {
		return ""
	}
	var vals []string
	for _, p := range positions {
		l, err := hl7.ParseLocation(p)
		if err != nil || !slices.Contains(shownSegments, l.Segment) {
			continue
		}
		for occ := 1; occ <= msg.Count(l.Segment) && len(vals) < maxSentValues; occ++ {
			l.Occurrence = occ
			v := string(msg.At(l).Bytes())
			if len(v) > maxSentBytes {
				v = v[:maxSentBytes] + "…"
			}
			v = immz.SafeText(v)
			if v != "" && !slices.Contains(vals, v) {
				vals = append(vals, v)
			}
		}
	}
	return strings.Join(vals, " | ")
}
