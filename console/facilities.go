package console

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/iisproject/iis/facility"
	"github.com/iisproject/iis/hl7/immz"
)

type facilitiesData struct {
	Settings []facility.Settings
	Edit     facility.Settings
	// Detections are the data quality detections this IIS raises, with the
	// edited facility's severity of each (shown when a facility is chosen).
	Detections []detectionRow
}

// detectionRow is one MQE detection on the facilities page.
type detectionRow struct {
	immz.Detection
	Facility string // the facility's severity ("" = default)
}

// detectionRows lists the detections this IIS raises with fac's severities.
func detectionRows(sev facility.Severities) []detectionRow {
	var rows []detectionRow
	for _, d := range immz.Detections() {
		if d.Rule == "" {
			continue
		}
		r := detectionRow{Detection: d}
		if s, ok := sev[d.Code]; ok {
			r.Facility = string(rune(s))
		}
		rows = append(rows, r)
	}
	return rows
}

func (c *Console) facilitiesPage(w http.ResponseWriter, r *http.Request, s *session) {
	if c.cfg.Facilities == nil {
		c.fail(w, r, s, http.StatusNotFound, "Facility settings are not enabled on this server.", nil)
		return
	}
	d := facilitiesData{Settings: c.cfg.Facilities.List()}
	if f := r.URL.Query().Get("facility"); f != "" {
		d.Edit = c.cfg.Facilities.Get(f)
		d.Detections = detectionRows(c.cfg.Facilities.Severities(f))
	}
	c.render(w, r, s, "facilities", page{Title: "Facilities", Nav: "facilities", Data: d})
}

func (c *Console) saveFacility(w http.ResponseWriter, r *http.Request, s *session) {
	if c.cfg.Facilities == nil {
		c.fail(w, r, s, http.StatusNotFound, "Facility settings are not enabled on this server.", nil)
		return
	}
	st := facility.Settings{Facility: strings.TrimSpace(r.PostFormValue("facility")), Note: strings.TrimSpace(r.PostFormValue("note")), UpdatedBy: s.user}
	if r.PostFormValue("processing_default") == "" {
		st.ProcessingIDs = []string{}
		for _, p := range r.PostForm["processing_id"] {
			st.ProcessingIDs = append(st.ProcessingIDs, p)
		}
	}
	switch r.PostFormValue("warnings_as_ae") {
	case "yes":
		t := true
		st.WarningsAsAE = &t
	case "no":
		f := false
		st.WarningsAsAE = &f
	}
	if err := c.cfg.Facilities.Put(r.Context(), st); err != nil {
		c.fail(w, r, s, http.StatusBadRequest, "The settings were not saved: "+err.Error(), err)
		return
	}
	detail := "facility " + st.Facility + ": processing IDs "
	if st.ProcessingIDs == nil {
		detail += "server default"
	} else {
		detail += strings.Join(st.ProcessingIDs, ",")
	}
	if st.WarningsAsAE != nil {
		if *st.WarningsAsAE {
			detail += "; warnings answered AE"
		} else {
			detail += "; warnings answered AA"
		}
	}
	if err := c.audit(r.Context(), s.user, "facility-settings", nil, nil, detail); err != nil {
		c.log.Error("console: facility change not audited", "err", err)
	}
	http.Redirect(w, r, "/console/facilities?flash="+url.QueryEscape("Saved the settings of "+st.Facility+"."), http.StatusSeeOther)
}

// saveSeverity sets a facility's severity of one MQE detection (empty:
// the default) and audits the change.
func (c *Console) saveSeverity(w http.ResponseWriter, r *http.Request, s *session) {
	if c.cfg.Facilities == nil {
		c.fail(w, r, s, http.StatusNotFound, "Facility settings are not enabled on this server.", nil)
		return
	}
	fac, code := strings.TrimSpace(r.PostFormValue("facility")), strings.TrimSpace(r.PostFormValue("detection"))
	var sev immz.Severity
	if v := r.PostFormValue("severity"); v != "" {
		var err error
		if sev, err = immz.ParseSeverity(v); err != nil {
			c.fail(w, r, s, http.StatusBadRequest, "The severity was not saved: "+err.Error(), err)
			return
		}
	}
	if err := c.cfg.Facilities.SetSeverity(r.Context(), fac, code, sev, s.user); err != nil {
		c.fail(w, r, s, http.StatusBadRequest, "The severity was not saved: "+err.Error(), err)
		return
	}
	detail := "facility " + fac + ": " + code + " severity "
	if sev == 0 {
		detail += "default"
	} else {
		detail += string(rune(sev))
	}
	if err := c.audit(r.Context(), s.user, "facility-severity", nil, nil, detail); err != nil {
		c.log.Error("console: severity change not audited", "err", err)
	}
	http.Redirect(w, r, "/console/facilities?facility="+url.QueryEscape(fac)+"&flash="+url.QueryEscape("Saved "+code+" for "+fac+".")+"#detections", http.StatusSeeOther)
}
