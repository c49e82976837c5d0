package immz

import (
	"bytes"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/iisproject/iis"
	"github.com/iisproject/iis/codeset"
	"github.com/iisproject/iis/hl7"
)

// LOINC observation identifiers of the immunization OBX.
const (
	obsVFCEligibility   = "64994-7"
	obsFundingSource    = "30963-3"
	obsVISDocument      = "69764-9"
	obsVaccineType      = "30956-7"
	obsVISPublished     = "29768-9"
	obsVISPresented     = "29769-7"
	obsImmunity         = "59784-9"
	obsContraindication = "30945-0"
	obsReaction         = "31044-1"
)

// group is one ORC/RXA/RXR/OBX group being decoded.
type group struct {
	vac      *iis.Vaccination // an element of the decoder's dose slice
	rejected bool
	rxaSeq   int
	orcSeq   int
	visSubs  []string // OBX-4 sub-IDs of g.vac.VIS, in order
	hasRXA   bool
	// eligibility is set when a 64994-7 OBX was sent, even with a code
	// that was not recognised (that is warned about once, on its own).
	eligibility bool
	// administered: the RXA reports a dose given now (not historical,
	// completed, a vaccine), which needs its eligibility.
	administered bool
	// The data quality rules' notes (see quality_vaccine.go): the date
	// given, whether the eligibility is VFC and the funding private stock,
	// and the VIS reported (decoder.vis[vis0:vis0+nvis], see visOf).
	adminAt           time.Time
	cvx               *cvxInfo // the dose's CVX, when the table knows it
	vfc, privateStock bool
	fundingSeq        int
	funded            bool // a 30963-3 funding source was sent
	vis0, nvis        int32
}

// vxu decodes and validates a VXU^V04:
// MSH [SFT] PID [PD1] [{NK1}] [PV1 [PV2]] [{IN1…}] {ORC [{TQ1}] RXA [RXR] [{OBX [{NTE}]}]}
//
// Its steps: set up the patient and the groups (on the stack for Check),
// read each segment (its shape, then its content), report the required
// segments that are missing, and keep the accepted doses.
func (d *decoder) vxu() {
	d.startDates()
	var (
		out     *VXU
		p       *iis.Patient
		havePID bool
		// groups and vacs are sized exactly (see countGroups), so pointers
		// into them stay valid.
		ngroups = countGroups(d.m)
		groups  []group
		vacs    []iis.Vaccination
		cur     *group
		vac     *iis.Vaccination // cur's dose
		inGroup bool
		kin     int // NK1 accepted
		// Check keeps nothing: the patient and the groups are read into
		// the stack (no write barriers, nothing to clear afterwards), the
		// doses one at a time into checkVac, and the values are read in
		// place (see text).
		checkPatient iis.Patient
		checkGroups  [8]group
		checkVac     iis.Vaccination
		// fb holds the fields of the segment being read: one buffer for
		// all, not one to clear per segment.
		fb fieldBuf
	)
	if d.check {
		p = &checkPatient
		groups = checkGroups[:0]
		if ngroups > len(checkGroups) {
			groups = make([]group, 0, ngroups)
		}
		d.inPlace = true
	} else {
		out = &VXU{}
		p = &out.Patient
		vacs, groups = make([]iis.Vaccination, ngroups), make([]group, 0, ngroups)
	}
	newGroup := func(orcSeq int) {
		g := group{orcSeq: orcSeq}
		if d.check {
			checkVac = iis.Vaccination{}
			vac = &checkVac // not kept in the group, which would move it to the heap
		} else {
			g.vac = &vacs[len(groups)]
			vac = g.vac
		}
		groups = append(groups, g)
		cur = &groups[len(groups)-1]
	}
	esc, segs := d.delims.Escape, d.m.Segments()
	bodyPlain := d.bodyPlain(segs)
	// shaped is the shape issue (see shape) of a dose group's segment: it
	// rejects the group that segment is in, known once the segment is read.
	var (
		shaped  Issue
		pending bool // shaped is to be added
	)
	rejectShaped := func() {
		if pending {
			d.rejectGroup(shaped, cur)
			pending = false
		}
	}
	for _, s := range segs {
		rejectShaped()
		id := s.ID()
		seq := d.nextSeq(id)
		d.plainSeg = bodyPlain || bytes.IndexByte(s.Bytes(), esc) < 0
		if is, ok := d.segmentShape(s, id, seq, inGroup); ok {
			shaped, pending = is, true
		}
		switch id {
		case "MSH", "SFT", "PV2", "IN1", "IN2", "IN3", "TQ1", "TQ2", "NTE":
			// Accepted and not needed for the registry.
		case "PV1":
			d.pv1(s, &fb, seq)
		case "PID":
			d.firstPID(s, &fb, seq, p, havePID)
			havePID = true
		case "PD1":
			d.pd1(s, &fb, seq, p)
		case "NK1":
			if d.guardian(s, &fb, seq, p) {
				kin++
			}
		case "ORC":
			newGroup(seq)
			inGroup = true
			d.orc(s, &fb, seq, vac)
		case "RXA":
			if cur == nil || cur.hasRXA {
				newGroup(0)
				d.warn(loc("RXA", seq, 0), CodeSegmentSequence, AppRequiredData, "RXA is not preceded by its ORC segment", "ORC required")
			}
			inGroup = true
			d.groupRXA(s, &fb, seq, cur, vac, p)
		case "RXR":
			d.groupRXR(s, &fb, seq, cur, vac)
		case "OBX":
			d.placeOBX(s, &fb, seq, inGroup, cur, vac, p)
		default:
			d.notInVXU(id, seq)
		}
	}
	rejectShaped()
	d.responsibleParty(p, kin)
	d.requireSegments(groups, havePID)
	if d.res.Rejected() {
		return
	}
	k := d.keepDoses(groups, vacs, out)
	if d.check {
		return // the verdict only: see Validator.Check
	}
	out.Vaccinations = vacs[:k:k]
	d.res.VXU = out
}

