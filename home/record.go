package home

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/iisproject/iis"
	"github.com/iisproject/iis/accounts"
	"github.com/iisproject/iis/certificate"
	"github.com/iisproject/iis/forecast"
	"github.com/iisproject/iis/registry"
)

// recordView is the Immunization Home of one patient.
type recordView struct {
	ID          int64
	Name        string
	OtherNames  []string
	BirthDate   string
	Age         string
	Sex         string
	Birth       string
	Mother      string
	Identifiers []string
	Addresses   []string
	Guardians   []string
	Groups      []groupView
	Other       []doseView // doses of no vaccine group the release knows
	Refusals    []refusalView
	Immunities  []certificate.Immunity
	Timeline    template.HTML
	OptedOut    bool
	OptOuts     []registry.OptOut
	Program     bool
	CanEnter    bool
	CanPrint    bool
	AsOf        string
}

// groupView is one vaccine group: the Recommender's verdict and its doses.
type groupView struct {
	Name        string
	Status      string // due, overdue, not yet due, complete, aged out, contraindicated, immune, not recommended
	Class       string
	DoseNumber  int
	Earliest    string
	Recommended string
	PastDue     string
	Latest      string
	Reason      string
	Doses       []doseView
}

// doseView is one consolidated dose as evaluated for a vaccine group.
type doseView struct {
	Date    string
	Vaccine string
	CVX     string
	Lot     string
	Maker   string
	Valid   bool
	Status  string
	Reason  string
	Sources []sourceView
}

type sourceView struct {
	ID       int64 // the report's row, for data entry's correction page
	Own      bool  // reported by the user's clinic: it may correct it
	Facility string
	Received string
	How      string
	Role     string // "kept" (its details are the event's) or "duplicate"
}

type refusalView struct {
	Date, Vaccine, Reasons string
}

// recordPage serves the Immunization Home of the patient the path names.
func (h *Home) recordPage(w http.ResponseWriter, r *http.Request, v *visitor) {
	id, ok := h.needAccess(w, r, v, accounts.FullRecord)
	if !ok {
		return
	}
	org, err := h.org(r.Context(), v)
	if err != nil {
		h.internal(w, r, v, err)
		return
	}
	view, err := h.record(r.Context(), id, org.FacilityID)
	if err != nil {
		h.internal(w, r, v, err)
		return
	}
	view.Program, view.CanEnter = v.User.Role.Program(), entersData(v.User.Role)
	view.CanPrint = h.cfg.Certificates != nil
	if err := h.disclose(r.Context(), v, "Immunization Home: demographics, doses, evaluation and forecast", id); err != nil {
		h.internal(w, r, v, err)
		return
	}
	h.render(w, http.StatusOK, "record", page{Title: view.Name, V: v, Flash: flashes[r.URL.Query().Get("done")], Data: view})
}

// record reads a patient's record and evaluates it.
// facility is the user's clinic's (empty for others): its own reports are
// linked to data entry's correction page.
func (h *Home) record(ctx context.Context, id int64, facility string) (*recordView, error) {
	p, vs, err := h.reg.History(ctx, id)
	if err != nil {
		return nil, err
	}
	sources, err := h.reg.DoseSources(ctx, id)
	if err != nil {
		return nil, err
	}
	optOuts, err := h.reg.OptOutHistory(ctx, id)
	if err != nil {
		return nil, err
	}
	optedOut, err := h.reg.OptedOut(ctx, id)
	if err != nil {
		return nil, err
	}
	today := h.cfg.Now()
	view := demographics(id, &p, today)
	view.OptOuts, view.OptedOut = optOuts, optedOut
	view.AsOf = today.Format(time.DateOnly)
	fc := h.cfg.Forecaster
	in := fc.FromRecord(&p, vs)
	res := fc.Forecast(in.Patient, in.Doses, today)
	for i := range sources {
		if facility == "" || sources[i].Facility != facility {
			sources[i].SourceID = 0
		}
	}
	view.Groups, view.Other = groups(&res, &in, vs, sources, fc, today)
	view.Refusals = refusals(in.Refusals, fc)
	view.Immunities = certificate.ImmunitiesFrom(&p, vs)
	view.Timeline = timeline(p.BirthDate, today, view.Groups, &res, &in, vs)
	return view, nil
}

