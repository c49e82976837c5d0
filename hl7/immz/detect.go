package immz

import (
	_ "embed"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Accept is MQE's ACCEPT severity: the detection is recorded nowhere — the
// validator drops it. It is a setting (Config.Severities), never an ERR-4.
const Accept Severity = 'A'

// mqeTSV is AIRA's Message Quality Evaluator detection list (code, name,
// target, issue, default severity): mqe-detections.tsv, taken from
// immregistries/mqe-validator Detection.java at commit 81e2dfc (2021-09-20).
//
//go:embed mqe-detections.tsv
var mqeTSV string

// maxDetection bounds the numbers of MQE codes (MQE0000…MQE0999).
const maxDetection = 1000

// Detection is one MQE detection and how iis raises it.
type Detection struct {
	Code   string // "MQE0255"
	Name   string // "VaccinationAdminDateIsBeforeBirth"
	Target string // "VACCINATION_ADMIN_DATE"
	Issue  string // "IS_BEFORE_BIRTH"
	// MQE is MQE's default severity (Error, Warning, Information, Accept).
	MQE Severity
	// Default is the severity iis raises it with when a facility sets
	// none: MQE's, except for the checks iis had before it adopted MQE's
	// list (the CDC IG's conformance rules, see ruleDetections) and the
	// few deviations in deviations.
	Default Severity
	// Rule names the iis rule that raises it ("" if none does).
	Rule string
	// Rejects: the rule rejects what it finds (the message, a segment or a
	// dose) and its severity cannot be changed.
	Rejects bool
}

// catalog is the MQE list with iis's rules, indexed by code number.
type catalog struct {
	list  []Detection
	index [maxDetection]int16 // code number → position in list + 1
	// rule is the name of the data quality rule (newRules) that raises
	// each detection, by code number: detect's lookup, without hashing.
	rule [maxDetection]string
}

var loadCatalog = sync.OnceValue(func() *catalog {
	c := &catalog{}
	rules := map[string]ruleDetection{}
	for _, r := range ruleDetections {
		rules[r.det] = r
	}
	for i, line := range strings.Split(strings.TrimSpace(mqeTSV), "\n") {
		f := strings.Split(strings.TrimRight(line, "\r"), "\t")
		if i == 0 || len(f) < 5 {
			continue
		}
		d := Detection{Code: f[0], Name: f[1], Target: f[2], Issue: f[3], MQE: parseMQESeverity(f[4])}
		d.Default = d.MQE
		if s, ok := deviations[d.Code]; ok {
			d.Default = s.sev
		}
		if r, ok := rules[d.Code]; ok {
			d.Rule, d.Default, d.Rejects = r.rule, r.sev, r.rejects
		} else if r, ok := newRules[d.Code]; ok {
			d.Rule = r
		}
		n := detectionNumber(d.Code)
		if n < 0 {
			panic("immz: bad MQE code " + d.Code)
		}
		c.list = append(c.list, d)
		c.index[n] = int16(len(c.list))
		c.rule[n] = newRules[d.Code]
	}
	return c
})

func parseMQESeverity(s string) Severity {
	switch s {
	case "ERROR":
		return Error
	case "WARN":
		return Warning
	case "INFO":
		return Information
	}
	return Accept
}

// ParseSeverity reads a severity setting: E, W, I or A (also MQE's words
// ERROR, WARN, INFO, ACCEPT).
func ParseSeverity(s string) (Severity, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "E", "ERROR":
		return Error, nil
	case "W", "WARN", "WARNING":
		return Warning, nil
	case "I", "INFO", "INFORMATION":
		return Information, nil
	case "A", "ACCEPT":
		return Accept, nil
	}
	return 0, fmt.Errorf("immz: severity %q is not E, W, I or A", s)
}