// bodyPlain reports whether the message has no escape character after
// MSH-2. Most messages have none: one search of the body spares one per
// segment.
func (d *decoder) bodyPlain(segs []hl7.Segment) bool {
	esc := d.delims.Escape
	return esc == 0 || len(segs) < 2 || bytes.IndexByte(d.base[offset(d.base, unsafe.SliceData(segs[1].Bytes())):], esc) < 0
}

// segmentShape checks a segment's shape (see shape). The issue of a dose
// group's segment is returned, to reject that group once the segment is
// read; any other is added at once, scoped to the envelope (MSH) or the
// message.
func (d *decoder) segmentShape(s hl7.Segment, id string, seq int, inGroup bool) (Issue, bool) {
	is, ok := d.shape(s, id, seq)
	if !ok {
		return Issue{}, false
	}
	switch {
	case id == "MSH":
		is.Scope = ScopeEnvelope
	case id == "ORC", id == "TQ1", id == "TQ2", id == "RXA", id == "RXR", inGroup && (id == "OBX" || id == "NTE"):
		return is, true
	default:
		is.Scope = ScopeMessage
	}
	is.Message += consequence(Error, is.Scope)
	d.add(is)
	return Issue{}, false
}

// rejectGroup adds a dose group's shape issue, scoped to the group, and
// rejects the group (cur, if any).
func (d *decoder) rejectGroup(shaped Issue, cur *group) {
	shaped.Scope = ScopeGroup
	shaped.Message += consequence(Error, ScopeGroup)
	d.add(shaped)
	if cur != nil {
		cur.rejected = true
	}
}

// firstPID reads the message's first PID into p; a later one (havePID)
// is warned about and ignored.
func (d *decoder) firstPID(s hl7.Segment, fb *fieldBuf, seq int, p *iis.Patient, havePID bool) {
	if havePID {
		d.warn(loc("PID", seq, 0), CodeSegmentSequence, AppDataIgnored, "Only one PID segment is allowed - this one was ignored", "PID repeated")
		return
	}
	d.pid(s, fb, seq, p)
}

// guardian reads an NK1 into p's guardians (for Check, only validates it)
// and reports whether it was accepted.
func (d *decoder) guardian(s hl7.Segment, fb *fieldBuf, seq int, p *iis.Patient) bool {
	g, ok := d.nk1(s, fb, seq, p)
	if ok && !d.check {
		p.Guardians = append(p.Guardians, g)
	}
	return ok
}

// notInVXU warns about a segment that is not part of a VXU^V04 (a Z
// segment is ignored silently).
func (d *decoder) notInVXU(id string, seq int) {
	if !strings.HasPrefix(id, "Z") {
		d.warn(loc(id, seq, 0), CodeSegmentSequence, AppDataIgnored, id+" segment is not part of VXU^V04 - ignored", "segment not in VXU")
	}
}

// orc reads the ORC that starts a group into its dose vac.
func (d *decoder) orc(s hl7.Segment, fb *fieldBuf, seq int, vac *iis.Vaccination) {
	f := split(s, fb)
	vac.FillerOrder = d.readEI(f.at(3))
	if !d.check {
		vac.PlacerOrder = d.readEI(f.at(2))
		vac.EnteredBy = d.readXCN(f.at(10))
		vac.OrderedBy = d.readXCN(f.at(12))
	}
	d.optional(f, "ORC", seq, orcOptional)
	if d.on("MQE0443") {
		d.orderFacility(f, seq)
	}
	if rc := d.text(f.at(1)); rc != "" && rc != "RE" {
		d.detect("MQE0370", loc("ORC", seq, 1), CodeTableValueNotFound, AppInvalidValue, "ORC-1 order control "+quote(rc)+" is not RE (observations to follow), which a VXU's ORC is")
	}
	if vac.FillerOrder.Value == "" {
		d.warn(loc("ORC", seq, 3), CodeRequiredFieldMiss, AppRequiredData, "ORC-3 filler order number (the sender's unique id of this immunization) is missing; updates and deletes of this dose cannot be matched", "ORC-3 required")
	}
}

