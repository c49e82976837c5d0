// Package immz implements the CDC HL7 2.5.1 Implementation Guide for
// Immunization Messaging (Release 1.5 and its 2018 addendum) on top of
// package hl7: it decodes VXU^V04 (profile Z22) into the domain types of
// package iis and QBP^Q11 (Z34/Z44) into a Query, validates them against
// the guide's usage, code tables and date rules, and builds the ACK^V04
// (Z23) the guide prescribes, with one ERR segment per problem.
//
// Outcome rules (see README "ACK rules"):
//   - AR: the envelope is unusable (MSH-9 type/event, MSH-10, MSH-11
//     processing id, MSH-12 version, MSH-4 sender, an MSH field that is not
//     storable text or has a segment glued to it); nothing is processed.
//   - AE: at least one error (severity E): the message was rejected as a
//     whole (no usable patient: PID, PID-3, PID-5, PID-7; a value that is
//     not storable text, see text.go; a patient segment glued to another,
//     see shape.go) or in part (a dose group with no/unknown vaccine or bad
//     date or a glued segment, an NK1 without relationship); what was not
//     rejected is kept.
//   - AA: accepted; warnings (severity W, values ignored: Decode does not
//     keep them) may follow as ERR rows. With Config.WarningsAsAE a warnings-only message gets AE instead,
//     as NIST's 2015 test plan and AIRA's ACK guidance examples do.
package immz

import (
	"bytes"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/iisproject/iis"
	"github.com/iisproject/iis/codeset"
	"github.com/iisproject/iis/hl7"
)

// Config configures a Validator. The zero Config is usable.
type Config struct {
	// Codes are the code tables (default codeset.Default()).
	Codes *codeset.Set
	// Now is the clock used for date sanity checks and ACK timestamps
	// (default time.Now).
	Now func() time.Time
	// ProcessingIDs are the MSH-11 values accepted (default P and T).
	ProcessingIDs []string
	// WarningsAsAE answers a message whose only problems are warnings with
	// AE rather than AA (NIST 2015 / AIRA convention).
	WarningsAsAE bool
	// Application and Facility name this IIS in ACK MSH-3/MSH-4 when the
	// inbound MSH-5/MSH-6 are empty.
	Application, Facility string
	// Severities set the severity of MQE detections by code ("MQE0227":
	// Warning, "MQE0529": Accept); the others keep their defaults (see
	// Detections). A rule that rejects (Detection.Rejects) and codes iis
	// does not know are not changed.
	Severities map[string]Severity
}

// Validator decodes and validates immunization messages and builds their
// acknowledgements. It is safe for concurrent use.
type Validator struct {
	codes   *codeset.Set
	now     func() time.Time
	procIDs []string
	warnAE  bool
	app     string
	fac     string
	tab     tables
	sevs    *severities
	seq     atomic.Uint64
	// decoders keeps the scratch buffers of finished Decode calls for the
	// next ones.
	decoders sync.Pool
}

// New returns a Validator for cfg.
func New(cfg Config) *Validator {
	v := &Validator{codes: cfg.Codes, now: cfg.Now, procIDs: cfg.ProcessingIDs, warnAE: cfg.WarningsAsAE, app: cfg.Application, fac: cfg.Facility}
	if v.codes == nil {
		v.codes = codeset.Default()
	}
	v.tab = newTables(v.codes)
	v.tab.indexCVX()
	v.sevs = newSeverities(cfg.Severities)
	if v.now == nil {
		v.now = time.Now
	}
	if len(v.procIDs) == 0 {
		v.procIDs = []string{"P", "T"}
	}
	if v.app == "" {
		v.app = "IIS"
	}
	return v
}

