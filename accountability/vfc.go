package accountability

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/iisproject/iis/accounts"
	"github.com/iisproject/iis/portal"
	"github.com/iisproject/iis/registry"
)

// VFCColumns are the columns of the VFC doses-administered CSV.
var VFCColumns = []string{"clinic", "month", "cvx", "age_group", "eligibility", "doses"}

// vfcView is what the VFC report's template gets.
type vfcView struct {
	Program  bool
	Clinic   string
	From, To string // months, YYYY-MM (To included)
	Rows     []registry.VFCRow
	Total    int
	Query    string
	Asked    bool
}

// period reads the report's months (?from=, ?to=, YYYY-MM, to included;
// the last full month by default) as [from, to).
func period(r *http.Request, now time.Time) (time.Time, time.Time, error) {
	this := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	from, to := this.AddDate(0, -1, 0), this
	if s := strings.TrimSpace(r.FormValue("from")); s != "" {
		t, err := time.Parse("2006-01", s)
		if err != nil {
			return from, to, fmt.Errorf("%w: the first month must be YYYY-MM", errInput)
		}
		from, to = t, t.AddDate(0, 1, 0)
	}
	if s := strings.TrimSpace(r.FormValue("to")); s != "" {
		t, err := time.Parse("2006-01", s)
		if err != nil {
			return from, to, fmt.Errorf("%w: the last month must be YYYY-MM", errInput)
		}
		to = t.AddDate(0, 1, 0)
	}
	if !to.After(from) {
		return from, to, fmt.Errorf("%w: the last month must not come before the first", errInput)
	}
	return from, to, nil
}

// report reads the report the request asks for.
func (pg *Pages) report(r *http.Request, u accounts.User) (*vfcView, error) {
	v := &vfcView{Program: u.Role.Program()}
	clinic, err := pg.clinicOf(r.Context(), u, r)
	if err != nil {
		return v, err
	}
	from, to, err := period(r, pg.cfg.Now())
	v.Clinic, v.From, v.To = clinic, from.Format("2006-01"), to.AddDate(0, -1, 0).Format("2006-01")
	v.Query = "from=" + v.From + "&to=" + v.To
	if v.Program && clinic != "" {
		v.Query += "&clinic=" + clinic
	}
	if err != nil {
		return v, err
	}
	v.Rows, err = pg.cfg.Registry.VFCDosesAdministered(r.Context(), registry.VFCQuery{Clinic: clinic, From: from, To: to})
	for _, x := range v.Rows {
		v.Total += x.Doses
	}
	return v, err
}

// vfc shows the report.
func (pg *Pages) vfc(w http.ResponseWriter, r *http.Request, u accounts.User, csrf string) {
	v, err := pg.report(r, u)
	status, msg := http.StatusOK, ""
	if err != nil {
		status, msg = pg.failure("vfc report", err)
	}
	pg.tmpl.Render(w, status, "vfc", u, csrf, portal.Page{Title: "VFC doses administered", Nav: "vfc", Error: msg, Data: v})
}

// vfcCSV sends the report as CSV (VFCColumns).
func (pg *Pages) vfcCSV(w http.ResponseWriter, r *http.Request, u accounts.User, csrf string) {
	v, err := pg.report(r, u)
	if err != nil {
		status, msg := pg.failure("vfc report", err)
		pg.tmpl.Render(w, status, "vfc", u, csrf, portal.Page{Title: "VFC doses administered", Nav: "vfc", Error: msg, Data: v})
		return
	}
	pg.audit(r.Context(), u, "vfc-report-export", fmt.Sprintf("clinic=%s from=%s to=%s", v.Clinic, v.From, v.To))
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="vfc-doses-%s-%s.csv"`, v.From, v.To))
	cw := csv.NewWriter(w)
	_ = cw.Write(VFCColumns)
	for _, x := range v.Rows {
		_ = cw.Write([]string{x.Clinic, x.Month.Format("2006-01"), x.CVX, x.AgeGroup, x.Eligibility, strconv.Itoa(x.Doses)})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		pg.cfg.Logger.Error("accountability: vfc csv", "err", err)
	}
}