// orderFacility tells that ORC-21, the ordering facility (its name, XON-1,
// or identifier, XON-10), which iis does not keep, was sent (MQE0443, on
// ORC-21 as in MQE).
func (d *decoder) orderFacility(f fields, seq int) {
	if v := f.at(21); !v.IsEmpty() && (d.text(v.Comp(1)) != "" || d.text(v.Comp(10)) != "") {
		d.detect("MQE0443", loc("ORC", seq, 21), CodeApplicationError, AppDataIgnored, "ORC-21 ordering facility is not kept by this IIS")
	}
}

// groupRXA reads the RXA of group g into its dose vac (and p), and notes
// whether it reports a dose given now.
func (d *decoder) groupRXA(s hl7.Segment, fb *fieldBuf, seq int, g *group, vac *iis.Vaccination, p *iis.Patient) {
	g.hasRXA = true
	g.rxaSeq = seq
	vac.Position = seq
	d.rxa(s, fb, seq, g, vac, p)
	g.administered = !vac.Historical && vac.CompletionStatus == "CP" && vac.CVX != codeset.CVXNoVaccineAdministered
}

// groupRXR reads an RXR into the dose vac of group g; outside an ORC/RXA
// group it is warned about and ignored.
func (d *decoder) groupRXR(s hl7.Segment, fb *fieldBuf, seq int, g *group, vac *iis.Vaccination) {
	if g == nil || !g.hasRXA {
		d.warn(loc("RXR", seq, 0), CodeSegmentSequence, AppDataIgnored, "RXR is not inside an ORC/RXA group - ignored", "RXR placement")
		return
	}
	d.rxr(s, fb, seq, vac)
}

// placeOBX reads an OBX and places it: before any group, a patient-level
// observation of p; after the RXA of group g, an observation of its dose
// vac; between an ORC and its RXA, it is warned about and ignored.
func (d *decoder) placeOBX(s hl7.Segment, fb *fieldBuf, seq int, inGroup bool, g *group, vac *iis.Vaccination, p *iis.Patient) {
	o := d.obx(s, fb, seq)
	switch {
	case !inGroup:
		if !d.check && o.ID.Code != "" { // without OBX-3 it is ignored, as the ACK says
			p.Observations = append(p.Observations, o)
		}
	case g != nil && g.hasRXA:
		d.groupObservation(o, seq, g, vac)
	default:
		d.warn(loc("OBX", seq, 0), CodeSegmentSequence, AppDataIgnored, "OBX between ORC and RXA - ignored", "OBX placement")
	}
}

// requireSegments reports the required segments that are missing: the
// PID, any RXA, and the RXA of each group. A missing segment is reported
// at the segment that is missing, with no ERR-5, as the IG's examples do.
func (d *decoder) requireSegments(groups []group, havePID bool) {
	if !havePID {
		d.add(Issue{Location: loc("PID", 1, 0), Code: CodeSegmentSequence, Severity: Error, Scope: ScopeMessage,
			Message: "PID segment is required - message rejected", Rule: "PID required"})
	}
	withRXA := 0
	for i := range groups {
		if groups[i].hasRXA {
			withRXA++
		}
	}
	if withRXA == 0 && havePID {
		d.add(Issue{Location: loc("RXA", 1, 0), Code: CodeSegmentSequence, Severity: Error, Scope: ScopeMessage,
			Message: "RXA segment is required: a VXU must report at least one immunization (ORC/RXA group) - message rejected", Rule: "RXA required"})
		return
	}
	n := 0
	for i := range groups {
		g := &groups[i]
		if g.hasRXA {
			n = g.rxaSeq
			continue
		}
		d.add(Issue{Location: loc("RXA", n+1, 0), Code: CodeSegmentSequence, Severity: Error, Scope: ScopeGroup,
			Message: "RXA segment is required after ORC " + strconv.Itoa(g.orcSeq) + " - this order was not recorded", Rule: "RXA required in group"})
	}
}

// keepDoses keeps the accepted doses, compacting vacs in place (k <= i),
// notes the rejected ones' positions in out, and returns how many were
// kept. For Check (out and vacs nil) it only finishes the groups.
func (d *decoder) keepDoses(groups []group, vacs []iis.Vaccination, out *VXU) int {
	k := 0
	for i := range groups {
		g := &groups[i]
		if !g.hasRXA {
			continue
		}
		if g.rejected {
			if !d.check {
				out.Rejected = append(out.Rejected, g.vac.Position)
			}
			continue
		}
		d.finishGroup(g)
		if !d.check && g.vac != &vacs[k] {
			vacs[k] = *g.vac
		}
		k++
	}
	return k
}

// countGroups counts the ORC/RXA groups of a VXU: each ORC starts one, and
// so does an RXA that is not the first RXA after an ORC.
func countGroups(m *hl7.Message) int {
	n, open := 0, false
	for _, s := range m.Segments() {
		switch {
		case s.Is("ORC"):
			n++
			open = true
		case s.Is("RXA"):
			if !open {
				n++
			}
			open = false
		}
	}
	return n
}

