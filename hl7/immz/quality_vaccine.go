package immz

import (
	"slices"
	"strings"
	"time"

	"github.com/iisproject/iis"
	"github.com/iisproject/iis/codeset"
)

// visCheck is what a dose group's OBX said of one VIS (tied by OBX-4).
// The records are kept in the decoder (decoder.vis), not in the groups,
// which they would make larger to clear and copy. Dates are days since
// 1970 (0: none).
type visCheck struct {
	sub                           string
	seq                           int32 // OBX of the first observation
	published, presented, edition int32 // edition: of the document's barcode
	// gdti is the document's GS1 document type (0: no known document).
	gdti              int64
	document, vaccine bool
	// publishedSent and presentedSent: the date was sent (valid or not).
	publishedSent, presentedSent bool
}

// dayOf and timeOf convert between a date and its visCheck day number.
func dayOf(t time.Time) int32 {
	if t.IsZero() {
		return 0
	}
	return int32(t.Unix() / 86400)
}

func timeOf(day int32) time.Time {
	if day == 0 {
		return time.Time{}
	}
	return time.Unix(int64(day)*86400, 0).UTC()
}

// maxVIS bounds the VIS a dose group is checked for.
const maxVIS = 4

// visOf returns the VIS record of group g for OBX-4 sub-ID sub, or nil
// when the group has maxVIS already. A group's records are together in
// d.vis: a group's OBX come before the next group's.
func (d *decoder) visOf(g *group, sub string, seq int) *visCheck {
	list := d.visList(g)
	for i := range list {
		if list[i].sub == sub {
			return &list[i]
		}
	}
	if g.nvis == maxVIS {
		return nil
	}
	if int(g.vis0+g.nvis) != len(d.vis) { // another group's came between
		d.vis = append(d.vis, list...)
		g.vis0 = int32(len(d.vis)) - g.nvis
	}
	d.vis = append(d.vis, visCheck{sub: sub, seq: int32(seq)})
	g.nvis++
	return &d.vis[len(d.vis)-1]
}

// visList returns the VIS records of group g.
func (d *decoder) visList(g *group) []visCheck { return d.vis[g.vis0 : g.vis0+g.nvis] }

// rxaQuality checks an RXA's dates, vaccine, units, lots and manufacturer
// against each other, the patient and the code tables.
func (d *decoder) rxaQuality(f fields, seq int, g *group, v *iis.Vaccination, p *iis.Patient) {
	administered := !v.Historical && v.CompletionStatus == "CP" && v.CVX != codeset.CVXNoVaccineAdministered
	g.adminAt = v.AdministeredAt
	lots := d.lotQuality(f, seq, v, administered)
	d.rxaDates(seq, v, p, lots > 0)
	cvx, known := d.v.tab.lookupCVX(v.CVX)
	var products []product
	if known {
		products, g.cvx = cvx.products, cvx
		// The patient's age in days, when it is within the vaccine's
		// ages whatever the months' lengths (the usual case), is all
		// MQE0259 needs; near a bound, ageForVaccine counts the months.
		if d.on("MQE0259") && !p.BirthDate.IsZero() && !v.AdministeredAt.IsZero() {
			if s := v.AdministeredAt.Unix() - p.BirthDate.Unix(); s >= 0 && (s/86400 < cvx.okFrom || s/86400 >= cvx.okUntil) {
				d.ageForVaccine(seq, v, p, cvx)
			}
		}
	}
	d.vaccineQuality(seq, v, administered, cvx, known)
	units := d.readCode(f.at(7))
	switch {
	case strings.EqualFold(units.System, "ISO+"):
		d.detect("MQE0447", loc("RXA", seq, 7, 1, 3), CodeTableValueNotFound, AppInvalidValue, "RXA-7 units are coded in ISO+, which the CDC IG replaced by UCUM (mL^milliliter^UCUM)")
	case units.Code != "" && units.Code != "mL" && !d.v.tab.units.Contains(units.Code): // mL: the IG's unit, in the table
		if b, ok := d.say("MQE0450"); ok {
			b.s("RXA-7 units ").q(units.Code).s(" are not a UCUM unit for vaccines (e.g. mL)")
			d.raise("MQE0450", loc("RXA", seq, 7, 1, 1), CodeTableValueNotFound, AppTableValueNotFound)
		}
	}
	if !d.check {
		v.Units = units
	}
	d.manufacturerQuality(seq, v, administered, !f.at(17).IsEmpty(), products)
	d.rxaSilent(f, seq, v, administered)
}