// tables are the code tables the rules look codes up in, found once in
// the Validator's set.
type tables struct {
	identifierType, sex, race, ethnicity, yesNo, publicity, registryStatus, relationship, fundingSource        *codeset.Table
	cvx, mvx, cpt, refusalReason, completionStatus, informationSource, actionCode, route, site, financialClass *codeset.Table
	// The tables of the MQE detections (see quality.go).
	nameType, addressType, telecomUse, telecomEquipment, state, units, valueType, observationID, immunity, visDocument, cvxRoute, ndc, cvxUse *codeset.Table
	// cvxInfo and mvxInfo are the CVX and MVX tables' status and dates,
	// and for a CVX the manufacturers (MVX) of its products.
	cvxInfo, mvxInfo map[string]cvxInfo
	// countries are the ISO 3166 country codes (XAD-6), true for a
	// current country, false for a withdrawn one.
	countries map[string]bool
	// cvxVIS maps a CVX to the GS1 document types of its VIS.
	cvxVIS map[string][]int64
	// visLatest is each VIS document type's (GS1 GDTI) latest edition in
	// the table, YYMMDD.
	visLatest map[string]string
	// cvxByNumber indexes cvxInfo by the CVX code's number (CVX codes are
	// 1-3 digits): a lookup without hashing, for every dose.
	cvxByNumber *[1000]*cvxInfo
	// errorCondition (HL7 0357) and applicationError (CDC 0533) are the
	// ERR-3 and ERR-5 texts by code.
	errorCondition, applicationError map[int]string
}

func newTables(c *codeset.Set) tables {
	return tables{
		identifierType:    c.Table(codeset.IdentifierType),
		sex:               c.Table(codeset.Sex),
		race:              c.Table(codeset.Race),
		ethnicity:         c.Table(codeset.Ethnicity),
		yesNo:             c.Table(codeset.YesNo),
		publicity:         c.Table(codeset.Publicity),
		registryStatus:    c.Table(codeset.RegistryStatus),
		relationship:      c.Table(codeset.Relationship),
		fundingSource:     c.Table(codeset.FundingSource),
		cvx:               c.CVX(),
		mvx:               c.MVX(),
		cpt:               c.CPT(),
		refusalReason:     c.RefusalReason(),
		completionStatus:  c.CompletionStatus(),
		informationSource: c.InformationSource(),
		actionCode:        c.ActionCode(),
		route:             c.Route(),
		site:              c.Site(),
		financialClass:    c.FinancialClass(),
		nameType:          c.Table(codeset.NameType),
		addressType:       c.Table(codeset.AddressType),
		telecomUse:        c.Table(codeset.TelecomUse),
		telecomEquipment:  c.Table(codeset.TelecomEquipment),
		state:             c.Table(codeset.State),
		units:             c.Table(codeset.Units),
		valueType:         c.Table(codeset.ValueType),
		observationID:     c.ObservationIDs(),
		immunity:          c.Table(codeset.EvidenceOfImmunity),
		visDocument:       c.VISDocuments(),
		visLatest:         latestEditions(c.VISDocuments()),
		cvxRoute:          c.Table(codeset.CVXRoute),
		countries:         countryCodes(c.Table(codeset.Country)),
		ndc:               c.Table(codeset.NDC),
		cvxUse:            c.Table(codeset.CVXUse),
		cvxVIS:            cvxDocuments(c.Table(codeset.CVXVIS)),
		cvxInfo:           cvxInfos(c.CVX(), products(c.TradeNames())),
		cvxByNumber:       new([1000]*cvxInfo),
		mvxInfo:           cvxInfos(c.MVX(), nil),
		errorCondition:    displays(c.Table(codeset.ErrorCondition)),
		applicationError:  displays(c.Table(codeset.ApplicationError)),
	}
}

// Kind is the kind of message decoded.
type Kind uint8

const (
	KindUnknown Kind = iota
	KindVXU
	KindQBP
)