func (d *decoder) pid(s hl7.Segment, fb *fieldBuf, seq int, p *iis.Patient) {
	f := split(s, fb)
	rejectMsg := func(field int, code, app int, msg, rule string) {
		d.add(Issue{Location: loc("PID", seq, field), Code: code, Severity: Error, AppCode: app, Scope: ScopeMessage, Message: msg, Rule: rule})
	}
	// Check keeps no list (appending would allocate): it counts the
	// identifiers and finds the legal name as it goes.
	f3, ids := f.at(3), 0
	for r := 1; r <= f3.NumReps(); r++ {
		id := d.readCX(f3.Rep(r))
		if id.Value == "" {
			continue
		}
		ids++
		d.identifierQuality(id, seq, r)
		if id.Type == "" {
			d.warn(loc("PID", seq, 3, r, 5), CodeRequiredFieldMiss, AppRequiredData, "PID-3 identifier type code (CX-5) is missing", "PID-3.5 required")
		} else if !d.checkCode(d.v.tab.identifierType, id.Type, loc("PID", seq, 3, r, 5), "PID-3 identifier type", "PID-3.5 table") {
			id.Type = "" // the ACK says it was ignored
		}
		if !d.check {
			p.Identifiers = append(p.Identifiers, id)
		}
	}
	if ids == 0 {
		rejectMsg(3, CodeRequiredFieldMiss, AppRequiredData, "PID-3 patient identifier is required - message rejected", "PID-3 required")
	}

	f5 := f.at(5)
	var legal, first iis.Name // as p.LegalName() finds them
	firstType := ""
	names, typeL := 0, false
	for r := 1; r <= f5.NumReps(); r++ {
		n := d.readXPN(f5.Rep(r))
		if n.IsZero() {
			continue
		}
		if !d.check {
			p.Names = append(p.Names, n)
		}
		if names++; names == 1 {
			first, firstType = n, n.Type
		}
		if n.Type == "L" && !typeL {
			legal, typeL = n, true
		}
	}
	if !typeL {
		legal = first
	}
	switch {
	case legal.Family == "":
		rejectMsg(5, CodeRequiredFieldMiss, AppRequiredData, "PID-5 patient last name is required - message rejected", "PID-5 required")
	case legal.Given == "":
		d.warn(loc("PID", seq, 5, 1, 2), CodeRequiredFieldMiss, AppRequiredData, "PID-5 patient first name is missing", "PID-5.2 required")
	}
	if legal.Family != "" {
		d.nameQuality(legal, firstType, typeL, seq)
	}
	if !d.check {
		p.MotherMaidenName = d.readXPN(f.at(6))
	}

	if d.text(f.at(7).Comp(1)) == "" {
		rejectMsg(7, CodeRequiredFieldMiss, AppRequiredData, "PID-7 patient birth date is required - message rejected", "PID-7 required")
	} else if dob, ok := d.date(f.at(7), loc("PID", seq, 7), "PID-7 birth date", Error, ScopeMessage, "PID-7"); ok {
		p.BirthDate, d.birth = dob, dob
		if dob.Before(d.oldest) {
			d.warn(loc("PID", seq, 7), CodeApplicationError, AppIllogicalDate, "PID-7 birth date "+dob.Format("20060102")+" is more than 130 years ago", "PID-7 too old")
		}
	}

	p.Sex = d.text(f.at(8))
	if !d.checkCode(d.v.tab.sex, p.Sex, loc("PID", seq, 8), "PID-8 administrative sex", "PID-8 table") {
		p.Sex = ""
	}
	f10 := f.at(10)
	for r := 1; r <= f10.NumReps(); r++ {
		c := d.readCode(f10.Rep(r))
		if c.IsZero() {
			continue
		}
		if d.raceCode(c, loc("PID", seq, 10, r, 1)) && !d.check {
			p.Races = append(p.Races, c)
		}
	}
	f11 := f.at(11)
	for r := 1; r <= f11.NumReps(); r++ {
		a := d.readXAD(f11.Rep(r))
		if a == (iis.Address{}) {
			continue
		}
		if a.Zip != "" && (a.Country == "" || a.Country == "USA" || a.Country == "US") && !validZip(a.Zip) {
			d.warn(loc("PID", seq, 11, r, 5), CodeApplicationError, AppInvalidValue, "PID-11 ZIP code "+quote(a.Zip)+" is not a valid US ZIP code (5 or 9 digits) - value ignored", "PID-11.5 zip")
			a.Zip = ""
		}
		d.addressQuality(a, "PID", seq, 11, r, patientAddress)
		if !d.check {
			p.Addresses = append(p.Addresses, a)
		}
	}
	if !d.check {
		p.PrimaryLanguage = d.readCode(f.at(15))
	}
	f22 := f.at(22)
	for r := 1; r <= f22.NumReps(); r++ {
		c := d.readCode(f22.Rep(r))
		if c.IsZero() {
			continue
		}
		if d.ethnicityCode(c, loc("PID", seq, 22, r, 1)) && !d.check {
			p.Ethnicities = append(p.Ethnicities, c)
		}
	}
	p.MultipleBirth = d.text(f.at(24))
	if !d.checkCode(d.v.tab.yesNo, p.MultipleBirth, loc("PID", seq, 24), "PID-24 multiple birth indicator", "PID-24 table") {
		p.MultipleBirth = ""
	}
	if o := d.text(f.at(25)); o != "" {
		n, err := strconv.Atoi(o)
		if err != nil || n < 1 || n > 9 {
			d.warn(loc("PID", seq, 25), CodeDataType, AppInvalidValue, "PID-25 birth order "+quote(o)+" is not a number from 1 to 9 - value ignored", "PID-25 format")
		} else {
			p.BirthOrder = n
		}
	}
	p.DeathDate, _ = d.date(f.at(29), loc("PID", seq, 29), "PID-29 death date", Warning, ScopeField, "PID-29")
	d.patientQuality(f, seq, p)
}

