package immz

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/iisproject/iis"
	"github.com/iisproject/iis/codeset"
	"github.com/iisproject/iis/hl7"
)

// The data quality rules: the AIRA MQE detections (see mqe.go) beyond the
// CDC IG's conformance rules. Each raises its detection with d.detect, at
// the severity the facility sets or MQE's default; none rejects anything.

// product is one manufacturer of a vaccine's products (TRADENAME).
type product struct {
	mvx    string
	active bool
	since  time.Time // last_updated: for an inactive product, when it became so
}

// cvxInfo is what the data quality rules need of a CVX (or MVX) code.
type cvxInfo struct {
	code        string // set by indexCVX
	status      string
	unspecified bool
	since       string    // last_updated: for an inactive code, when it became so
	products    []product // CVX: the manufacturers of its products
	vis         []int64   // CVX: the GS1 document types of its VIS (set by indexCVX)
	// minAge and maxAge are the patient's ages, in whole months, at which
	// the CVX can be given (CVX_USE; -1: no bound; set by indexCVX);
	// okFrom and okUntil the ages in days between which both hold whatever
	// the months' lengths (31 and 28 days a month: see ageForVaccine).
	minAge, maxAge  int32
	okFrom, okUntil int64
}

// cvxInfos indexes the CVX (or MVX) table for the data quality rules, with
// each CVX's products (nil for MVX).
func cvxInfos(t *codeset.Table, products map[string][]product) map[string]cvxInfo {
	m := map[string]cvxInfo{}
	for e := range t.All() {
		m[e.Code] = cvxInfo{status: e.Status, unspecified: t.Field(e, "unspecified") == "Y", since: t.Field(e, "last_updated"), products: products[e.Code]}
	}
	return m
}

// indexCVX fills cvxByNumber from cvxInfo.
func (t *tables) indexCVX() {
	for code, info := range t.cvxInfo {
		info.code, info.vis = code, t.cvxVIS[code]
		info.minAge, info.maxAge = -1, -1
		if e, ok := t.cvxUse.Lookup(code); ok {
			info.minAge, info.maxAge = months(t.cvxUse.Field(e, "age_not_before_months")), months(t.cvxUse.Field(e, "age_not_after_months"))
		}
		info.okFrom, info.okUntil = 31*int64(max(info.minAge, 0)), math.MaxInt64
		if info.maxAge >= 0 {
			info.okUntil = 28 * int64(info.maxAge+1)
		}
		t.cvxInfo[code] = info
		if n, ok := cvxNumber(code); ok {
			t.cvxByNumber[n] = &info
		}
	}
}

// months reads a number of months, -1 when s is not one.
func months(s string) int32 {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return -1
	}
	return int32(n)
}

// cvxNumber returns the number of a 1-3 digit CVX code.
func cvxNumber(code string) (int, bool) {
	n := 0
	switch len(code) {
	case 3:
		n = int(code[0]-'0')*100 + int(code[1]-'0')*10 + int(code[2]-'0')
		if code[0]-'0' > 9 || code[1]-'0' > 9 || code[2]-'0' > 9 {
			return 0, false
		}
	case 2:
		n = int(code[0]-'0')*10 + int(code[1]-'0')
		if code[0]-'0' > 9 || code[1]-'0' > 9 {
			return 0, false
		}
	case 1:
		n = int(code[0] - '0')
		if code[0]-'0' > 9 {
			return 0, false
		}
	default:
		return 0, false
	}
	return n, true
}

// lookupCVX returns the data quality rules' view of a CVX code.
func (t *tables) lookupCVX(code string) (*cvxInfo, bool) {
	if n, ok := cvxNumber(code); ok {
		// Digit strings of one number and one length are the same.
		if info := t.cvxByNumber[n]; info != nil && len(info.code) == len(code) {
			return info, true
		}
		return nil, false
	}
	info, ok := t.cvxInfo[code]
	return &info, ok
}