// Header is the decoded MSH.
type Header struct {
	SendingApplication   iis.Organization
	SendingFacility      iis.Organization
	ReceivingApplication iis.Organization
	ReceivingFacility    iis.Organization
	Time                 time.Time
	Type, Event          string // MSH-9.1, MSH-9.2
	Structure            string // MSH-9.3
	ControlID            string // MSH-10
	ProcessingID         string // MSH-11.1
	Version              string // MSH-12.1
	AcceptAck, AppAck    string // MSH-15, MSH-16
	Profile              string // MSH-21.1 of the first repetition
	SendingOrganization  iis.Organization
}

// VXU is a decoded VXU^V04.
type VXU struct {
	Patient iis.Patient
	// Vaccinations are the dose groups that were accepted, in message order.
	Vaccinations []iis.Vaccination
	// Rejected lists the positions (iis.Vaccination.Position) of dose
	// groups that were not accepted.
	Rejected []int
}

// Result is what Decode found in one message. It refers to the message's
// bytes, which must stay unchanged while the Result is used.
type Result struct {
	Header Header
	Kind   Kind
	VXU    *VXU   // KindVXU and the message was not rejected
	Query  *Query // KindQBP and the query is usable
	Issues []Issue

	msg *hl7.Message
}

// Message returns the parsed message (nil if it could not be parsed).
func (r *Result) Message() *hl7.Message { return r.msg }

// Rejected reports whether nothing of the message may be stored: its
// envelope was rejected or it has no usable patient or query.
func (r *Result) Rejected() bool {
	for _, is := range r.Issues {
		if is.Severity == Error && is.Scope >= ScopeMessage {
			return true
		}
	}
	return false
}

// AckCode returns MSA-1 for this result, with any extra issues the caller
// adds (such as a failed queue publish), under the validator's rules.
func (v *Validator) AckCode(r *Result, extra ...Issue) string {
	code := "AA"
	for _, is := range r.Issues {
		if c := v.ackFor(is); c == "AR" {
			return c
		} else if c == "AE" {
			code = c
		}
	}
	for _, is := range extra {
		if c := v.ackFor(is); c == "AR" {
			return c
		} else if c == "AE" {
			code = c
		}
	}
	return code
}

// ackFor is the MSA-1 one issue calls for on its own.
func (v *Validator) ackFor(is Issue) string {
	switch {
	case is.Severity == Error && is.Scope == ScopeEnvelope:
		return "AR"
	case is.Severity == Error, is.Severity == Warning && v.warnAE:
		return "AE"
	}
	return "AA"
}

// Decode parses raw as one message and decodes and validates it. A message
// that cannot be parsed yields a Result with one envelope issue.
func (v *Validator) Decode(raw []byte) *Result {
	m, err := hl7.Parse(raw)
	if err != nil {
		return unreadable(err)
	}
	return v.DecodeMessage(m)
}

// unreadable is the Result of a message that does not parse.
func unreadable(err error) *Result {
	return &Result{Issues: []Issue{{
		Location: ErrorLocation{Segment: "MSH", Sequence: 1},
		Code:     CodeSegmentSequence, Severity: Error, AppCode: AppRequiredData, Scope: ScopeEnvelope,
		Message: "The message could not be read: " + strings.TrimPrefix(err.Error(), "hl7: ") + " - message rejected",
		Rule:    "HL7 syntax", Detection: "MQE0004",
	}}}
}

// Check validates raw as Decode does, with the same issues, for a caller
// that needs only the verdict (the header, the kind, the issues, hence the
// ACK): a VXU's patient and doses are validated but not kept (Result.VXU
// is nil), and the values no rule looks at are not read. A QBP is decoded
// in full, since answering it needs the query.
func (v *Validator) Check(raw []byte) *Result {
	// The Result and the message it refers to, allocated together.
	rm := new(struct {
		r Result
		m hl7.Message
	})
	if err := rm.m.Parse(raw); err != nil {
		return unreadable(err)
	}
	rm.r.msg = &rm.m
	return v.decode(&rm.r, true)
}