// rxaDates checks the administration date against death, system entry,
// lot expiration, RXA-4 and, for the information source, the message date.
func (d *decoder) rxaDates(seq int, v *iis.Vaccination, p *iis.Patient, lot bool) {
	at := v.AdministeredAt
	if at.IsZero() {
		return
	}
	l := loc("RXA", seq, 3)
	if !p.DeathDate.IsZero() && at.After(p.DeathDate) {
		if b, ok := d.say("MQE0253"); ok {
			b.s("RXA-3 date administered ").date(at).s(" is after the patient's death date")
			d.raise("MQE0253", l, CodeApplicationError, AppIllogicalDate)
		}
	}
	if !v.SystemEntry.IsZero() && at.After(v.SystemEntry) {
		if b, ok := d.say("MQE0254"); ok {
			b.s("RXA-3 date administered ").date(at).s(" is after the RXA-22 system entry date")
			d.raise("MQE0254", l, CodeApplicationError, AppIllogicalDate)
		}
	}
	if !v.Expiration.IsZero() && at.After(v.Expiration) {
		if b, ok := d.say("MQE0251"); ok {
			b.s("RXA-3 date administered ").date(at).s(" is after the RXA-16 lot expiration date")
			d.raise("MQE0251", l, CodeApplicationError, AppIllogicalDate)
		}
	}
	if !v.AdministeredEnd.IsZero() && !v.AdministeredEnd.Equal(at) {
		d.detect("MQE0266", loc("RXA", seq, 4), CodeApplicationError, AppIllogicalDate, "RXA-4 date administered (end) differs from RXA-3; a vaccination has one date")
	}
	sent := d.res.Header.Time
	if sent.IsZero() || v.CompletionStatus != "CP" {
		return
	}
	if !sent.Equal(d.sent) { // the message's cut-off dates, once per message
		d.sent, d.sent30, d.sent1 = sent, sent.AddDate(0, 0, -30), sent.AddDate(0, 0, -1)
	}
	switch {
	case !v.Historical && at.Before(d.sent30):
		d.detect("MQE0327", loc("RXA", seq, 9), CodeApplicationError, AppIllogicalValue, "RXA-9 says administered (00), but RXA-3 is more than 30 days before the message: is it a historical record (01)?")
	case v.Historical && lot && !at.Before(d.sent1) && d.v.tab.informationSource.Contains(v.InformationSource.Code):
		d.detect("MQE0329", loc("RXA", seq, 9), CodeApplicationError, AppIllogicalValue, "RXA-9 says historical, but the dose has a lot number and was given the day of the message: was it administered here (00)?")
	}
}

// vaccineQuality checks RXA-5: its coding system, a vague or unknown or
// inactive CVX for a dose given now, CPT against CVX, and an NDC against
// CDC's NDC lists.
// e is the CVX's row (known: the CVX is in the table).
func (d *decoder) vaccineQuality(seq int, v *iis.Vaccination, administered bool, e *cvxInfo, known bool) {
	l := loc("RXA", seq, 5, 1, 1)
	if v.Vaccine.Code != "" && v.Vaccine.System == "" {
		d.detect("MQE0483", loc("RXA", seq, 5, 1, 3), CodeRequiredFieldMiss, AppRequiredData, "RXA-5 coding system (CWE-3) is missing; use CVX")
	}
	if v.CPT != "" {
		d.cptQuality(l, v)
	}
	if v.NDC != "" {
		d.ndcQuality(seq, v)
	}
	if !known {
		return
	}
	if v.CVX == "999" {
		d.detect("MQE0249", l, CodeApplicationError, AppInvalidValue, "RXA-5 vaccine is CVX 999 (unknown)")
		return
	}
	if !administered {
		return
	}
	switch {
	case e.status == "Non-US" || e.status == "Never Active" || e.status == "Pending":
		if b, ok := d.say("MQE0561"); ok {
			b.s("RXA-5 CVX ").q(v.CVX).s(" is ").s(e.status).s(" in the CDC's CVX table: no dose given here can be of it")
			d.raise("MQE0561", l, CodeApplicationError, AppInvalidValue)
		}
	case e.unspecified:
		if b, ok := d.say("MQE0245"); ok {
			b.s("RXA-5 CVX ").q(v.CVX).s(" is an unspecified formulation; a dose given now has a specific vaccine")
			d.raise("MQE0245", l, CodeApplicationError, AppInvalidValue)
		}
	case e.status == "Inactive" && inactiveOn(e.since, v.AdministeredAt):
		if b, ok := d.say("MQE0487"); ok {
			b.s("RXA-5 CVX ").q(v.CVX).s(" was inactive (no longer made) on the date administered (since ").s(e.since).s(")")
			d.raise("MQE0487", l, CodeApplicationError, AppInvalidValue)
		}
	}
}