func demographics(id int64, p *iis.Patient, today time.Time) *recordView {
	v := &recordView{ID: id, Sex: sexLabel(p.Sex), Birth: birthLabel(p.MultipleBirth, p.BirthOrder)}
	for i, n := range p.Names {
		s := strings.Join(strings.Fields(n.Given+" "+n.Middle+" "+n.Family+" "+n.Suffix), " ")
		if i == 0 {
			v.Name = s
		} else if s != "" && s != v.Name {
			v.OtherNames = append(v.OtherNames, s)
		}
	}
	if !p.BirthDate.IsZero() {
		v.BirthDate = p.BirthDate.Format(time.DateOnly)
		v.Age = age(p.BirthDate, today)
	}
	v.Mother = strings.TrimSpace(p.MotherMaidenName.Given + " " + p.MotherMaidenName.Family)
	for _, x := range p.Identifiers {
		label := strings.TrimSpace(x.Type + " " + x.Authority)
		if label != "" {
			label = " (" + label + ")"
		}
		v.Identifiers = append(v.Identifiers, x.Value+label)
	}
	for _, a := range p.Addresses {
		var parts []string
		for _, s := range []string{a.Street, a.Other, a.City, strings.TrimSpace(a.State + " " + a.Zip)} {
			if s = strings.TrimSpace(s); s != "" {
				parts = append(parts, s)
			}
		}
		v.Addresses = append(v.Addresses, strings.Join(parts, ", "))
	}
	for _, g := range p.Guardians {
		s := strings.TrimSpace(g.Name.Given + " " + g.Name.Family)
		if rel := relationshipLabel(g.Relationship.Code); rel != "" {
			s += " (" + rel + ")"
		}
		for _, ph := range g.Phones {
			if n := ph.Number(); n != "" {
				s += ", " + n
			}
		}
		v.Guardians = append(v.Guardians, s)
	}
	return v
}

func relationshipLabel(code string) string {
	switch strings.ToUpper(code) {
	case "MTH":
		return "mother"
	case "FTH":
		return "father"
	case "GRD":
		return "guardian"
	case "PAR":
		return "parent"
	case "":
		return ""
	}
	return strings.ToLower(code)
}

// age is a person's age in years and months (weeks for a baby).
func age(dob, today time.Time) string {
	months := (today.Year()-dob.Year())*12 + int(today.Month()-dob.Month())
	if today.Day() < dob.Day() {
		months--
	}
	switch {
	case months < 0:
		return ""
	case months < 2:
		return fmt.Sprintf("%d weeks", int(today.Sub(dob).Hours()/24/7))
	case months < 24:
		return fmt.Sprintf("%d months", months)
	}
	return fmt.Sprintf("%d years %d months", months/12, months%12)
}

// groups lays out the forecast per vaccine group with the group's doses,
// each with its evaluation and its sources; the doses no group evaluated
// are returned apart.
func groups(res *forecast.Result, in *forecast.Record, vs []iis.Vaccination, sources []registry.DoseSource, fc *forecast.Engine, today time.Time) ([]groupView, []doseView) {
	inGroup := make([]bool, len(in.Doses))
	out := make([]groupView, 0, len(res.Groups))
	for _, g := range res.Groups {
		gv := groupView{Name: g.VaccineGroup, DoseNumber: g.DoseNumber, Reason: g.Reason,
			Earliest: dateOf(g.Earliest), Recommended: dateOf(g.Recommended), PastDue: dateOf(g.PastDue), Latest: dateOf(g.Latest)}
		gv.Status, gv.Class = groupStatus(&g, today)
		for _, gd := range g.Doses {
			inGroup[gd.Dose] = true
			d := doseOf(&vs[in.DoseOf[gd.Dose]], fc, sources)
			d.Valid, d.Status, d.Reason = gd.Status == forecast.Valid, gd.Status.String(), gd.Reason
			gv.Doses = append(gv.Doses, d)
		}
		out = append(out, gv)
	}
	var other []doseView
	for i, seen := range inGroup {
		if !seen {
			d := doseOf(&vs[in.DoseOf[i]], fc, sources)
			d.Status, d.Reason = "Not evaluated", "no vaccine group of the CDSi release contains this vaccine"
			other = append(other, d)
		}
	}
	return out, other
}