// DecodeMessage decodes and validates a parsed message.
func (v *Validator) DecodeMessage(m *hl7.Message) *Result { return v.decode(&Result{msg: m}, false) }

// decode decodes and validates r.msg into r.
func (v *Validator) decode(r *Result, check bool) *Result {
	m := transcodeLatin1(r.msg)
	r.msg = m
	d, _ := v.decoders.Get().(*decoder)
	if d == nil {
		d = &decoder{v: v}
	}
	d.m, d.res, d.check, d.delims = m, r, check, m.Delimiters()
	d.base = m.Bytes()
	d.res.Issues = d.issues[:0] // see finishIssues
	if check {
		// Only the header's (and a query's) text is kept.
		msh := m.MSH().Bytes()
		end := offset(d.base, unsafe.SliceData(msh)) + len(msh)
		d.copy = string(d.base[:end])
	} else {
		d.copy = string(d.base)
	}
	defer d.release()
	dirtyMSH := d.textIssues()
	d.header()
	if dirtyMSH {
		cleanHeader(&d.res.Header)
	}
	if d.res.Rejected() {
		return d.res
	}
	switch d.res.Kind {
	case KindVXU:
		d.vxu()
	case KindQBP:
		if check {
			d.copy = string(d.base)
		}
		d.qbp()
	}
	return d.res
}

// offset returns where p, a pointer into base's array, is in base. Both
// pointers are read in one expression: no stack move can come between.
func offset(base []byte, p *byte) int {
	return int(uintptr(unsafe.Pointer(p)) - uintptr(unsafe.Pointer(unsafe.SliceData(base))))
}

// release returns d to its validator's pool, keeping its buffers but no
// reference to the message or the result.
func (d *decoder) release() {
	d.finishIssues()
	d.seqs = d.seqs[:0]
	d.counts = [10]int{}
	d.inPlace, d.plainSeg = false, false
	d.m, d.res = nil, nil
	d.base, d.copy = nil, ""
	d.birth = time.Time{}
	d.datesSet = false
	clear(d.vis) // no reference to the message kept
	d.vis = d.vis[:0]
	d.v.decoders.Put(d)
}

// decoder holds the state of one Decode call.
type decoder struct {
	v   *Validator
	m   *hl7.Message
	res *Result
	// seq counts segments by ID while walking the message, for ERR-2.
	seqs   []segCount
	counts [10]int // of the segments vxuSegment numbers
	// check is set for Validator.Check: validate, keep nothing (see vxu).
	check bool
	// inPlace is set while Check reads values that are only compared,
	// never kept: text then returns them in place, as views of the
	// message's bytes (see text).
	inPlace  bool
	plainSeg bool // see text
	delims   hl7.Delimiters
	// base is the message's bytes, and copy a copy of them (or of their
	// start, see decode), from which text cuts the Result's strings: a new
	// one for every message, since the Result's strings point into it.
	base []byte
	copy string
	// tomorrow is the clock's date (UTC midnight) plus one day of tolerance
	// for senders in other time zones.
	tomorrow time.Time
	// issues is room for the message's issues, and txt for the texts of
	// its data quality detections, kept from message to message (see
	// finishIssues).
	issues []Issue
	txt    texts
	// vis holds the VIS records of the message's dose groups (see visOf).
	vis []visCheck
	// birth is the patient's birth date (PID-7), once read.
	birth time.Time
	// sent is the message's MSH-7 date, and sent30 and sent1 that date
	// less 30 days and 1 day (see rxaDates).
	sent, sent30, sent1 time.Time
	// oldest is the earliest plausible birth date: 130 years before
	// tomorrow.
	oldest time.Time
	// today is the clock's date that tomorrow and oldest were computed
	// for; they are kept while it lasts.
	today struct {
		y, day int
		mo     time.Month
	}
	// datesSet is set once startDates has run for the message.
	datesSet bool
}

// fields are a segment's fields split once; at(n) is field n.
type fields []hl7.Value