// ageForVaccine checks the patient's age in whole months on the date
// administered (not before birth) against the ages at which the dose's
// vaccine can be given (MQE0259).
func (d *decoder) ageForVaccine(seq int, v *iis.Vaccination, p *iis.Patient, cvx *cvxInfo) {
	age := monthsBetween(p.BirthDate, v.AdministeredAt)
	bound, what := cvx.minAge, " is given from "
	switch {
	case cvx.minAge >= 0 && age < cvx.minAge:
	case cvx.maxAge >= 0 && age > cvx.maxAge:
		bound, what = cvx.maxAge, " is given up to "
	default:
		return
	}
	b, _ := d.say("MQE0259")
	b.s("RXA-5 CVX ").q(cvx.code).s(what).n(int(bound)).s(" months of age; the patient was ")
	if age == 0 {
		b.s("0")
	}
	b.n(int(age)).s(" months old on the date administered")
	d.raise("MQE0259", loc("RXA", seq, 3), CodeApplicationError, AppIllogicalDate)
}

// monthsBetween returns the whole months from birth to at (at not before
// birth).
func monthsBetween(birth, at time.Time) int32 {
	y1, m1, d1 := birth.Date()
	y2, m2, d2 := at.Date()
	n := (y2-y1)*12 + int(m2-m1)
	if d2 < d1 {
		n--
	}
	return int32(n)
}

// ndcQuality checks an RXA-5 NDC code against CDC's NDC lists (unit of
// use and unit of sale), in any of the NDC's written forms (see ndcKnown).
func (d *decoder) ndcQuality(seq int, v *iis.Vaccination) {
	if d.on("MQE0559") && !ndcKnown(d.v.tab.ndc, v.NDC) {
		comp := 4
		if strings.EqualFold(v.Vaccine.System, "NDC") {
			comp = 1
		}
		b, _ := d.say("MQE0559")
		b.s("RXA-5 NDC ").q(v.NDC).s(" is not a vaccine NDC in CDC's NDC lists")
		d.raise("MQE0559", loc("RXA", seq, 5, 1, comp), CodeTableValueNotFound, AppTableValueNotFound)
	}
}

// ndcLookup finds code in t (CDC's NDC lists, keyed by the 11 digits,
// 5-4-2), written as the 11 digits, with dashes in any of the 10-digit
// layouts (4-4-2, 5-3-2, 5-4-1) or the 11-digit one, or as 10 digits
// without dashes (then any of the three layouts that t knows).
func ndcLookup(t *codeset.Table, code string) (codeset.Entry, bool) {
	if strings.IndexByte(code, '-') >= 0 {
		p := strings.Split(code, "-")
		if len(p) != 3 || len(p[0]) > 5 || len(p[1]) > 4 || len(p[2]) > 2 {
			return codeset.Entry{}, false
		}
		code = zeros[:5-len(p[0])] + p[0] + zeros[:4-len(p[1])] + p[1] + zeros[:2-len(p[2])] + p[2]
	}
	switch {
	case !digits(code):
	case len(code) == 11:
		return t.Lookup(code)
	case len(code) == 10:
		for _, c := range [3]string{"0" + code, code[:5] + "0" + code[5:], code[:9] + "0" + code[9:]} {
			if e, ok := t.Lookup(c); ok {
				return e, true
			}
		}
	}
	return codeset.Entry{}, false
}

// ndcKnown reports whether code is an NDC of t in any of its written forms.
func ndcKnown(t *codeset.Table, code string) bool {
	_, ok := ndcLookup(t, code)
	return ok
}