// latestEditions returns each VIS document type's latest edition (the
// barcode's last six digits, YYMMDD) in the VIS table.
func latestEditions(t *codeset.Table) map[string]string {
	m := map[string]string{}
	for e := range t.All() {
		if len(e.Code) != 24 {
			continue
		}
		if gdti, ed := t.Field(e, "gdti"), e.Code[18:]; ed > m[gdti] {
			m[gdti] = ed
		}
	}
	return m
}

// products indexes the product table by CVX.
func products(t *codeset.Table) map[string][]product {
	m := map[string][]product{}
	for e := range t.All() {
		cvx, mvx := t.Field(e, "cvx"), t.Field(e, "mvx")
		if cvx == "" || mvx == "" {
			continue
		}
		since, _ := time.Parse(time.DateOnly, t.Field(e, "last_updated"))
		m[cvx] = append(m[cvx], product{mvx: mvx, active: e.Status == "Active", since: since})
	}
	return m
}

// deprecated raises det when code's row in table is Deprecated.
func (d *decoder) deprecated(table *codeset.Table, code string, l ErrorLocation, what, det string) {
	if code == "" {
		return
	}
	if e, ok := table.Lookup(code); ok && e.Status == "Deprecated" {
		if b, ok := d.say(det); ok {
			b.s(what).s(" ").q(code).s(" is a deprecated code; send its current equivalent")
			d.raise(det, l, CodeTableValueNotFound, AppInvalidValue)
		}
	}
}

// headerQuality checks MSH-7's precision, zone and date, and MSH-22.
func (d *decoder) headerQuality(ts string, t time.Time) {
	d.startDates()
	l := loc("MSH", 1, 7)
	if t.After(d.tomorrow) {
		if b, ok := d.say("MQE0015"); ok {
			b.s("MSH-7 date/time of message ").q(ts).s(" is in the future")
			d.raise("MQE0015", l, CodeApplicationError, AppIllogicalDate)
		}
	}
	core, zone := ts, indexSign(ts)
	if zone >= 0 {
		core = ts[:zone]
	}
	if len(core) < 12 { // YYYYMMDDHHMM at least
		if b, ok := d.say("MQE0526"); ok {
			b.s("MSH-7 date/time of message ").q(ts).s(" has no time of day (YYYYMMDDHHMM[SS][+/-ZZZZ])")
			d.raise("MQE0526", l, CodeDataType, AppInvalidDate)
		}
	}
	if zone < 0 {
		if b, ok := d.say("MQE0527"); ok {
			b.s("MSH-7 date/time of message ").q(ts).s(" has no time zone offset (+/-ZZZZ)")
			d.raise("MQE0527", l, CodeDataType, AppInvalidDate)
		}
	}
	if d.on("MQE0556") && d.res.Header.SendingOrganization == (iis.Organization{}) {
		d.detect("MQE0556", loc("MSH", 1, 22), CodeRequiredFieldMiss, AppRequiredData, "MSH-22 sending responsible organization is missing")
	}
}

// identifierQuality checks one PID-3 identifier.
func (d *decoder) identifierQuality(id iis.Identifier, seq, r int) {
	if id.Authority == "" {
		d.detect("MQE0393", loc("PID", seq, 3, r, 4), CodeRequiredFieldMiss, AppRequiredData, "PID-3 assigning authority (CX-4) is missing")
	}
	if id.Type == "SS" && !validSSN(id.Value) {
		d.detect("MQE0218", loc("PID", seq, 3, r, 1), CodeDataType, AppInvalidValue, "PID-3 social security number is not 9 digits of a valid SSN")
	}
}

func validSSN(s string) bool {
	s = strings.ReplaceAll(s, "-", "")
	return len(s) == 9 && digits(s) && s[:3] != "000" && s[:3] != "666" && s[0] != '9' && s[3:5] != "00" && s[5:] != "0000"
}