func (f fields) at(n int) hl7.Value {
	if n < 1 || n > len(f) {
		return hl7.Value{}
	}
	return f[n-1]
}

// fieldBuf is room for a segment's fields on the reader's stack: split
// fills it without the write barriers that filling heap memory costs
// while the garbage collector marks. A segment with more fields (PID has
// 39 at most) spills to the heap.
type fieldBuf [32]hl7.Value

// split splits s into fields, in buf when they fit.
func split(s hl7.Segment, buf *fieldBuf) fields {
	return fields(s.AppendFields(buf[:0]))
}

// add adds an issue of one of iis's rules, with its MQE detection and the
// facility's severity for it (see classify).
func (d *decoder) add(is Issue) {
	if d.classify(&is) {
		d.res.Issues = append(d.res.Issues, is)
	}
}

func loc(seg string, seq, field int, more ...int) ErrorLocation {
	l := ErrorLocation{Segment: seg, Sequence: seq, Field: field}
	if len(more) > 0 {
		l.Repetition = more[0]
	}
	if len(more) > 1 {
		l.Component = more[1]
	}
	if len(more) > 2 {
		l.Subcomponent = more[2]
	}
	return l
}

func (d *decoder) header() {
	var fb fieldBuf
	msh := split(d.m.MSH(), &fb)
	// MSH-2 holds the escape character itself; the fields after it are
	// what text reads.
	if esc := d.delims.Escape; esc == 0 || bytes.IndexByte(d.m.MSH().Bytes()[4+len(msh.at(2).Bytes()):], esc) < 0 {
		d.plainSeg = true
		defer func() { d.plainSeg = false }()
	}
	h := &d.res.Header
	h.SendingApplication = d.readHD(msh.at(3))
	h.SendingFacility = d.readHD(msh.at(4))
	h.ReceivingApplication = d.readHD(msh.at(5))
	h.ReceivingFacility = d.readHD(msh.at(6))
	var typ [3]hl7.Value
	msh.at(9).SplitComps(typ[:])
	h.Type, h.Event, h.Structure = d.text(typ[0]), d.text(typ[1]), d.text(typ[2])
	h.ControlID = d.text(msh.at(10))
	h.ProcessingID = d.text(msh.at(11).Comp(1))
	h.Version = d.text(msh.at(12).Comp(1))
	h.AcceptAck = d.text(msh.at(15))
	h.AppAck = d.text(msh.at(16))
	h.Profile = d.text(msh.at(21).Rep(1).Comp(1))
	h.SendingOrganization = d.readXON(msh.at(22))

	env := func(field, comp, code, app int, msg, rule string) {
		var l ErrorLocation
		if comp > 0 {
			l = loc("MSH", 1, field, 1, comp)
		} else {
			l = loc("MSH", 1, field)
		}
		d.add(Issue{Location: l, Code: code, Severity: Error, AppCode: app, Scope: ScopeEnvelope, Message: msg, Rule: rule})
	}
	switch {
	case h.Type == "":
		env(9, 1, CodeRequiredFieldMiss, AppRequiredData, "MSH-9 message type is required - message rejected", "MSH-9 required")
	case h.Type == "VXU":
		d.res.Kind = KindVXU
		if h.Event != "V04" {
			env(9, 2, CodeUnsupportedEvent, 0, "Event "+quote(h.Event)+" is not supported for VXU; use VXU^V04^VXU_V04 - message rejected", "MSH-9 event")
		}
	case h.Type == "QBP":
		d.res.Kind = KindQBP
		if h.Event != "Q11" {
			env(9, 2, CodeUnsupportedEvent, 0, "Event "+quote(h.Event)+" is not supported for QBP; use QBP^Q11^QBP_Q11 - message rejected", "MSH-9 event")
		}
	default:
		env(9, 1, CodeUnsupportedMsgType, 0, "Message type "+quote(h.Type)+" is not supported; this IIS accepts VXU^V04 and QBP^Q11 - message rejected", "MSH-9 type")
	}
	if h.ControlID == "" {
		env(10, 0, CodeRequiredFieldMiss, AppRequiredData, "MSH-10 message control ID is required - message rejected", "MSH-10 required")
	} else if len(h.ControlID) > 199 {
		env(10, 0, CodeDataType, AppInvalidValue, "MSH-10 message control ID is longer than 199 characters - message rejected", "MSH-10 length")
	}
	switch {
	case h.ProcessingID == "":
		env(11, 1, CodeRequiredFieldMiss, AppRequiredData, "MSH-11 processing ID is required - message rejected", "MSH-11 required")
	case !contains(d.v.procIDs, h.ProcessingID):
		env(11, 1, CodeUnsupportedProcID, 0, "Processing ID "+quote(h.ProcessingID)+" is not accepted; use "+strings.Join(d.v.procIDs, " or ")+" - message rejected", "MSH-11 processing id")
	}
	switch {
	case h.Version == "":
		env(12, 1, CodeRequiredFieldMiss, AppRequiredData, "MSH-12 version ID is required - message rejected", "MSH-12 required")
	case h.Version != "2.5.1":
		env(12, 1, CodeUnsupportedVersion, 0, "Version ID "+quote(h.Version)+" is not supported; this IIS accepts HL7 2.5.1 - message rejected", "MSH-12 version")
	}
	if d.res.Rejected() {
		return
	}

	// Field-level header checks: warnings only. A missing MSH-4 is a warning
	// too: the IG's own examples omit it, and the transport's authenticated
	// facility identifies the sender.
	if h.SendingFacility.Name == "" && h.SendingFacility.ID == "" {
		d.warn(loc("MSH", 1, 4), CodeRequiredFieldMiss, AppRequiredData, "MSH-4 sending facility is missing", "MSH-4 required")
	}
	if ts := d.text(msh.at(7).Comp(1)); ts == "" {
		d.warn(loc("MSH", 1, 7), CodeRequiredFieldMiss, AppRequiredData, "MSH-7 date/time of message is required", "MSH-7 required")
	} else if t, _, err := parseDTM(ts); err != nil {
		d.warn(loc("MSH", 1, 7), CodeDataType, AppInvalidDate, "MSH-7 date/time of message "+quote(ts)+" is not a valid date", "MSH-7 format")
	} else {
		h.Time = t
		d.headerQuality(ts, t)
	}
	d.optional(msh, "MSH", 1, mshOptional)
	want := "Z22"
	if d.res.Kind == KindQBP {
		want = "Z34 or Z44"
	}
	switch {
	case h.Profile == "":
		d.warn(loc("MSH", 1, 21), CodeRequiredFieldMiss, AppRequiredData, "MSH-21 message profile identifier is missing; expected "+want, "MSH-21 required")
	case d.res.Kind == KindVXU && h.Profile != "Z22", d.res.Kind == KindQBP && h.Profile != "Z34" && h.Profile != "Z44":
		d.warn(loc("MSH", 1, 21, 1, 1), CodeTableValueNotFound, AppTableValueNotFound, "MSH-21 profile "+quote(h.Profile)+" is not recognised; expected "+want, "MSH-21 profile")
	}
}