func validZip(z string) bool {
	switch len(z) {
	case 5:
		return digits(z)
	case 9:
		return digits(z)
	case 10:
		return digits(z[:5]) && z[5] == '-' && digits(z[6:])
	}
	return false
}

func (d *decoder) pd1(s hl7.Segment, fb *fieldBuf, seq int, p *iis.Patient) {
	f := split(s, fb)
	p.PublicityCode = d.readCode(f.at(11))
	if !d.checkCode(d.v.tab.publicity, p.PublicityCode.Code, loc("PD1", seq, 11, 1, 1), "PD1-11 publicity code", "PD1-11 table") {
		p.PublicityCode = iis.Code{}
	}
	p.Protection = d.text(f.at(12))
	if !d.checkCode(d.v.tab.yesNo, p.Protection, loc("PD1", seq, 12), "PD1-12 protection indicator", "PD1-12 table") {
		p.Protection = ""
	}
	p.ProtectionDate, _ = d.date(f.at(13), loc("PD1", seq, 13), "PD1-13 protection indicator date", Warning, ScopeField, "PD1-13")
	p.RegistryStatus = d.text(f.at(16))
	if !d.checkCode(d.v.tab.registryStatus, p.RegistryStatus, loc("PD1", seq, 16), "PD1-16 immunization registry status", "PD1-16 table") {
		p.RegistryStatus = ""
	}
	p.RegistryStatusDate, _ = d.date(f.at(17), loc("PD1", seq, 17), "PD1-17 registry status date", Warning, ScopeField, "PD1-17")
	p.PublicityDate, _ = d.date(f.at(18), loc("PD1", seq, 18), "PD1-18 publicity code date", Warning, ScopeField, "PD1-18")
	d.pd1Quality(f, seq, p)
}

func (d *decoder) nk1(s hl7.Segment, fb *fieldBuf, seq int, p *iis.Patient) (iis.Guardian, bool) {
	f := split(s, fb)
	g := iis.Guardian{Name: d.readXPN(f.at(2)), Relationship: d.readCode(f.at(3))}
	reject := func(field int, msg, rule string) {
		d.add(Issue{Location: loc("NK1", seq, field), Code: CodeRequiredFieldMiss, Severity: Error, AppCode: AppRequiredData, Scope: ScopeSegment, Message: msg, Rule: rule})
	}
	if g.Name.IsZero() {
		d.add(Issue{Location: loc("NK1", seq, 2), Code: CodeRequiredFieldMiss, Severity: Error, AppCode: AppRequiredData, Scope: ScopeSegment,
			Message: "NK1-2 next of kin name is missing - segment rejected", Rule: "NK1-2 name required"})
		return g, false
	}
	if g.Name.Family == "" {
		reject(2, "NK1-2 next of kin last name is missing - segment rejected", "NK1-2 required")
		return g, false
	}
	if g.Relationship.Code == "" {
		reject(3, "NK1-3 relationship to the patient is missing - segment rejected", "NK1-3 required")
		return g, false
	}
	if !d.checkCode(d.v.tab.relationship, g.Relationship.Code, loc("NK1", seq, 3, 1, 1), "NK1-3 relationship", "NK1-3 table") {
		g.Relationship = iis.Code{} // the ACK says it was ignored
	}
	d.kinQuality(f, seq, g, p)
	if d.check {
		return g, true
	}
	f4 := f.at(4)
	for r := 1; r <= f4.NumReps(); r++ {
		if a := d.readXAD(f4.Rep(r)); a != (iis.Address{}) {
			g.Addresses = append(g.Addresses, a)
		}
	}
	f5 := f.at(5)
	for r := 1; r <= f5.NumReps(); r++ {
		if ph := d.readXTN(f5.Rep(r)); ph != (iis.Phone{}) {
			g.Phones = append(g.Phones, ph)
		}
	}
	return g, true
}