// junkName reports whether name, in any case, is a placeholder.
func junkName(name string) bool {
	var buf [7]byte
	if len(name) < 3 || len(name) > len(buf) {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		buf[i] = c
	}
	switch string(buf[:len(name)]) { // placeholders sent instead of a name
	case "TEST", "BABY", "BOY", "GIRL", "INFANT", "UNKNOWN", "UNK", "NONE", "NONAME", "NO NAME", "NEWBORN", "FNU", "LNU", "MALE", "FEMALE":
		return true
	}
	return false
}

// nameQuality checks the patient's legal name and the type of the first
// name sent (typeL: a name of type L was sent).
func (d *decoder) nameQuality(n iis.Name, firstType string, typeL bool, seq int) {
	if badName(n.Family) {
		d.detect("MQE0165", loc("PID", seq, 5, 1, 1), CodeDataType, AppInvalidValue, "PID-5 last name has characters that are not letters")
	}
	if badName(n.Given) {
		d.detect("MQE0140", loc("PID", seq, 5, 1, 2), CodeDataType, AppInvalidValue, "PID-5 first name has characters that are not letters")
	}
	switch {
	case n.Middle == "" && n.Given != "":
		d.detect("MQE0529", loc("PID", seq, 5, 1, 3), CodeRequiredFieldMiss, AppRequiredData, "PID-5 middle name is missing")
	case badName(n.Middle):
		d.detect("MQE0528", loc("PID", seq, 5, 1, 3), CodeDataType, AppInvalidValue, "PID-5 middle name has characters that are not letters")
	}
	if junkName(n.Family) || junkName(n.Given) {
		d.detect("MQE0173", loc("PID", seq, 5), CodeApplicationError, AppInvalidValue, "PID-5 name looks like a placeholder (e.g. BABY, TEST, UNKNOWN), not the patient's name")
	}
	if !typeL && n.Family != "" {
		d.detect("MQE0516", loc("PID", seq, 5, 1, 7), CodeApplicationError, AppInvalidValue, "PID-5 name type (XPN-7) of the patient's name is not L (legal)")
	}
	if firstType != "" && firstType != "L" && !d.v.tab.nameType.Contains(firstType) { // L: in the table
		if b, ok := d.say("MQE0409"); ok {
			b.s("PID-5 name type ").q(firstType).s(" is not in HL7 table 0200")
			d.raise("MQE0409", loc("PID", seq, 5, 1, 7), CodeTableValueNotFound, AppTableValueNotFound)
		}
	}
}

// badName reports whether a name has a character no name has: a digit, a
// control character or a symbol other than space, hyphen, apostrophe and
// period (letters outside ASCII are names' too).
func badName(s string) bool {
	for i := 0; i < len(s); i++ {
		if !nameChars[s[i]] {
			return true
		}
	}
	return false
}

// nameChars are the bytes a name may have (see badName).
var nameChars = func() (t [256]bool) {
	for c := range t {
		t[c] = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80 || c == ' ' || c == '-' || c == '\'' || c == '.'
	}
	return t
}()

// raceCode checks a PID-10 race and reports whether the race table has it;
// an ethnicity sent as a race (or coded in the ethnicity table) is told as
// such, not as unrecognized.
func (d *decoder) raceCode(c iis.Code, l ErrorLocation) bool {
	code := c.Code
	if c.System == "HL70189" {
		d.detect("MQE0208", withComp(l, 3), CodeTableValueNotFound, AppInvalidValue, "PID-10 race is coded in the ethnic group table (HL70189); use CDCREC or HL70005")
	}
	return d.codeOf(d.v.tab.race, d.v.tab.ethnicity, code, l, "PID-10 race", "PID-10 table", "MQE0206", "MQE0208", "an ethnic group code (HL7 0189); send ethnicity in PID-22")
}

// ethnicityCode checks a PID-22 ethnic group as raceCode does a race.
func (d *decoder) ethnicityCode(c iis.Code, l ErrorLocation) bool {
	code := c.Code
	if c.System == "HL70005" {
		d.detect("MQE0137", withComp(l, 3), CodeTableValueNotFound, AppInvalidValue, "PID-22 ethnic group is coded in the race table (HL70005); use CDCREC or HL70189")
	}
	return d.codeOf(d.v.tab.ethnicity, d.v.tab.race, code, l, "PID-22 ethnic group", "PID-22 table", "MQE0135", "MQE0137", "a race code (HL7 0005); send race in PID-10")
}

