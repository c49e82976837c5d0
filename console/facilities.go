package console

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/iisproject/iis/facility"
)

type facilitiesData struct {
	Settings []facility.Settings
	Edit     facility.Settings
}

func (c *Console) facilitiesPage(w http.ResponseWriter, r *http.Request, s *session) {
	if c.cfg.Facilities == nil {
		c.fail(w, r, s, http.StatusNotFound, "Facility settings are not enabled on this server.", nil)
		return
	}
	d := facilitiesData{Settings: c.cfg.Facilities.List()}
	if f := r.URL.Query().Get("facility"); f != "" {
		d.Edit = c.cfg.Facilities.Get(f)
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