const zeros = "00000"

// cptQuality checks an RXA-5 CPT code: known, and the vaccine of the CVX
// sent with it.
func (d *decoder) cptQuality(l ErrorLocation, v *iis.Vaccination) {
	e, ok := d.v.tab.cpt.Lookup(v.CPT)
	switch {
	case !ok:
		if b, ok := d.say("MQE0304"); ok {
			b.s("RXA-5 CPT code ").q(v.CPT).s(" is not a vaccine CPT code")
			d.raise("MQE0304", l, CodeTableValueNotFound, AppTableValueNotFound)
		}
	case v.CVX != "" && d.v.tab.cpt.Field(e, "cvx") != v.CVX:
		if b, ok := d.say("MQE0310"); ok {
			b.s("RXA-5 CPT code ").q(v.CPT).s(" is not the vaccine of CVX ").q(v.CVX)
			d.raise("MQE0310", l, CodeApplicationError, AppIllogicalValue)
		}
	}
}

// routeQuality checks RXR against the vaccine: an oral or nasal vaccine
// (CVX_ROUTE) by its route, and with no body site.
func (d *decoder) routeQuality(seq int, v *iis.Vaccination) {
	e, ok := d.v.tab.cvxRoute.Lookup(v.CVX)
	if !ok {
		return
	}
	routes := d.v.tab.cvxRoute.Field(e, "routes")
	if r := v.Route.Code; r != "" && !inList(routes, r) {
		if b, ok := d.say("MQE0276"); ok {
			b.s("RXR-1 route ").q(r).s(" is not how CVX ").q(v.CVX).s(" (").s(e.Display).s(") is given (").s(routes).s(")")
			d.raise("MQE0276", loc("RXR", seq, 1, 1, 1), CodeApplicationError, AppIllogicalValue)
		}
	}
	if v.Site.Code != "" {
		if b, ok := d.say("MQE0282"); ok {
			b.s("RXR-2 body site ").q(v.Site.Code).s(" is given for CVX ").q(v.CVX).s(", which is not injected")
			d.raise("MQE0282", loc("RXR", seq, 2, 1, 1), CodeApplicationError, AppIllogicalValue)
		}
	}
}

// inList reports whether s is one of the comma-separated items of list.
func inList(list, s string) bool {
	for list != "" {
		var item string
		item, list, _ = strings.Cut(list, ",")
		if item == s {
			return true
		}
	}
	return false
}

// placeholderLot reports whether a lot number, in any case, is a value
// sent instead of one.
func placeholderLot(lot string) bool {
	var buf [7]byte
	if len(lot) > len(buf) {
		return false
	}
	for i := 0; i < len(lot); i++ {
		buf[i] = upperASCII(lot[i])
	}
	switch string(buf[:len(lot)]) {
	case "NA", "N/A", "UNK", "UNKNOWN", "NONE", "0", "999", "?":
		return true
	}
	return false
}

// upperASCII returns c in upper case if it is an ASCII letter.
func upperASCII(c byte) byte {
	if c >= 'a' && c <= 'z' {
		c -= 'a' - 'A'
	}
	return c
}

// lotPrefix reports whether a lot number starts with "LOT", in any case.
func lotPrefix(lot string) bool {
	return len(lot) >= 3 && upperASCII(lot[0]) == 'L' && upperASCII(lot[1]) == 'O' && upperASCII(lot[2]) == 'T'
}