func (d *decoder) rxa(s hl7.Segment, fb *fieldBuf, seq int, g *group, v *iis.Vaccination, p *iis.Patient) {
	f := split(s, fb)
	rejectGroup := func(l ErrorLocation, code, app int, msg, rule string) {
		g.rejected = true
		d.add(Issue{Location: l, Code: code, Severity: Error, AppCode: app, Scope: ScopeGroup, Message: msg, Rule: rule})
	}

	// RXA-3 administration date.
	if d.text(f.at(3).Comp(1)) == "" {
		rejectGroup(loc("RXA", seq, 3), CodeRequiredFieldMiss, AppRequiredData, "RXA-3 date administered is required - this immunization was not recorded", "RXA-3 required")
	} else if t, ok := d.date(f.at(3), loc("RXA", seq, 3), "RXA-3 date administered", Error, ScopeGroup, "RXA-3"); ok {
		v.AdministeredAt = t
		if !p.BirthDate.IsZero() && t.Before(p.BirthDate) {
			rejectGroup(loc("RXA", seq, 3), CodeApplicationError, AppIllogicalDate, "RXA-3 date administered "+t.Format("20060102")+" is before the patient's birth date - this immunization was not recorded", "RXA-3 before birth")
		}
	} else {
		g.rejected = true
	}
	v.AdministeredEnd, _ = d.date(f.at(4), loc("RXA", seq, 4), "RXA-4 date administered (end)", Warning, ScopeField, "RXA-4")

	// RXA-5 vaccine: CVX, NDC or CPT in either triplet.
	f5 := f.at(5)
	v.Vaccine = d.readCode(f5)
	d.vaccineCodes(v)
	switch {
	case v.Vaccine.IsZero():
		rejectGroup(loc("RXA", seq, 5), CodeRequiredFieldMiss, AppRequiredData, "RXA-5 administered code (vaccine) is required - this immunization was not recorded", "RXA-5 required")
	case v.CVX != "":
		if !d.v.tab.cvx.Contains(v.CVX) {
			comp := 1
			if !strings.EqualFold(v.Vaccine.System, "CVX") {
				comp = 4
			}
			rejectGroup(loc("RXA", seq, 5, 1, comp), CodeTableValueNotFound, AppTableValueNotFound, "RXA-5 vaccine code "+quote(v.CVX)+" is not a recognised CVX code - this immunization was not recorded", "RXA-5 unknown CVX")
			v.CVX = ""
		}
	case v.NDC == "" && v.CPT == "":
		rejectGroup(loc("RXA", seq, 5, 1, 3), CodeTableValueNotFound, AppTableValueNotFound, "RXA-5 coding system "+quote(v.Vaccine.System)+" is not CVX, NDC or CPT - this immunization was not recorded", "RXA-5 coding system")
	}

	v.Amount = d.text(f.at(6))
	if v.Amount == "" {
		d.warn(loc("RXA", seq, 6), CodeRequiredFieldMiss, AppRequiredData, "RXA-6 administered amount is missing (use 999 when unknown)", "RXA-6 required")
	} else if !isNumber(v.Amount) {
		d.warn(loc("RXA", seq, 6), CodeDataType, AppInvalidValue, "RXA-6 administered amount "+quote(v.Amount)+" is not a number - value ignored", "RXA-6 format")
		v.Amount = ""
	}
	if !d.check {
		v.AdministeredBy = d.readXCN(f.at(10))
		v.Facility = d.readHD(f.at(11).Comp(4))
	}
	if es := d.text(f.at(16).Comp(1)); es != "" {
		if t, _, err := parseDTM(es); err != nil {
			d.warn(loc("RXA", seq, 16), CodeDataType, AppInvalidDate, "RXA-16 substance expiration date "+quote(es)+" is not a valid date - value ignored", "RXA-16 format")
		} else {
			v.Expiration = t
		}
	}
	v.Manufacturer = d.readCode(f.at(17))
	if !d.checkCode(d.v.tab.mvx, v.Manufacturer.Code, loc("RXA", seq, 17, 1, 1), "RXA-17 manufacturer (MVX)", "RXA-17 table") {
		v.Manufacturer = iis.Code{}
	}
	// Refusal reasons not in NIP002 are ignored, as the ACK says; the
	// RE rule below counts the reasons sent.
	f18, refusals := f.at(18), 0
	for r := 1; r <= f18.NumReps(); r++ {
		c := d.readCode(f18.Rep(r))
		if c.IsZero() {
			continue
		}
		refusals++
		if d.checkCode(d.v.tab.refusalReason, c.Code, loc("RXA", seq, 18, r, 1), "RXA-18 substance/treatment refusal reason", "RXA-18 table") {
			v.RefusalReasons = append(v.RefusalReasons, c)
		}
	}

	v.CompletionStatus = d.text(f.at(20))
	switch {
	case v.CompletionStatus == "":
		v.CompletionStatus = "CP"
	case !d.v.tab.completionStatus.Contains(v.CompletionStatus):
		d.warn(loc("RXA", seq, 20), CodeTableValueNotFound, AppTableValueNotFound, "RXA-20 completion status "+quote(v.CompletionStatus)+" is not CP, RE, NA or PA; recorded as CP", "RXA-20 table")
		v.CompletionStatus = "CP"
	}
	d.completionStatus(v.CompletionStatus, seq)
	if v.CompletionStatus == "RE" && refusals == 0 {
		d.warn(loc("RXA", seq, 18), CodeRequiredFieldMiss, AppRequiredData, "RXA-18 refusal reason is required when RXA-20 is RE", "RXA-18 required for RE")
	}
	v.InformationSource = d.readCode(f.at(9))
	switch src := v.InformationSource.Code; {
	case src == "" && (v.CompletionStatus == "RE" || v.CompletionStatus == "NA"):
		// No dose was given: there is no source to state.
	case src == "":
		d.warn(loc("RXA", seq, 9), CodeRequiredFieldMiss, AppRequiredData, "RXA-9 administration notes (information source: 00 new record or 01 historical) is missing; the dose is recorded as historical", "RXA-9 required")
		v.Historical = true
	case !d.v.tab.informationSource.Contains(src):
		d.warn(loc("RXA", seq, 9, 1, 1), CodeTableValueNotFound, AppTableValueNotFound, "RXA-9 information source "+quote(src)+" is not in NIP001; the dose is recorded as historical", "RXA-9 table")
		v.Historical = true
	default:
		v.Historical = src != "00"
	}
	v.Action = d.text(f.at(21))
	switch {
	case v.Action == "":
		if d.on("MQE0235") { // silent by default: spare its location
			d.detect("MQE0235", loc("RXA", seq, 21), CodeRequiredFieldMiss, AppRequiredData, "RXA-21 action code is missing; recorded as A (add)")
		}
		v.Action = "A"
	case !d.v.tab.actionCode.Contains(v.Action):
		d.warn(loc("RXA", seq, 21), CodeTableValueNotFound, AppTableValueNotFound, "RXA-21 action code "+quote(v.Action)+" is not A, U or D; recorded as A", "RXA-21 table")
		v.Action = "A"
	}
	v.SystemEntry, _ = d.date(f.at(22), loc("RXA", seq, 22), "RXA-22 system entry date", Warning, ScopeField, "RXA-22")
	d.rxaQuality(f, seq, g, v, p)
}