// codeOf checks a code of table (race or ethnicity) and reports whether
// table has it: deprecated there (det deprecated), or a code of the other
// table (det other, told why), or unrecognized (rule).
func (d *decoder) codeOf(table, other *codeset.Table, code string, l ErrorLocation, what, rule, deprecated, otherDet, otherWhy string) bool {
	if code == "" {
		return true
	}
	if e, ok := table.Lookup(code); ok {
		if e.Status == "Deprecated" {
			if b, ok := d.say(deprecated); ok {
				b.s(what).s(" ").q(code).s(" is a deprecated code; send its current equivalent")
				d.raise(deprecated, l, CodeTableValueNotFound, AppInvalidValue)
			}
		}
		return true
	}
	if other.Contains(code) {
		if b, ok := d.say(otherDet); ok {
			b.s(what).s(" ").q(code).s(" is ").s(otherWhy).s(" - value ignored")
			d.raise(otherDet, l, CodeTableValueNotFound, AppInvalidValue)
		}
		return false
	}
	return d.checkCode(table, code, l, what, rule)
}

// withComp returns l at component c.
func withComp(l ErrorLocation, c int) ErrorLocation {
	l.Component = c
	return l
}

// addressDetections are the detections of one address field.
type addressDetections struct {
	field                          string // "PID-11"
	state, stateFormat, zip        string
	addrType, badAddress           string
	countryWithdrawn, countryTable string
}

var (
	patientAddress = addressDetections{field: "PID-11", addrType: "MQE0520", badAddress: "MQE0521", countryWithdrawn: "MQE0097", countryTable: "MQE0099"}
	kinAddress     = addressDetections{field: "NK1-4", state: "MQE0074", stateFormat: "MQE0072", zip: "MQE0077", addrType: "MQE0399", badAddress: "MQE0522",
		countryWithdrawn: "MQE0062", countryTable: "MQE0064"}
)

// addressQuality checks an address's state, ZIP code (where det names a
// detection for it), country and type.
func (d *decoder) addressQuality(a iis.Address, seg string, seq, field, r int, det addressDetections) {
	us := a.Country == "" || a.Country == "USA" || a.Country == "US"
	if !us {
		d.countryQuality(a.Country, loc(seg, seq, field, r, 6), det)
	}
	switch {
	case det.state == "" || a.State == "" || !us:
	case len(a.State) != 2 || !upper(a.State[0]) || !upper(a.State[1]):
		if b, ok := d.say(det.stateFormat); ok {
			b.s(det.field).s(" state ").q(a.State).s(" is not a two-letter USPS code")
			d.raise(det.stateFormat, loc(seg, seq, field, r, 4), CodeDataType, AppInvalidValue)
		}
	case !d.v.tab.state.Contains(a.State):
		if b, ok := d.say(det.state); ok {
			b.s(det.field).s(" state ").q(a.State).s(" is not a USPS state or territory code")
			d.raise(det.state, loc(seg, seq, field, r, 4), CodeTableValueNotFound, AppTableValueNotFound)
		}
	}
	if det.zip != "" && a.Zip != "" && us && !validZip(a.Zip) {
		if b, ok := d.say(det.zip); ok {
			b.s(det.field).s(" ZIP code ").q(a.Zip).s(" is not a valid US ZIP code (5 or 9 digits)")
			d.raise(det.zip, loc(seg, seq, field, r, 5), CodeApplicationError, AppInvalidValue)
		}
	}
	switch {
	case a.Type == "":
	case a.Type == "BA":
		if b, ok := d.say(det.badAddress); ok {
			b.s(det.field).s(" address is marked BA (bad address)")
			d.raise(det.badAddress, loc(seg, seq, field, r, 7), CodeApplicationError, AppInvalidValue)
		}
	case a.Type == "H" || a.Type == "L" || a.Type == "M" || a.Type == "P": // the usual types, in the table
	case !d.v.tab.addressType.Contains(a.Type):
		if b, ok := d.say(det.addrType); ok {
			b.s(det.field).s(" address type ").q(a.Type).s(" is not in HL7 table 0190")
			d.raise(det.addrType, loc(seg, seq, field, r, 7), CodeTableValueNotFound, AppTableValueNotFound)
		}
	}
}

