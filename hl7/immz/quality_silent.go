package immz

import (
	"time"

	"github.com/iisproject/iis"
)

// The detections MQE records silently by default (ACCEPT): a missing
// optional value, or a value worth counting. They raise nothing unless a
// facility gives them a severity; until one does, their checks do not run
// (severities.silent).

// field is one optional field a silent detection watches.
type field struct {
	n    int
	det  string
	what string
}

// Optional fields of each segment whose absence MQE can report.
var (
	mshOptional = []field{{3, "MQE0035", "MSH-3 sending application"}, {5, "MQE0030", "MSH-5 receiving application"},
		{6, "MQE0032", "MSH-6 receiving facility"}, {15, "MQE0006", "MSH-15 accept acknowledgment type"}, {16, "MQE0410", "MSH-16 application acknowledgment type"}}
	pidOptional = []field{{6, "MQE0171", "PID-6 mother's maiden name"}, {8, "MQE0146", "PID-8 administrative sex"}, {10, "MQE0209", "PID-10 race"},
		{11, "MQE0092", "PID-11 address"}, {13, "MQE0176", "PID-13 telephone"}, {15, "MQE0186", "PID-15 primary language"},
		{22, "MQE0138", "PID-22 ethnic group"}, {23, "MQE0126", "PID-23 birth place"}, {24, "MQE0122", "PID-24 multiple birth indicator"},
		{25, "MQE0124", "PID-25 birth order"}, {30, "MQE0134", "PID-30 death indicator"}}
	pd1Optional = []field{{3, "MQE0180", "PD1-3 primary facility"}, {4, "MQE0191", "PD1-4 primary care provider"},
		{11, "MQE0204", "PD1-11 publicity code"}, {12, "MQE0197", "PD1-12 protection indicator"}, {16, "MQE0163", "PD1-16 registry status"}}
	nk1Optional = []field{{4, "MQE0057", "NK1-4 address"}, {5, "MQE0084", "NK1-5 telephone"}}
	orcOptional = []field{{1, "MQE0371", "ORC-1 order control"}, {2, "MQE0387", "ORC-2 placer order number"},
		{10, "MQE0357", "ORC-10 entered by"}, {12, "MQE0348", "ORC-12 ordering provider"}}
	rxaOptional = []field{{4, "MQE0267", "RXA-4 date administered (end)"}, {7, "MQE0272", "RXA-7 administered units"},
		{10, "MQE0320", "RXA-10 administering provider"}, {20, "MQE0288", "RXA-20 completion status"}, {22, "MQE0573", "RXA-22 system entry date"}}
	rxrOptional = []field{{1, "MQE0277", "RXR-1 route"}, {2, "MQE0283", "RXR-2 site"}}
)

// optional raises the detection of each field of seg that is empty. It is
// inlined: while the silent detections are, it costs one test.
func (d *decoder) optional(f fields, seg string, seq int, list []field) {
	if d.v.sevs.silent {
		d.missing(f, seg, seq, list)
	}
}

// missing is optional's work.
func (d *decoder) missing(f fields, seg string, seq int, list []field) {
	for _, o := range list {
		if d.v.sevs.sev[detectionNumber(o.det)] != Accept && f.at(o.n).IsEmpty() {
			if b, ok := d.say(o.det); ok {
				b.s(o.what).s(" is missing")
				d.raise(o.det, loc(seg, seq, o.n), CodeRequiredFieldMiss, AppRequiredData)
			}
		}
	}
}

// tell raises det, a detection that counts a value rather than faults it.
func (d *decoder) tell(det string, l ErrorLocation, msg string) {
	if d.v.sevs.silent && d.on(det) {
		d.detect(det, l, CodeApplicationError, AppIllogicalValue, msg)
	}
}

// dayOfMonth tells a date on the 1st, the 15th or the last day of its
// month (a sign of a made-up date), with the detections of each.
func (d *decoder) dayOfMonth(t time.Time, l ErrorLocation, what string, first, fifteenth, last string) {
	if !d.v.sevs.silent || t.IsZero() {
		return
	}
	switch day := t.Day(); {
	case day == 1:
		d.tell(first, l, what+" is on the first day of its month")
	case day == 15:
		d.tell(fifteenth, l, what+" is on the 15th day of its month")
	case t.AddDate(0, 0, 1).Day() == 1:
		d.tell(last, l, what+" is on the last day of its month")
	}
}

// rxaSilent counts an RXA's values: its source, status, action, amount and
// vaccine, and its day of the month.
func (d *decoder) rxaSilent(f fields, seq int, v *iis.Vaccination, administered bool) {
	if d.v.sevs.silent {
		d.rxaValues(f, seq, v, administered)
	}
}

// rxaValues is rxaSilent's work.
func (d *decoder) rxaValues(f fields, seq int, v *iis.Vaccination, administered bool) {
	d.optional(f, "RXA", seq, rxaOptional)
	if administered && f.at(16).IsEmpty() {
		d.tell("MQE0337", loc("RXA", seq, 16), "RXA-16 lot expiration date is missing for an administered dose")
	}
	if f.at(11).Comp(4).IsEmpty() {
		d.tell("MQE0314", loc("RXA", seq, 11, 1, 4), "RXA-11 administered-at facility (RXA-11.4) is missing")
	}
	switch v.InformationSource.Code {
	case "00":
		d.tell("MQE0334", loc("RXA", seq, 9), "RXA-9 says administered (00)")
	case "01":
		d.tell("MQE0335", loc("RXA", seq, 9), "RXA-9 says historical (01)")
	}
	if v.CompletionStatus == "CP" && !f.at(20).IsEmpty() {
		d.tell("MQE0290", loc("RXA", seq, 20), "RXA-20 completion status is CP (complete)")
	}
	switch d.text(f.at(21)) {
	case "A":
		d.tell("MQE0237", loc("RXA", seq, 21), "RXA-21 action code is A (add)")
	case "U":
		d.tell("MQE0240", loc("RXA", seq, 21), "RXA-21 action code is U (update)")
	case "D":
		d.tell("MQE0239", loc("RXA", seq, 21), "RXA-21 action code is D (delete)")
	}
	switch v.Amount {
	case "0":
		d.tell("MQE0270", loc("RXA", seq, 6), "RXA-6 administered amount is 0")
	case "999":
		d.tell("MQE0271", loc("RXA", seq, 6), "RXA-6 administered amount is 999 (unknown)")
	}
	if v.CVX == "998" {
		d.tell("MQE0248", loc("RXA", seq, 5, 1, 1), "RXA-5 is CVX 998 (no vaccine administered)")
	}
	if !v.Vaccine.IsZero() && !cvxSent(v.Vaccine) && (v.CPT == "" || !d.v.tab.cpt.Contains(v.CPT)) {
		d.tell("MQE0308", loc("RXA", seq, 5), "RXA-5 has no CVX code")
	}
	if len(v.RefusalReasons) > 0 && v.CompletionStatus != "RE" {
		d.tell("MQE0359", loc("RXA", seq, 18), "RXA-18 gives a refusal reason although RXA-20 is not RE")
	}
	d.dayOfMonth(v.AdministeredAt, loc("RXA", seq, 3), "RXA-3 date administered", "MQE0263", "MQE0262", "MQE0264")
}
