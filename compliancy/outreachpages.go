package compliancy

import (
	"encoding/csv"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/iisproject/iis/accounts"
	"github.com/iisproject/iis/portal"
	"github.com/iisproject/iis/registry"
)

// outreachView is what outreach.html gets.
type outreachView struct {
	AsOf, Months, Area string
	AreaNames          []string
	Ran                bool
	Result             *Outreach
	Names              map[int64]string
	CSV                template.URL
}

const programOnly = "The outreach lists and the IAP area map are for the immunization program's staff."

// outreach serves /compliancy/outreach (program staff): the late children
// by town, grouped by IAP area.
func (p *Pages) outreach(w http.ResponseWriter, r *http.Request, u accounts.User, csrf string) {
	const title = "Outreach lists by IAP area"
	q := r.URL.Query()
	now := p.cfg.Now().UTC()
	v := &outreachView{AsOf: cmpOr(strings.TrimSpace(q.Get("asof")), now.Format(time.DateOnly)), Months: cmpOr(strings.TrimSpace(q.Get("months")), "36"),
		Area: strings.TrimSpace(q.Get("area"))}
	if !u.Role.Program() {
		p.fail(w, u, csrf, "outreach", title, http.StatusForbidden, programOnly, v)
		return
	}
	areas, err := p.cfg.Registry.IAPAreas(r.Context())
	if err != nil {
		p.internal(w, u, csrf, err)
		return
	}
	byTown := map[string]string{}
	for _, a := range areas {
		byTown[a.Town] = a.Area
		if len(v.AreaNames) == 0 || v.AreaNames[len(v.AreaNames)-1] != a.Area {
			v.AreaNames = append(v.AreaNames, a.Area)
		}
	}
	v.AreaNames = append(v.AreaNames, NoArea)
	asOf, err := time.Parse(time.DateOnly, v.AsOf)
	if err != nil {
		p.fail(w, u, csrf, "outreach", title, http.StatusBadRequest, "The date must be a date like 2025-06-30.", v)
		return
	}
	months, err := strconv.Atoi(v.Months)
	if err != nil || months < 1 || months > 216 {
		p.fail(w, u, csrf, "outreach", title, http.StatusBadRequest, "The age limit must be a whole number of months from 1 to 216.", v)
		return
	}
	if q.Get("run") == "" && q.Get("format") != "csv" {
		p.pages.Render(w, http.StatusOK, "outreach", u, csrf, portal.Page{Title: title, Nav: "compliancy", Data: v})
		return
	}
	res, err := p.lists.Outreach(r.Context(), asOf, months, byTown, v.Area)
	if err != nil {
		p.internal(w, u, csrf, err)
		return
	}
	late := 0
	var rows []Row
	for _, a := range res.Areas {
		late += a.Late
		for _, t := range a.Towns {
			rows = append(rows, t.Rows...)
		}
	}
	csvOut := q.Get("format") == "csv"
	detail := fmt.Sprintf("compliancy outreach list as of %s, under %d months, area %q: %d children, %d late", v.AsOf, months, v.Area, res.Considered, late)
	if csvOut {
		detail += " (CSV)"
	}
	if err := p.cfg.Registry.RecordAudit(r.Context(), registry.AuditEntry{Actor: u.Actor(), Action: "compliancy-report", Detail: detail}); err != nil {
		p.internal(w, u, csrf, err)
		return
	}
	views, err := p.named(r.Context(), rows, true)
	if err != nil {
		p.internal(w, u, csrf, err)
		return
	}
	if csvOut {
		outreachCSV(w, res, views, byTown)
		return
	}
	v.Names = map[int64]string{}
	for _, rv := range views {
		v.Names[rv.PatientID] = rv.Name
	}
	q.Set("format", "csv")
	q.Del("run")
	v.Ran, v.Result, v.CSV = true, res, template.URL("?"+q.Encode())
	p.pages.Render(w, http.StatusOK, "outreach", u, csrf, portal.Page{Title: title, Nav: "compliancy", Data: v})
}

func outreachCSV(w http.ResponseWriter, res *Outreach, views []rowView, byTown map[string]string) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="outreach-`+res.AsOf.Format(time.DateOnly)+`.csv"`)
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"IAP area", "town", "patient id", "name", "birth date", "clinic", "county", "overdue"})
	for _, r := range views {
		area := cmpOr(byTown[strings.ToLower(strings.TrimSpace(r.Town))], NoArea)
		_ = cw.Write([]string{csvSafe(area), csvSafe(r.Town), strconv.FormatInt(r.PatientID, 10), csvSafe(r.Name), r.BirthDate.Format(time.DateOnly),
			csvSafe(r.Facility), csvSafe(r.County), csvSafe(strings.Join(r.Missing, "; "))})
	}
	cw.Flush()
}

// iapView is what iap.html gets.
type iapView struct {
	Areas []registry.IAPArea
}

// iap serves /compliancy/iap (program staff): the town → IAP area map.
func (p *Pages) iap(w http.ResponseWriter, r *http.Request, u accounts.User, csrf string) {
	p.showIAP(w, r, u, csrf, http.StatusOK, "", "")
}

func (p *Pages) showIAP(w http.ResponseWriter, r *http.Request, u accounts.User, csrf string, status int, flash, msg string) {
	const title = "IAP areas"
	if !u.Role.Program() {
		p.fail(w, u, csrf, "iap", title, http.StatusForbidden, programOnly, &iapView{})
		return
	}
	areas, err := p.cfg.Registry.IAPAreas(r.Context())
	if err != nil {
		p.internal(w, u, csrf, err)
		return
	}
	p.pages.Render(w, status, "iap", u, csrf, portal.Page{Title: title, Nav: "compliancy", Flash: flash, Error: msg, Data: &iapView{Areas: areas}})
}

// setIAP maps a town to an area (POST /compliancy/iap; a blank area
// removes the town), audited by the store.
func (p *Pages) setIAP(w http.ResponseWriter, r *http.Request, u accounts.User, csrf string) {
	if !u.Role.Program() {
		p.fail(w, u, csrf, "iap", "IAP areas", http.StatusForbidden, programOnly, &iapView{})
		return
	}
	town, area := strings.TrimSpace(r.PostFormValue("town")), strings.TrimSpace(r.PostFormValue("area"))
	if town == "" || len(town) > 100 || len(area) > 100 {
		p.showIAP(w, r, u, csrf, http.StatusBadRequest, "", "Give a town (and its area, up to 100 characters; a blank area removes the town from the map).")
		return
	}
	if err := p.cfg.Registry.SetIAPArea(r.Context(), town, area, u.Actor()); err != nil {
		p.internal(w, u, csrf, err)
		return
	}
	http.Redirect(w, r, "/compliancy/iap", http.StatusSeeOther)
}