// countryQuality checks a country code (XAD-6) other than the USA's
// against ISO 3166 (HL7 table 0399 is ISO 3166-1 alpha-3; an alpha-2 code
// is recognized too): a code ISO 3166-3 lists as withdrawn is invalid, any
// other code it does not list unrecognized.
func (d *decoder) countryQuality(c string, l ErrorLocation, det addressDetections) {
	switch active, ok := d.v.tab.countries[c]; {
	case !ok:
		if b, ok := d.say(det.countryTable); ok {
			b.s(det.field).s(" country ").q(c).s(" is not an ISO 3166 country code")
			d.raise(det.countryTable, l, CodeTableValueNotFound, AppTableValueNotFound)
		}
	case !active:
		if b, ok := d.say(det.countryWithdrawn); ok {
			b.s(det.field).s(" country ").q(c).s(" is a withdrawn ISO 3166 code (a country that no longer exists)")
			d.raise(det.countryWithdrawn, l, CodeApplicationError, AppInvalidValue)
		}
	}
}

// countryCodes maps the ISO 3166 alpha-3 and alpha-2 codes of t (the
// Country table) to whether they are current (not withdrawn); a current
// country's code wins over a withdrawn one's reused alpha-2 code.
func countryCodes(t *codeset.Table) map[string]bool {
	m := make(map[string]bool, 2*t.Len())
	for e := range t.All() {
		active := e.Status == "Active"
		for _, c := range []string{e.Code, t.Field(e, "alpha2")} {
			if c != "" && !m[c] {
				m[c] = active
			}
		}
	}
	return m
}

// phoneDetections are the detections of one telephone field.
type phoneDetections struct {
	field, incomplete, invalid, use, equipment string
}

var (
	patientPhone = phoneDetections{field: "PID-13", incomplete: "MQE0174", invalid: "MQE0175", use: "MQE0457", equipment: "MQE0462"}
	kinPhone     = phoneDetections{field: "NK1-5", incomplete: "MQE0082", invalid: "MQE0083"}
)

// phoneQuality checks a telephone number: its area code and local number
// (7 digits) and, where det names them, its use and equipment codes.
func (d *decoder) phoneQuality(ph iis.Phone, seg string, seq, field, r int, det phoneDetections) {
	// PRN and PH, the usual use and equipment, are in the tables.
	if det.use != "" && ph.Use != "" && ph.Use != "PRN" && !d.v.tab.telecomUse.Contains(ph.Use) {
		if b, ok := d.say(det.use); ok {
			b.s(det.field).s(" telecommunication use ").q(ph.Use).s(" is not in HL7 table 0201")
			d.raise(det.use, loc(seg, seq, field, r, 2), CodeTableValueNotFound, AppTableValueNotFound)
		}
	}
	if det.equipment != "" && ph.Equipment != "" && ph.Equipment != "PH" && !d.v.tab.telecomEquipment.Contains(ph.Equipment) {
		if b, ok := d.say(det.equipment); ok {
			b.s(det.field).s(" telecommunication equipment ").q(ph.Equipment).s(" is not in HL7 table 0202")
			d.raise(det.equipment, loc(seg, seq, field, r, 3), CodeTableValueNotFound, AppTableValueNotFound)
		}
	}
	if ph.Use == "NET" || ph.Equipment == "Internet" || ph.Email != "" || ph.Local == "" && ph.Area == "" {
		return // no telephone number to check
	}
	local := strings.ReplaceAll(ph.Local, "-", "")
	switch {
	case ph.Area == "" && ph.Local != "":
		if b, ok := d.say(det.incomplete); ok {
			b.s(det.field).s(" telephone number has no area code (XTN-6)")
			d.raise(det.incomplete, loc(seg, seq, field, r, 6), CodeRequiredFieldMiss, AppRequiredData)
		}
	case len(ph.Area) != 3 || !digits(ph.Area) || len(local) != 7 || !digits(local):
		if b, ok := d.say(det.invalid); ok {
			b.s(det.field).s(" telephone number is not a 3-digit area code (XTN-6) and a 7-digit local number (XTN-7)")
			d.raise(det.invalid, loc(seg, seq, field, r, 7), CodeDataType, AppInvalidValue)
		}
	}
}