// completionStatus tells, as information, that a dose was not (fully)
// given.
func (d *decoder) completionStatus(cs string, seq int) {
	var det, what string
	switch cs {
	case "NA":
		det, what = "MQE0291", "not administered (NA)"
	case "PA":
		det, what = "MQE0292", "partially administered (PA)"
	case "RE":
		det, what = "MQE0293", "refused (RE)"
	default:
		return
	}
	d.detect(det, loc("RXA", seq, 20), CodeApplicationError, AppIllogicalValue, "RXA-20 completion status: the dose was "+what)
}

// vaccineCodes sorts RXA-5's triplets into CVX, NDC and CPT. A triplet
// with no coding system is taken as CVX when it looks like one (1-3 digits).
// Without a CVX, the vaccine's CVX is the one CDC's NDC lists (or the CPT
// table) give the code sent.
func (d *decoder) vaccineCodes(v *iis.Vaccination) {
	c := v.Vaccine
	for _, t := range [2][2]string{{c.Code, c.System}, {c.AltCode, c.AltSystem}} {
		code, sys := t[0], strings.ToUpper(t[1])
		if code == "" {
			continue
		}
		switch {
		case sys == "CVX" || (sys == "" && len(code) <= 3 && digits(code)):
			if v.CVX == "" {
				v.CVX = code
			}
		case sys == "NDC":
			v.NDC = code
		case sys == "CPT" || sys == "C4":
			v.CPT = code
		}
	}
	if v.CVX == "" && v.CPT != "" {
		if e, ok := d.v.tab.cpt.Lookup(v.CPT); ok {
			v.CVX = d.v.tab.cpt.Field(e, "cvx")
		}
	}
	if v.CVX == "" && v.NDC != "" {
		if e, ok := ndcLookup(d.v.tab.ndc, v.NDC); ok {
			v.CVX = d.v.tab.ndc.Field(e, "cvx")
		}
	}
}

// cvxSent reports whether RXA-5 gave a CVX code itself (as vaccineCodes
// reads it), rather than one taken from an NDC or CPT code.
func cvxSent(c iis.Code) bool {
	for _, t := range [2][2]string{{c.Code, c.System}, {c.AltCode, c.AltSystem}} {
		if t[0] != "" && (strings.EqualFold(t[1], "CVX") || (t[1] == "" && len(t[0]) <= 3 && digits(t[0]))) {
			return true
		}
	}
	return false
}

func (d *decoder) rxr(s hl7.Segment, fb *fieldBuf, seq int, v *iis.Vaccination) {
	f := split(s, fb)
	v.Route = d.readCode(f.at(1))
	if e, ok := d.checkEntry(d.v.tab.route, v.Route.Code, loc("RXR", seq, 1, 1, 1), "RXR-1 route of administration", "RXR-1 table"); !ok {
		v.Route = iis.Code{}
	} else if e.Status == "Deprecated" {
		d.detect("MQE0273", loc("RXR", seq, 1, 1, 1), CodeTableValueNotFound, AppInvalidValue, "RXR-1 route "+quote(e.Code)+" is a deprecated code; send its current equivalent")
	}
	v.Site = d.readCode(f.at(2))
	d.routeQuality(seq, v)
	d.optional(f, "RXR", seq, rxrOptional)
	if !d.checkCode(d.v.tab.site, v.Site.Code, loc("RXR", seq, 2, 1, 1), "RXR-2 administration site", "RXR-2 table") {
		v.Site = iis.Code{}
	}
}