func (d *decoder) warn(l ErrorLocation, code, app int, msg, rule string) {
	d.add(Issue{Location: l, Code: code, Severity: Warning, AppCode: app, Scope: ScopeField, Message: msg, Rule: rule})
}

func quote(s string) string {
	if s == "" {
		return "(empty)"
	}
	return strconv.Quote(s)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

type segCount struct {
	id string
	n  int
}

// vxuSegment numbers the segments of a VXU^V04, or returns -1.
func vxuSegment(id string) int {
	switch id {
	case "MSH":
		return 0
	case "PID":
		return 1
	case "PD1":
		return 2
	case "NK1":
		return 3
	case "PV1":
		return 4
	case "ORC":
		return 5
	case "RXA":
		return 6
	case "RXR":
		return 7
	case "OBX":
		return 8
	case "NTE":
		return 9
	}
	return -1
}

// nextSeq counts one more segment with the given ID and returns its
// sequence number.
func (d *decoder) nextSeq(id string) int {
	// The segments of a VXU have slots of their own; any other ID is
	// looked for in seqs.
	if i := vxuSegment(id); i >= 0 {
		d.counts[i]++
		return d.counts[i]
	}
	for i := range d.seqs {
		if d.seqs[i].id == id {
			d.seqs[i].n++
			return d.seqs[i].n
		}
	}
	d.seqs = append(d.seqs, segCount{id: id, n: 1})
	return 1
}

// date reads a date field, checking its format and that it is not in the
// future. It returns the date and whether it is usable; problems are
// reported with the given severity and scope.
func (d *decoder) date(v hl7.Value, l ErrorLocation, what string, sev Severity, scope Scope, rule string) (time.Time, bool) {
	s := d.text(v.Comp(1))
	if s == "" {
		return time.Time{}, false
	}
	t, prec, err := parseDTM(s)
	if err != nil || prec < precDay {
		d.add(Issue{Location: l, Code: CodeDataType, Severity: sev, AppCode: AppInvalidDate, Scope: scope,
			Message: what + " " + quote(s) + " is not a valid date (YYYYMMDD)" + consequence(sev, scope), Rule: rule + " format"})
		return time.Time{}, false
	}
	if t.After(d.tomorrow) {
		d.add(Issue{Location: l, Code: CodeApplicationError, Severity: sev, AppCode: AppIllogicalDate, Scope: scope,
			Message: what + " " + quote(s) + " is in the future" + consequence(sev, scope), Rule: rule + " future"})
		return time.Time{}, false
	}
	return t, true
}

// consequence says in words what an issue of this severity and scope did.
func consequence(sev Severity, scope Scope) string {
	if sev != Error {
		if scope == ScopeField {
			return " - value ignored"
		}
		return ""
	}
	switch scope {
	case ScopeSegment:
		return " - segment rejected"
	case ScopeGroup:
		return " - this immunization was not recorded"
	case ScopeMessage, ScopeEnvelope:
		return " - message rejected"
	}
	return " - value rejected"
}

// checkCode reports a coded value that is not in its table, as a warning
// that the value is ignored. It returns whether the code is known.
func (d *decoder) checkCode(table *codeset.Table, code string, l ErrorLocation, what, rule string) bool {
	if code == "" || table.Contains(code) {
		return true
	}
	d.warn(l, CodeTableValueNotFound, AppTableValueNotFound, what+" "+quote(code)+" is not a recognised code - value ignored", rule)
	return false
}

// checkEntry is checkCode, returning the code's row (zero if none).
func (d *decoder) checkEntry(table *codeset.Table, code string, l ErrorLocation, what, rule string) (codeset.Entry, bool) {
	if code == "" {
		return codeset.Entry{}, true
	}
	if e, ok := table.Lookup(code); ok {
		return e, true
	}
	d.warn(l, CodeTableValueNotFound, AppTableValueNotFound, what+" "+quote(code)+" is not a recognised code - value ignored", rule)
	return codeset.Entry{}, false
}

// startDates sets the dates the rules compare with from the clock, once a
// message.
func (d *decoder) startDates() {
	if d.datesSet {
		return // this message's dates are set
	}
	d.datesSet = true
	y, mo, day := d.v.now().Date()
	if d.today.y == y && d.today.mo == mo && d.today.day == day {
		return // the pooled decoder's dates are today's
	}
	d.today.y, d.today.mo, d.today.day = y, mo, day
	d.tomorrow = time.Date(y, mo, day, 0, 0, 0, 0, time.UTC).AddDate(0, 0, 1)
	d.oldest = d.tomorrow.AddDate(-130, 0, 0)
}