// ignored tells the sender, as information, that a field it sent is not
// kept.
func (d *decoder) ignored(f hl7.Value, det string, l ErrorLocation, what string) {
	if !f.IsEmpty() && d.on(det) {
		if b, ok := d.say(det); ok {
			b.s(what).s(" is not kept by this IIS")
			d.raise(det, l, CodeApplicationError, AppDataIgnored)
		}
	}
}

// patientQuality checks the PID fields the IG rules do not: PID-13 phones,
// the birth order and multiple birth, and death.
func (d *decoder) patientQuality(f fields, seq int, p *iis.Patient) {
	f13 := f.at(13)
	for r, n := 1, f13.NumReps(); r <= n; r++ {
		if ph := d.readXTN(f13.Rep(r)); ph != (iis.Phone{}) {
			d.phoneQuality(ph, "PID", seq, 13, r, patientPhone)
			if !d.check {
				p.Phones = append(p.Phones, ph)
			}
		}
	}
	d.optional(f, "PID", seq, pidOptional)
	d.dayOfMonth(p.BirthDate, loc("PID", seq, 7), "PID-7 birth date", "MQE0566", "MQE0565", "MQE0567")
	if p.BirthOrder > 1 && p.MultipleBirth == "" {
		d.detect("MQE0125", loc("PID", seq, 24), CodeRequiredFieldMiss, AppRequiredData, "PID-24 multiple birth indicator is missing although PID-25 birth order is more than 1")
	}
	if !p.DeathDate.IsZero() && !p.BirthDate.IsZero() && p.DeathDate.Before(p.BirthDate) {
		d.detect("MQE0129", loc("PID", seq, 29), CodeApplicationError, AppIllogicalDate, "PID-29 death date is before the birth date")
	}
	ind := d.text(f.at(30))
	switch {
	case ind == "Y" && p.DeathDate.IsZero():
		d.detect("MQE0132", loc("PID", seq, 29), CodeRequiredFieldMiss, AppRequiredData, "PID-29 death date is missing although PID-30 death indicator is Y")
	case ind == "N" && !p.DeathDate.IsZero():
		d.detect("MQE0133", loc("PID", seq, 30), CodeApplicationError, AppIllogicalValue, "PID-30 death indicator is N although PID-29 gives a death date")
	}
	if !d.check {
		p.DeathIndicator = ind
	}
}

// pv1 tells what of the PV1 this IIS does not keep: the patient class and
// the financial class (the VFC eligibility of HL7 2.3.1, which 2.5.1 sends
// in OBX 64994-7).
func (d *decoder) pv1(s hl7.Segment, fb *fieldBuf, seq int) {
	f := split(s, fb)
	d.ignored(f.at(2), "MQE0375", loc("PV1", seq, 2), "PV1-2 patient class")
	if !f.at(20).IsEmpty() && d.on("MQE0226") {
		d.detect("MQE0226", loc("PV1", seq, 20), CodeApplicationError, AppDataIgnored, "PV1-20 financial class (VFC eligibility) is not read; send it in OBX 64994-7 of each dose")
	}
}