func (d *decoder) obx(s hl7.Segment, fb *fieldBuf, seq int) iis.Observation {
	f := split(s, fb)
	o := iis.Observation{
		ValueType: d.text(f.at(2)),
		ID:        d.readCode(f.at(3)),
	}
	o.SubID = d.text(f.at(4))
	if !d.check {
		o.Units, o.Status, o.Method = d.readCode(f.at(6)), d.text(f.at(11)), d.readCode(f.at(17))
		o.SetID, _ = strconv.Atoi(d.text(f.at(1)))
	}
	switch o.ValueType {
	case "CE", "CWE":
		o.Coded = d.readCode(f.at(5))
	default:
		if !d.check || o.ID.Code == obsVISPublished || o.ID.Code == obsVISPresented { // only VIS dates are read from text values
			o.Value = d.text(f.at(5).Comp(1))
		}
	}
	o.Date, _ = d.date(f.at(14), loc("OBX", seq, 14), "OBX-14 date/time of the observation", Warning, ScopeField, "OBX-14")
	if o.ID.Code == "" {
		d.warn(loc("OBX", seq, 3), CodeRequiredFieldMiss, AppRequiredData, "OBX-3 observation identifier is missing - observation ignored", "OBX-3 required")
	}
	if o.ValueType == "" {
		d.warn(loc("OBX", seq, 2), CodeRequiredFieldMiss, AppRequiredData, "OBX-2 value type is missing", "OBX-2 required")
	}
	d.observationQuality(f, seq, o)
	return o
}

// groupObservation files an OBX under its dose: the observations the
// profile names go to typed fields, any other is kept in Observations.
func (d *decoder) groupObservation(o iis.Observation, seq int, g *group, v *iis.Vaccination) {
	if o.ID.Code == "" {
		return
	}
	switch o.ID.Code {
	case obsVFCEligibility:
		g.eligibility = true
		v.FundingEligibility, v.EligibilityMethod = o.Coded, o.Method
		e, ok := d.checkEntry(d.v.tab.financialClass, o.Coded.Code, loc("OBX", seq, 5, 1, 1), "VFC eligibility (OBX-5 of 64994-7)", "64994-7 table")
		if !ok {
			v.FundingEligibility = iis.Code{}
		}
		d.eligibilityQuality(o, seq, g, v, e)
	case obsFundingSource:
		e, ok := d.checkEntry(d.v.tab.fundingSource, o.Coded.Code, loc("OBX", seq, 5, 1, 1), "Funding source (OBX-5 of 30963-3)", "30963-3 table")
		if ok {
			v.FundingSource = o.Coded
		}
		d.fundingQuality(seq, g, e)
	case obsVISDocument, obsVaccineType, obsVISPublished, obsVISPresented:
		d.visObservation(o, seq, g)
		if !d.check {
			g.keep(o)
		}
	case obsImmunity, obsContraindication, obsReaction:
		if !d.check { // kept, never checked
			g.keep(o)
		}
	default:
		if !d.check {
			v.Observations = append(v.Observations, o)
		}
	}
}

// keep files an observation that no rule looks at under its dose.
func (g *group) keep(o iis.Observation) {
	v := g.vac
	switch o.ID.Code {
	case obsVISDocument:
		g.vis(o.SubID).Document = o.Coded
	case obsVaccineType:
		g.vis(o.SubID).VaccineType = o.Coded
	case obsVISPublished:
		t, _, _ := parseDTM(o.Value)
		g.vis(o.SubID).Published = t
	case obsVISPresented:
		t, _, _ := parseDTM(o.Value)
		g.vis(o.SubID).Presented = t
	case obsImmunity:
		v.Immunity = append(v.Immunity, o.Coded)
	case obsContraindication:
		v.Contraindications = append(v.Contraindications, o.Coded)
	case obsReaction:
		v.Reactions = append(v.Reactions, o.Coded)
	}
}

// vis returns the VIS record that OBX-4 sub-ID sub ties together.
func (g *group) vis(sub string) *iis.VIS {
	for i, s := range g.visSubs {
		if s == sub {
			return &g.vac.VIS[i]
		}
	}
	g.visSubs = append(g.visSubs, sub)
	g.vac.VIS = append(g.vac.VIS, iis.VIS{})
	return &g.vac.VIS[len(g.vac.VIS)-1]
}

// finishGroup applies the checks that need the whole group.
func (d *decoder) finishGroup(g *group) {
	if g.administered && !g.eligibility {
		d.warn(loc("RXA", g.rxaSeq, 0), CodeRequiredFieldMiss, AppRequiredObservation,
			"An administered dose needs its VFC eligibility observation (OBX 64994-7)", "64994-7 required")
	}
	d.groupQuality(g)
}

// isNumber reports whether strconv.ParseFloat accepts s. The usual amounts
// (digits, with or without one decimal point) are told without it.
func isNumber(s string) bool {
	if len(s) <= 15 {
		point, digit := false, false
		for i := 0; i < len(s); i++ {
			switch c := s[i]; {
			case c >= '0' && c <= '9':
				digit = true
			case c == '.' && !point:
				point = true
			default:
				_, err := strconv.ParseFloat(s, 64)
				return err == nil
			}
		}
		if digit {
			return true
		}
	}
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}