// groupStatus words the Recommender's verdict for a group.
func groupStatus(g *forecast.GroupForecast, today time.Time) (string, string) {
	switch g.Status {
	case forecast.Complete:
		return "complete", "complete"
	case forecast.Immune:
		return "immune", "immune"
	case forecast.Contraindicated:
		return "contraindicated", "contraindicated"
	case forecast.AgedOut:
		return "aged out", "agedout"
	case forecast.NotRecommended:
		return "not recommended", "notrecommended"
	}
	t := forecast.MakeDate(today.Year(), int(today.Month()), today.Day())
	switch {
	case g.PastDue != forecast.NoDate && t >= g.PastDue:
		return "overdue", "overdue"
	case g.Recommended != forecast.NoDate && t >= g.Recommended, g.Recommended == forecast.NoDate && g.Earliest != forecast.NoDate && t >= g.Earliest:
		return "due", "due"
	}
	return "not yet due", "notyet"
}

func dateOf(d forecast.Date) string {
	if d == forecast.NoDate {
		return ""
	}
	return d.String()
}

func doseOf(v *iis.Vaccination, fc *forecast.Engine, sources []registry.DoseSource) doseView {
	d := doseView{Date: v.AdministeredAt.Format(time.DateOnly), CVX: v.CVX, Vaccine: fc.VaccineName(v.CVX), Maker: v.Manufacturer.Code}
	if d.Vaccine == "" {
		d.Vaccine = v.Vaccine.Text
	}
	if len(v.Lots) > 0 {
		d.Lot = v.Lots[0]
	}
	for _, s := range sources {
		if s.CVX == v.CVX && s.Date.Equal(v.AdministeredAt) {
			role := "kept"
			if s.Consolidation == "duplicate" {
				role = "duplicate"
			}
			d.Sources = append(d.Sources, sourceView{ID: s.SourceID, Own: s.SourceID != 0, Facility: s.Facility, Received: s.ReceivedAt.Local().Format("2006-01-02 15:04"),
				How: transportLabel(s.Transport, s.Historical), Role: role})
		}
	}
	return d
}

func transportLabel(t string, historical bool) string {
	var s string
	switch t {
	case "mllp":
		s = "VXU over MLLP"
	case "soap":
		s = "VXU over SOAP"
	case "console":
		s = "VXU resent from the operations console"
	case "web", "entry":
		s = "data entry"
	case "":
		s = "VXU"
	default:
		s = "VXU (" + t + ")"
	}
	if historical {
		s += ", historical"
	}
	return s
}

func refusals(rs []forecast.Refusal, fc *forecast.Engine) []refusalView {
	out := make([]refusalView, 0, len(rs))
	for _, r := range rs {
		rv := refusalView{Date: r.Date.Format(time.DateOnly), Vaccine: fc.VaccineName(r.CVX)}
		if rv.Vaccine == "" {
			rv.Vaccine = "CVX " + r.CVX
		}
		var reasons []string
		for _, c := range r.Reasons {
			reasons = append(reasons, refusalReason(c))
		}
		rv.Reasons = strings.Join(reasons, ", ")
		out = append(out, rv)
	}
	return out
}

// refusalReason words an RXA-18 code (NIP002).
func refusalReason(code string) string {
	switch code {
	case "00":
		return "parental decision"
	case "01":
		return "religious exemption"
	case "02":
		return "other"
	case "03":
		return "patient decision"
	}
	return code
}