// pd1Quality checks PD1's codes for deprecation, a Y protection indicator
// and the fields this IIS does not keep.
func (d *decoder) pd1Quality(f fields, seq int, p *iis.Patient) {
	d.ignored(f.at(3), "MQE0178", loc("PD1", seq, 3), "PD1-3 patient primary facility")
	d.ignored(f.at(4), "MQE0189", loc("PD1", seq, 4), "PD1-4 patient primary care provider")
	d.optional(f, "PD1", seq, pd1Optional)
	if p.Protection == "N" {
		d.tell("MQE0199", loc("PD1", seq, 12), "PD1-12 protection indicator is N")
	}
	if p.Protection == "Y" {
		d.detect("MQE0200", loc("PD1", seq, 12), CodeApplicationError, AppInvalidValue, "PD1-12 protection indicator is Y: the patient's record is protected (not shared)")
	}
}

// unexpectedForMinor reports whether an NK1-3 relationship is not one of a
// minor's responsible party.
func unexpectedForMinor(rel string) bool {
	switch rel {
	case "CHD", "GCH", "NCH", "FCH", "SCH", "SPO", "DOM", "EME", "EMR":
		return true
	}
	return false
}

// kinQuality checks an NK1 that was accepted: first name, relationship,
// address and telephone.
func (d *decoder) kinQuality(f fields, seq int, g iis.Guardian, p *iis.Patient) {
	d.optional(f, "NK1", seq, nk1Optional)
	if g.Name.Given == "" {
		d.detect("MQE0080", loc("NK1", seq, 2, 1, 2), CodeRequiredFieldMiss, AppRequiredData, "NK1-2 next of kin first name is missing")
	}
	rel := g.Relationship.Code
	switch {
	case rel == "SEL":
		d.detect("MQE0087", loc("NK1", seq, 3, 1, 1), CodeApplicationError, AppIllogicalValue, "NK1-3 relationship SEL (self): the patient is not their own next of kin")
	case unexpectedForMinor(rel) && d.minor(p):
		if b, ok := d.say("MQE0485"); ok {
			b.s("NK1-3 relationship ").q(rel).s(" is unexpected for a patient under 18")
			d.raise("MQE0485", loc("NK1", seq, 3, 1, 1), CodeApplicationError, AppIllogicalValue)
		}
	}
	// An empty field reads as the zero value: the reading is spared.
	if rep := f.at(4).Rep(1); !rep.IsEmpty() {
		if a := d.readXAD(rep); a != (iis.Address{}) {
			d.addressQuality(a, "NK1", seq, 4, 1, kinAddress)
		}
	}
	if rep := f.at(5).Rep(1); !rep.IsEmpty() {
		if ph := d.readXTN(rep); ph != (iis.Phone{}) {
			d.phoneQuality(ph, "NK1", seq, 5, 1, kinPhone)
		}
	}
}

// minor reports whether the patient is under 18 today (the clock's date,
// the day before d.tomorrow).
func (d *decoder) minor(p *iis.Patient) bool {
	if p.BirthDate.IsZero() {
		return false
	}
	y, m, day := p.BirthDate.Date()
	return age(y, m, day, d.today.y, d.today.mo, d.today.day) < 18
}

// ageYears is the age in whole years on date at of someone born on birth.
func ageYears(birth, at time.Time) int {
	by, bm, bd := birth.Date()
	ay, am, ad := at.Date()
	return age(by, bm, bd, ay, am, ad)
}

// age is the age in whole years on date ay-am-ad of someone born on
// by-bm-bd.
func age(by int, bm time.Month, bd, ay int, am time.Month, ad int) int {
	y := ay - by
	if am < bm || am == bm && ad < bd {
		y--
	}
	return y
}

// responsibleParty warns when a minor's message names no next of kin.
func (d *decoder) responsibleParty(p *iis.Patient, kin int) {
	if kin == 0 && d.minor(p) {
		d.detect("MQE0157", loc("NK1", 1, 0), CodeSegmentSequence, AppRequiredData, "No NK1 (responsible party) is given for a patient under 18")
	}
}