// detectionNumber returns the number of an MQE code ("MQE0087" → 87), or
// -1 if code is not one. It is small enough to be inlined: with a constant
// code, as the rules pass, it costs next to nothing.
func detectionNumber(code string) int {
	if len(code) != 7 || code[0] != 'M' || code[1] != 'Q' || code[2] != 'E' || code[3] != '0' ||
		code[4]-'0' > 9 || code[5]-'0' > 9 || code[6]-'0' > 9 {
		return -1
	}
	return int(code[4]-'0')*100 + int(code[5]-'0')*10 + int(code[6]-'0')
}

// Detections returns MQE's detections in code order, with how iis raises
// each. The slice is shared: do not modify it.
func Detections() []Detection { return loadCatalog().list }

// LookupDetection returns the detection with the given MQE code.
func LookupDetection(code string) (Detection, bool) {
	c := loadCatalog()
	n := detectionNumber(code)
	if n < 0 || c.index[n] == 0 {
		return Detection{}, false
	}
	return c.list[c.index[n]-1], true
}

// severities are a validator's effective severities by code number:
// over holds the configured ones (0 = none), sev the ones new detections
// are raised with (configured, else the default).
type severities struct {
	over, sev [maxDetection]Severity
	// silent is set when a detection silent by default (Accept) is given
	// a severity: only then do the silent detections' checks run.
	silent bool
	cat    *catalog
}

// newSeverities resolves the configured severities over the defaults.
// Unknown codes and settings of rejecting detections are ignored (Config
// documents it; package facility validates before storing).
func newSeverities(cfg map[string]Severity) *severities {
	s := &severities{cat: loadCatalog()}
	for _, d := range s.cat.list {
		s.sev[detectionNumber(d.Code)] = d.Default
	}
	for code, sev := range cfg {
		d, ok := LookupDetection(code)
		if !ok || d.Rejects || (sev != Error && sev != Warning && sev != Information && sev != Accept) {
			continue
		}
		n := detectionNumber(code)
		s.over[n], s.sev[n] = sev, sev
		if d.Default == Accept && sev != Accept {
			s.silent = true
		}
	}
	return s
}

// detect raises detection det (an MQE code iis implements, see newRules)
// at l with its effective severity; an Accept severity raises nothing.
// msg is ERR-8. A text that has to be built is built only for a detection
// that is raised: see say. detect is inlined, so that what is not raised
// costs a comparison.
func (d *decoder) detect(det string, l ErrorLocation, code, app int, msg string) {
	if n := ruleNumber(det); d.v.sevs.sev[n] != Accept {
		d.raised(n, det, l, code, app, msg)
	}
}

// raised adds detection det, number n, to the issues, unless its severity
// is none (det is not a detection).
func (d *decoder) raised(n int, det string, l ErrorLocation, code, app int, msg string) {
	sev := d.v.sevs.sev[n]
	if sev == 0 {
		return
	}
	d.res.Issues = append(d.res.Issues, Issue{Location: l, Code: code, Severity: sev, AppCode: app, Scope: ScopeField,
		Message: msg, Rule: d.v.sevs.cat.rule[n], Detection: det})
}

// ruleNumber is detectionNumber for the codes the rules pass, which are
// MQE codes: inlined, it costs next to nothing. An other string panics.
func ruleNumber(det string) int {
	return int(det[4]-'0')*100 + int(det[5]-'0')*10 + int(det[6]-'0')
}

// on reports whether detection det is raised at all (its severity is not
// Accept), so that a check whose inputs cost something can be skipped.
func (d *decoder) on(det string) bool { return d.v.sevs.sev[ruleNumber(det)] != Accept }

// say starts the ERR-8 text of detection det, to be written with the
// returned builder's methods and raised with raise, and reports whether
// det is raised at all: a silent detection's text is never built.
//
//	if b, ok := d.say("MQE0304"); ok {
//		b.s("RXA-5 CPT code ").q(v.CPT).s(" is not a vaccine CPT code")
//		d.raise("MQE0304", l, CodeTableValueNotFound, AppTableValueNotFound)
//	}
func (d *decoder) say(det string) (*texts, bool) {
	if !d.on(det) {
		return nil, false
	}
	d.txt.start = len(d.txt.buf)
	return &d.txt, true
}

