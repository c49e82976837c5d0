package accountability

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/iisproject/iis/accounts"
	"github.com/iisproject/iis/portal"
	"github.com/iisproject/iis/registry"
)

// RecallColumns are the columns of the lot recall CSV.
var RecallColumns = []string{"patient_id", "family_name", "given_name", "birth_date", "clinic", "administered_on", "cvx", "lot", "mvx",
	"historical", "opted_out_or_protected"}

// shownRows bounds the rows the recall page lists (the CSV has them all).
const shownRows = 500

// recallView is what the recall template gets.
type recallView struct {
	Program            bool
	Lot, MVX, From, To string
	Clinic             string
	Asked              bool
	Rows               []registry.LotRecallRow
	Found              int
	Query              string
}

// search reads the recall search the request asks for; asked is false
// when the form is empty (the page shows only the form).
func (pg *Pages) search(r *http.Request, u accounts.User) (*recallView, error) {
	v := &recallView{Program: u.Role.Program(), Lot: strings.TrimSpace(r.FormValue("lot")), MVX: strings.TrimSpace(r.FormValue("mvx")),
		From: strings.TrimSpace(r.FormValue("from")), To: strings.TrimSpace(r.FormValue("to"))}
	clinic, err := pg.clinicOf(r.Context(), u, r)
	if err != nil {
		return v, err
	}
	v.Clinic = clinic
	if v.Lot == "" && v.MVX == "" && v.From == "" && v.To == "" {
		return v, nil
	}
	v.Asked = true
	q := registry.LotRecallQuery{Lot: v.Lot, MVX: v.MVX, Clinic: clinic, Undisclosed: v.Program}
	if q.From, err = optDate(v.From, "from"); err != nil {
		return v, err
	}
	if q.To, err = optDate(v.To, "to"); err != nil {
		return v, err
	}
	if !q.To.IsZero() {
		q.To = q.To.AddDate(0, 0, 1) // the last day included
	}
	vals := url.Values{"lot": {v.Lot}, "mvx": {v.MVX}, "from": {v.From}, "to": {v.To}}
	if v.Program && clinic != "" {
		vals.Set("clinic", clinic)
	}
	v.Query = vals.Encode()
	v.Rows, err = pg.cfg.Registry.LotRecall(r.Context(), q)
	v.Found = len(v.Rows)
	return v, err
}

func optDate(s, what string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return t, fmt.Errorf("%w: the %s date must be YYYY-MM-DD", errInput, what)
	}
	return t, nil
}

func auditDetail(v *recallView) string {
	return fmt.Sprintf("lot=%q mvx=%q from=%s to=%s clinic=%s patients=%d", registry.LotRecallKey(v.Lot), strings.ToUpper(v.MVX), v.From, v.To, v.Clinic, v.Found)
}

// recall shows the search form and, when asked, its patients.
func (pg *Pages) recall(w http.ResponseWriter, r *http.Request, u accounts.User, csrf string) {
	v, err := pg.search(r, u)
	status, msg := http.StatusOK, ""
	if err != nil {
		status, msg = pg.failure("lot recall", err)
	} else if v.Asked {
		pg.audit(r.Context(), u, "lot-recall", auditDetail(v))
	}
	if len(v.Rows) > shownRows {
		v.Rows = v.Rows[:shownRows]
	}
	pg.tmpl.Render(w, status, "lotrecall", u, csrf, portal.Page{Title: "Lot recall", Nav: "lotrecall", Error: msg, Data: v})
}

// recallCSV sends the search's patients as CSV (RecallColumns).
func (pg *Pages) recallCSV(w http.ResponseWriter, r *http.Request, u accounts.User, csrf string) {
	v, err := pg.search(r, u)
	if err == nil && !v.Asked {
		err = fmt.Errorf("%w: give a lot number, or a manufacturer (MVX) and a date range", errInput)
	}
	if err != nil {
		status, msg := pg.failure("lot recall", err)
		pg.tmpl.Render(w, status, "lotrecall", u, csrf, portal.Page{Title: "Lot recall", Nav: "lotrecall", Error: msg, Data: v})
		return
	}
	pg.audit(r.Context(), u, "lot-recall-export", auditDetail(v))
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="lot-recall.csv"`)
	cw := csv.NewWriter(w)
	_ = cw.Write(RecallColumns)
	for _, x := range v.Rows {
		_ = cw.Write([]string{strconv.FormatInt(x.PatientID, 10), csvSafe(x.Family), csvSafe(x.Given), isoDate(x.BirthDate), x.Clinic, isoDate(x.On),
			x.CVX, csvSafe(x.Lot), x.MVX, strconv.FormatBool(x.Historical), strconv.FormatBool(x.Undisclosed)})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		pg.cfg.Logger.Error("accountability: recall csv", "err", err)
	}
}