// lotQuality checks RXA-15: present for a dose given now, one, and shaped
// like a lot number. It returns how many lots were sent.
func (d *decoder) lotQuality(f fields, seq int, v *iis.Vaccination, administered bool) int {
	f15 := f.at(15)
	n, first := 0, ""
	for r, reps := 1, f15.NumReps(); r <= reps; r++ {
		if lot := d.text(f15.Rep(r)); lot != "" {
			if n++; n == 1 {
				first = lot
			}
			if !d.check {
				v.Lots = append(v.Lots, lot)
			}
		}
	}
	l := loc("RXA", seq, 15)
	switch {
	case n == 0:
		if administered {
			d.detect("MQE0339", l, CodeRequiredFieldMiss, AppRequiredData, "RXA-15 lot number is missing for an administered dose")
		}
		return 0
	case placeholderLot(first):
		if b, ok := d.say("MQE0338"); ok {
			b.s("RXA-15 lot number ").q(first).s(" is a placeholder, not a lot number")
			d.raise("MQE0338", l, CodeDataType, AppInvalidValue)
		}
	case lotPrefix(first):
		if b, ok := d.say("MQE0592"); ok {
			b.s("RXA-15 lot number ").q(first).s(" starts with \"LOT\"; send the lot number only")
			d.raise("MQE0592", l, CodeDataType, AppInvalidValue)
		}
	case lotJunk(first) >= 0:
		d.lotCharacters(first, l)
	case len(first) < 4:
		if b, ok := d.say("MQE0595"); ok {
			b.s("RXA-15 lot number ").q(first).s(" is shorter than 4 characters")
			d.raise("MQE0595", l, CodeDataType, AppInvalidValue)
		}
	}
	if n > 1 {
		d.detect("MQE0591", loc("RXA", seq, 15, 2), CodeDataType, AppInvalidValue, "RXA-15 has more than one lot number; one dose comes from one lot")
	}
	return n
}

// lotJunk returns the position of the first character of lot that no lot
// number has (a lot is letters, digits and hyphens), or -1.
func lotJunk(lot string) int {
	for i := 0; i < len(lot); i++ {
		c := lot[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '-') {
			return i
		}
	}
	return -1
}

// lotCharacters raises the prefix, suffix or infix detection of a lot
// number with a character no lot number has, by where it is.
func (d *decoder) lotCharacters(lot string, l ErrorLocation) {
	i := lotJunk(lot)
	det, where := "MQE0594", "inside it"
	switch {
	case i == 0:
		det, where = "MQE0592", "at its start"
	case i >= len(lot)-3:
		det, where = "MQE0593", "at its end"
	}
	if b, ok := d.say(det); ok {
		b.s("RXA-15 lot number ").q(lot).s(" has a character that is not a letter, digit or hyphen ").s(where)
		d.raise(det, l, CodeDataType, AppInvalidValue)
	}
}

// manufacturerQuality checks RXA-17: present for a dose given now, active,
// and a maker of the vaccine (the CDC product table).
// sent: RXA-17 was sent (and ignored if mvx is empty: unrecognized).
// list is the CVX's products.
func (d *decoder) manufacturerQuality(seq int, v *iis.Vaccination, administered, sent bool, list []product) {
	mvx, l := v.Manufacturer.Code, loc("RXA", seq, 17, 1, 1)
	if mvx == "" {
		if administered && !sent {
			d.detect("MQE0343", l, CodeRequiredFieldMiss, AppRequiredData, "RXA-17 manufacturer is missing for an administered dose")
		}
		return
	}
	if e, ok := d.v.tab.mvxInfo[mvx]; ok && administered && e.status == "Inactive" && inactiveOn(e.since, v.AdministeredAt) {
		if b, ok := d.say("MQE0495"); ok {
			b.s("RXA-17 manufacturer ").q(mvx).s(" was inactive on the date administered (since ").s(e.since).s(")")
			d.raise("MQE0495", l, CodeApplicationError, AppInvalidValue)
		}
	}
	if len(list) == 0 {
		return // no product of this CVX is listed: nothing to compare
	}
	made, active := false, false
	for _, p := range list {
		if p.mvx == mvx {
			made, active = true, active || p.active || !v.AdministeredAt.After(p.since)
		}
	}
	switch {
	case !made:
		if b, ok := d.say("MQE0353"); ok {
			b.s("RXA-17 manufacturer ").q(mvx).s(" makes no vaccine of CVX ").q(v.CVX).s(" (CDC product table)")
			d.raise("MQE0353", l, CodeApplicationError, AppIllogicalValue)
		}
	case administered && !active:
		if b, ok := d.say("MQE0350"); ok {
			b.s("RXA-5/RXA-17: the products of CVX ").q(v.CVX).s(" by ").q(mvx).s(" were all inactive on the date administered")
			d.raise("MQE0350", l, CodeApplicationError, AppInvalidValue)
		}
	}
}