// raise raises det, as detect does, with the text built since say.
func (d *decoder) raise(det string, l ErrorLocation, code, app int) {
	n := len(d.res.Issues)
	d.detect(det, l, code, app, "")
	if len(d.res.Issues) == n {
		d.txt.buf = d.txt.buf[:d.txt.start]
		return
	}
	d.txt.refs = append(d.txt.refs, textRef{issue: int32(n), start: int32(d.txt.start), end: int32(len(d.txt.buf))})
}

// texts holds the ERR-8 texts the data quality rules build for one
// message, in one buffer that the decoder keeps from message to message:
// once the message is decoded, they become one string (finishIssues),
// not one string (and one quoted copy of each value) apiece.
type texts struct {
	buf   []byte
	start int       // of the text being built
	refs  []textRef // the texts built, in buf
}

// textRef is where the text of issue number issue is in texts.buf.
type textRef struct{ issue, start, end int32 }

// s appends s to the text.
func (t *texts) s(s string) *texts {
	t.buf = append(t.buf, s...)
	return t
}

// q appends s quoted, as quote does.
func (t *texts) q(s string) *texts {
	if s == "" {
		t.buf = append(t.buf, "(empty)"...)
	} else {
		t.buf = strconv.AppendQuote(t.buf, s)
	}
	return t
}

// date appends a date as YYYYMMDD.
func (t *texts) date(at time.Time) *texts {
	t.buf = at.AppendFormat(t.buf, "20060102")
	return t
}

// n appends an integer, as itoa does (0 is "").
func (t *texts) n(i int) *texts {
	if i != 0 {
		t.buf = strconv.AppendInt(t.buf, int64(i), 10)
	}
	return t
}

// finishIssues gives the Result its own copy of the issues, which were
// gathered in the decoder's buffer, and their built texts, in one string.
func (d *decoder) finishIssues() {
	r := d.res
	if len(r.Issues) > 0 {
		d.issues = r.Issues[:0]
		r.Issues = append(make([]Issue, 0, len(r.Issues)), r.Issues...)
		clear(d.issues[:len(r.Issues)]) // no reference to the message kept
		if len(d.txt.refs) > 0 {
			all := string(d.txt.buf)
			for _, ref := range d.txt.refs {
				r.Issues[ref.issue].Message = all[ref.start:ref.end]
			}
		}
	} else {
		r.Issues = nil
	}
	d.txt.buf, d.txt.refs = d.txt.buf[:0], d.txt.refs[:0]
}

// classify sets the detection of an issue raised by one of iis's own rules
// and applies the facility's severity for it, unless it rejects. It
// reports false when the issue is to be dropped (configured Accept).
func (d *decoder) classify(is *Issue) bool {
	if is.Detection == "" {
		is.Detection = detectionOfRule(is.Rule)
		if is.Detection == "" {
			return true
		}
	}
	if is.Severity == Error && is.Scope > ScopeField {
		return true // rejects: as the IG requires, whatever the setting
	}
	switch s := d.v.sevs.over[detectionNumber(is.Detection)]; s {
	case 0:
	case Accept:
		return false
	default:
		is.Severity = s
	}
	return true
}

// ValueKept reports whether an issue of detection code (an MQE code) is a
// data quality note that leaves the value sent in place: one of the data
// quality rules (quality.go), except those that ignore a race or an
// ethnicity coded in the other's table. The IG's rules, which ignore or
// reject what they find, are not.
func ValueKept(code string) bool {
	_, quality := newRules[code]
	return quality && code != "MQE0208" && code != "MQE0137"
}

// ruleDetection maps one of iis's rules to the MQE detection it is.
type ruleDetection struct {
	rule, det string
	sev       Severity // the severity the rule raises it with
	rejects   bool
}

var ruleIndex = sync.OnceValue(func() map[string]string {
	m := make(map[string]string, len(ruleDetections))
	for _, r := range ruleDetections {
		m[r.rule] = r.det
	}
	return m
})

func detectionOfRule(rule string) string { return ruleIndex()[rule] }