// eligibilityQuality checks a 64994-7 eligibility: deprecated, a VFC
// category past its age limit, and OBX-14 (the date it was determined).
// e is the code's row of HL70064 (zero if none).
func (d *decoder) eligibilityQuality(o iis.Observation, seq int, g *group, v *iis.Vaccination, e codeset.Entry) {
	l := loc("OBX", seq, 5, 1, 1)
	fc := d.v.tab.financialClass
	if !o.Date.IsZero() && !d.birth.IsZero() && o.Date.Before(d.birth) {
		d.detect("MQE0221", loc("OBX", seq, 14), CodeApplicationError, AppIllogicalDate, "OBX-14 date the eligibility was determined is before the patient's birth date")
	}
	if o.Date.IsZero() {
		d.detect("MQE0481", loc("OBX", seq, 14), CodeRequiredFieldMiss, AppRequiredData, "OBX-14 date the eligibility was determined is missing")
	}
	if e.Code == "" {
		return
	}
	if e.Status == "Deprecated" {
		if b, ok := d.say("MQE0225"); ok {
			b.s("VFC eligibility ").q(o.Coded.Code).s(" is a deprecated code")
			d.raise("MQE0225", l, CodeTableValueNotFound, AppInvalidValue)
		}
	}
	g.vfc = fc.Field(e, "vfc") == "Y"
	if limit := fc.Field(e, "max_age_years"); limit != "" && !d.birth.IsZero() && !v.AdministeredAt.IsZero() {
		if age := ageYears(d.birth, v.AdministeredAt); age > atoi(limit) {
			if b, ok := d.say("MQE0227"); ok {
				b.s("VFC eligibility ").q(o.Coded.Code).s(" is for children through ").s(limit).s(" years; the patient was ").n(age).s(" at vaccination")
				d.raise("MQE0227", l, CodeApplicationError, AppIllogicalValue)
			}
		}
	}
}

// fundingQuality notes a 30963-3 funding source (e, its row; zero if none)
// of private stock for the check against the eligibility (groupQuality).
func (d *decoder) fundingQuality(seq int, g *group, e codeset.Entry) {
	g.funded = true
	if e.Code != "" && d.v.tab.fundingSource.Field(e, "stock") == "private" {
		g.privateStock, g.fundingSeq = true, seq
	}
}

// visObservation notes a VIS observation (document, vaccine type,
// published or presented date) of group g, checking its value.
func (d *decoder) visObservation(o iis.Observation, seq int, g *group) {
	vc := d.visOf(g, o.SubID, seq)
	if vc == nil {
		return
	}
	l := loc("OBX", seq, 5)
	switch o.ID.Code {
	case obsVISDocument:
		vc.document = true
		e, ok := d.v.tab.visDocument.Lookup(o.Coded.Code)
		newer := !ok && d.newerEdition(o.Coded.Code)
		switch {
		case newer: // an edition of a known VIS published after the table
		case !ok:
			if b, ok := d.say("MQE0501"); ok {
				b.s("VIS document ").q(o.Coded.Code).s(" is not a CDC VIS barcode (cdcgs1vis)")
				d.raise("MQE0501", l, CodeTableValueNotFound, AppTableValueNotFound)
			}
		case e.Status == "Historic":
			if b, ok := d.say("MQE0502"); ok {
				b.s("VIS document ").q(o.Coded.Code).s(" is a former edition; a current one exists")
				d.raise("MQE0502", l, CodeApplicationError, AppInvalidValue)
			}
		}
		if ok || newer {
			t, _, _ := parseDTM("20" + o.Coded.Code[len(o.Coded.Code)-6:])
			vc.edition = dayOf(t)
			vc.gdti = gdtiOf(o.Coded.Code)
		}
	case obsVaccineType:
		vc.vaccine = true
	case obsVISPublished:
		vc.publishedSent = true
		vc.published = dayOf(d.visDate(o.Value, l, "29768-9 published", "MQE0544", "MQE0536"))
	case obsVISPresented:
		vc.presentedSent = true
		vc.presented = dayOf(d.visDate(o.Value, l, "29769-7 presented", "MQE0537", ""))
	}
}

// newerEdition reports whether code is a VIS barcode of a document the
// table knows (its GS1 document type, characters 4-16) with an edition
// date (its last six digits) after every edition the table lists: a VIS
// the CDC published after the table was taken.
func (d *decoder) newerEdition(code string) bool {
	if len(code) != 24 || !digits(code) {
		return false
	}
	last, ok := d.v.tab.visLatest[code[3:16]]
	return ok && code[18:] > last
}

// visDate reads a VIS date, raising invalid (or future) when it is not a
// usable date.
func (d *decoder) visDate(s string, l ErrorLocation, what, invalid, future string) time.Time {
	t, prec, err := parseDTM(s)
	switch {
	case err != nil || prec < precDay:
		if b, ok := d.say(invalid); ok {
			b.s("VIS date ").s(what).s(" ").q(s).s(" is not a valid date")
			d.raise(invalid, l, CodeDataType, AppInvalidDate)
		}
		return time.Time{}
	case future != "" && t.After(d.tomorrow):
		if b, ok := d.say(future); ok {
			b.s("VIS date ").s(what).s(" ").q(s).s(" is in the future")
			d.raise(future, l, CodeApplicationError, AppIllogicalDate)
		}
		return time.Time{}
	}
	return t
}

// groupQuality checks, once a dose group is read, its funding against its
// eligibility and its VIS.
func (d *decoder) groupQuality(g *group) {
	if g.vfc && g.privateStock {
		d.detect("MQE0596", loc("OBX", g.fundingSeq, 5, 1, 1), CodeApplicationError, AppIllogicalValue, "Funding source is private stock, but the dose's eligibility is VFC: VFC-eligible doses come from public (VFC) stock")
	}
	if !g.administered {
		return
	}
	if !g.funded {
		d.tell("MQE0586", loc("RXA", g.rxaSeq, 0), "No funding source (OBX 30963-3) is reported for an administered dose")
	}
	if g.nvis == 0 {
		d.detect("MQE0542", loc("RXA", g.rxaSeq, 0), CodeRequiredFieldMiss, AppRequiredObservation, "No VIS is reported for an administered dose (OBX 69764-9 or 30956-7 with 29768-9 and 29769-7)")
		return
	}
	list := d.visList(g)
	for i := range list {
		d.visQuality(&list[i], g.adminAt)
		if list[i].gdti != 0 && g.cvx != nil {
			d.visDocumentType(&list[i], g.cvx)
		}
	}
}

// visDocumentType checks that a VIS document sent for a dose of CVX cvx is
// one of the VIS that CDC's CVX-to-VIS map gives that vaccine (any edition),
// when the map knows the vaccine.
func (d *decoder) visDocumentType(vc *visCheck, cvx *cvxInfo) {
	if len(cvx.vis) == 0 || slices.Contains(cvx.vis, vc.gdti) {
		return
	}
	if b, ok := d.say("MQE0498"); ok {
		b.s("VIS document is not one of the VIS that CDC gives for the vaccine of the dose, CVX ").q(cvx.code)
		d.raise("MQE0498", loc("OBX", int(vc.seq), 5), CodeApplicationError, AppIllogicalValue)
	}
}

// gdtiOf returns the GS1 document type of a 24-digit VIS barcode
// (characters 4-16), or 0.
func gdtiOf(code string) int64 {
	if len(code) != 24 {
		return 0
	}
	var n int64
	for i := 3; i < 16; i++ {
		c := code[i]
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int64(c-'0')
	}
	return n
}

// cvxDocuments maps each CVX of t (the CVX_VIS table) to the GS1 document
// types of its VIS.
func cvxDocuments(t *codeset.Table) map[string][]int64 {
	m := map[string][]int64{}
	for e := range t.All() {
		g := gdtiOf(t.Field(e, "barcode"))
		if g != 0 && !slices.Contains(m[e.Code], g) {
			m[e.Code] = append(m[e.Code], g)
		}
	}
	return m
}

// visQuality checks one VIS of an administered dose given on at.
func (d *decoder) visQuality(vc *visCheck, at time.Time) {
	l := loc("OBX", int(vc.seq), 0)
	if !vc.document && !vc.vaccine {
		d.detect("MQE0500", l, CodeRequiredFieldMiss, AppRequiredObservation, "VIS has neither a document type (69764-9) nor a vaccine type (30956-7)")
	}
	if !vc.publishedSent && !vc.document {
		d.detect("MQE0534", l, CodeRequiredFieldMiss, AppRequiredObservation, "VIS published date (29768-9) is missing")
	}
	if vc.document && vc.edition != 0 && vc.published != 0 && vc.published != vc.edition {
		if b, ok := d.say("MQE0535"); ok {
			b.s("VIS published date ").date(timeOf(vc.published)).s(" is not the edition of the VIS document sent (").date(timeOf(vc.edition)).s(")")
			d.raise("MQE0535", l, CodeApplicationError, AppIllogicalDate)
		}
	}
	if !vc.presentedSent {
		d.detect("MQE0538", l, CodeRequiredFieldMiss, AppRequiredObservation, "VIS presented date (29769-7) is missing")
		return
	}
	if vc.presented == 0 {
		return
	}
	p, published := timeOf(vc.presented), vc.published
	if published == 0 {
		published = vc.edition
	}
	if published != 0 && vc.presented < published {
		if b, ok := d.say("MQE0540"); ok {
			b.s("VIS presented ").date(p).s(", before it was published (").date(timeOf(published)).s(")")
			d.raise("MQE0540", l, CodeApplicationError, AppIllogicalDate)
		}
	}
	switch day := dayOf(at); {
	case day == 0:
	case vc.presented > day:
		if b, ok := d.say("MQE0541"); ok {
			b.s("VIS presented ").date(p).s(", after the vaccination (").date(at).s(")")
			d.raise("MQE0541", l, CodeApplicationError, AppIllogicalDate)
		}
	case vc.presented < day:
		if b, ok := d.say("MQE0539"); ok {
			b.s("VIS presented ").date(p).s(", not on the day of the vaccination (").date(at).s(")")
			d.raise("MQE0539", l, CodeApplicationError, AppIllogicalDate)
		}
	}
}

// profiled reports whether code is one of the observations the IG's VXU
// profile names (all in LOINC_IZ).
func profiled(code string) bool {
	switch code {
	case obsVFCEligibility, obsFundingSource, obsVISDocument, obsVaccineType, obsVISPublished, obsVISPresented, obsImmunity, obsContraindication, obsReaction:
		return true
	}
	return false
}

// observationQuality checks any OBX: value type, identifier, value, and
// evidence of immunity codes.
func (d *decoder) observationQuality(f fields, seq int, o iis.Observation) {
	// The value types and observations the IG's VXU uses most are in the
	// tables (codeset's TestTablesLoad): they spare a lookup.
	if vt := o.ValueType; vt != "" && vt != "CE" && vt != "CWE" && vt != "TS" && vt != "DT" && !d.v.tab.valueType.Contains(vt) {
		if b, ok := d.say("MQE0474"); ok {
			b.s("OBX-2 value type ").q(o.ValueType).s(" is not in HL7 table 0125")
			d.raise("MQE0474", loc("OBX", seq, 2), CodeTableValueNotFound, AppTableValueNotFound)
		}
	}
	if o.ID.Code != "" && !profiled(o.ID.Code) && !d.v.tab.observationID.Contains(o.ID.Code) {
		if b, ok := d.say("MQE0479"); ok {
			b.s("OBX-3 observation ").q(o.ID.Code).s(" is not an immunization observation (LOINC) this IIS knows")
			d.raise("MQE0479", loc("OBX", seq, 3, 1, 1), CodeTableValueNotFound, AppTableValueNotFound)
		}
	}
	if f.at(5).IsEmpty() {
		d.detect("MQE0532", loc("OBX", seq, 5), CodeRequiredFieldMiss, AppRequiredData, "OBX-5 observation value is missing")
	}
	if o.ID.Code == obsImmunity && o.Coded.Code != "" {
		l := loc("OBX", seq, 5, 1, 1)
		if !d.v.tab.immunity.Contains(o.Coded.Code) {
			if b, ok := d.say("MQE0607"); ok {
				b.s("Evidence of immunity ").q(o.Coded.Code).s(" is not a recognised code")
				d.raise("MQE0607", l, CodeTableValueNotFound, AppTableValueNotFound)
			}
		} else {
			d.deprecated(d.v.tab.immunity, o.Coded.Code, l, "Evidence of immunity", "MQE0606")
		}
	}
}

// inactiveOn reports whether a code that became inactive on since (the
// table's last_updated, YYYY-MM-DD) was inactive on date at.
func inactiveOn(since string, at time.Time) bool {
	t, err := time.Parse(time.DateOnly, since)
	return err == nil && !at.IsZero() && at.After(t)
}
