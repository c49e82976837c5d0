package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// sentRecord is one line of hl7send's -record file: a message sent and the
// ACK code it got ("error" when the transport failed).
type sentRecord struct {
	Facility  string `json:"facility"`
	ControlID string `json:"control_id"`
	Kind      string `json:"kind"`
	Ack       string `json:"ack"`
	Name      string `json:"name"`
}

// msgKey is a message's source identity: the registry stores each
// (facility, MSH-10) once.
type msgKey struct{ facility, controlID string }

func (k msgKey) String() string { return k.facility + "|" + k.controlID }

// storedReport is what the registry holds for one source identity.
type storedReport struct {
	kind string // vxu or rejected
	ack  string // the ACK code the listener computed
	// doses is the number of source_vaccinations rows; eventDoses those that
	// went to an event (winner or duplicate); orphanDoses those of them
	// whose event is missing from vaccination_events.
	doses, eventDoses, orphanDoses int
}

// duplicateChecks are registry-wide counts, each of which must be zero.
type duplicateChecks struct {
	Reports      int64 // (facility, control_id) stored more than once
	Doses        int64 // (facility, control_id, position) stored more than once
	Winners      int64 // events won by more than one source row
	OrphanEvents int64 // events whose winning source row is missing, not a winner, or points elsewhere
	CrossPatient int64 // source doses attached to an event of another patient
	SameDose     int64 // (patient, CVX, date) with more than one event
}

func (d duplicateChecks) total() int64 {
	return d.Reports + d.Doses + d.Winners + d.OrphanEvents + d.CrossPatient + d.SameDose
}

// registrySnapshot is what the reconciliation reads from PostgreSQL.
type registrySnapshot struct {
	reports    map[msgKey]storedReport
	doseRows   int64
	events     int64
	patients   int64
	duplicates duplicateChecks
}

// outcome is the reconciliation of what was sent against what is stored.
type outcome struct {
	sent     int
	byAck    map[string]int // AA, AE, AR, error, ...
	byKind   map[string]int // valid, resend, other-clinic, malformed
	noID     int            // messages without a control id (unreadable on purpose)
	accepted int            // distinct source identities that got AA at least once

	registryReports, registryVXU, registryRejected int

	lost        []msgKey // got AA, not in source_reports
	wrongAck    []msgKey // got AA, stored with another ACK code or as rejected
	halfWritten []msgKey // stored as rejected with dose rows, or stored as AA without any
	lostDoses   []msgKey // got AA, a dose's event is missing
	invented    []msgKey // in the registry, never sent
	// ambiguous: never answered AA (AR "resend", or a transport error) yet
	// stored whole — the sender was told to resend, the queue had it; the
	// resend is de-duplicated. Not a failure.
	ambiguous      int
	rejectedStored int // non-AA identities stored as rejected (audit trail)
	partial        int // AE, stored in part (patient kept, rejected dose groups not)
	unidentified   int // rejected reports without MSH-10, stored under the stream sequence

	dup duplicateChecks

	lostDead int // lost identities found in the dead-letter stream
}

// markDead counts the lost identities the worker dead-lettered.
func (o *outcome) markDead(dead []deadLetter) {
	in := map[msgKey]bool{}
	for _, d := range dead {
		in[msgKey{d.facility, d.controlID}] = true
	}
	o.lostDead = 0
	for _, k := range o.lost {
		if in[k] {
			o.lostDead++
		}
	}
}

// failures is the number of problems that make the run fail.
func (o *outcome) failures() int64 {
	return int64(len(o.lost)+len(o.wrongAck)+len(o.halfWritten)+len(o.lostDoses)+len(o.invented)) + o.dup.total()
}

// readSent reads hl7send's record file.
func readSent(path string) ([]sentRecord, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("sent records: %w", err)
	}
	defer f.Close()
	return decodeSent(f)
}

func decodeSent(r io.Reader) ([]sentRecord, error) {
	var out []sentRecord
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var rec sentRecord
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return nil, fmt.Errorf("sent records line %d: %w", line, err)
		}
		out = append(out, rec)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("sent records: %w", err)
	}
	return out, nil
}

// reconcile compares what hl7send was told with what the registry holds.
func reconcile(sent []sentRecord, reg registrySnapshot) *outcome {
	o := &outcome{byAck: map[string]int{}, byKind: map[string]int{}, dup: reg.duplicates}
	acks := map[msgKey]map[string]bool{}
	for _, r := range sent {
		o.sent++
		o.byAck[r.Ack]++
		o.byKind[r.Kind]++
		if r.ControlID == "" {
			o.noID++
			continue
		}
		k := msgKey{r.Facility, r.ControlID}
		if acks[k] == nil {
			acks[k] = map[string]bool{}
		}
		acks[k][r.Ack] = true
	}
	for k, got := range acks {
		st, stored := reg.reports[k]
		if got["AA"] {
			o.accepted++
			switch {
			case stored && st.kind == "missing-report":
				o.halfWritten = append(o.halfWritten, k)
				continue
			case !stored:
				o.lost = append(o.lost, k)
				continue
			case st.ack != "AA" || st.kind != "vxu":
				o.wrongAck = append(o.wrongAck, k)
			case st.doses == 0:
				o.halfWritten = append(o.halfWritten, k)
			}
			if st.orphanDoses > 0 {
				o.lostDoses = append(o.lostDoses, k)
			}
			continue
		}
		if !stored {
			continue
		}
		switch {
		case st.kind == "missing-report", st.kind == "rejected" && st.doses > 0:
			o.halfWritten = append(o.halfWritten, k)
		case st.kind == "rejected":
			o.rejectedStored++
		case st.ack == "AA" && st.doses == 0:
			o.halfWritten = append(o.halfWritten, k)
		case st.ack == "AA":
			o.ambiguous++
		default:
			// AE accepted in part: the patient and the valid dose groups are
			// kept, the rejected groups are not (possibly no dose at all).
			o.partial++
		}
	}
	var seqKeys []msgKey
	for k, st := range reg.reports {
		o.registryReports++
		if st.kind == "vxu" {
			o.registryVXU++
		} else {
			o.registryRejected++
		}
		if _, ok := acks[k]; ok {
			continue
		}
		if strings.HasPrefix(k.controlID, "seq:") && st.kind == "rejected" {
			// No MSH-10: the worker names it by its stream sequence.
			seqKeys = append(seqKeys, k)
			if st.doses > 0 {
				o.halfWritten = append(o.halfWritten, k)
			}
			continue
		}
		o.invented = append(o.invented, k)
	}
	o.unidentified = len(seqKeys)
	if len(seqKeys) > o.noID {
		// More id-less reports than id-less messages sent.
		o.invented = append(o.invented, seqKeys...)
	}
	for _, l := range [][]msgKey{o.lost, o.wrongAck, o.halfWritten, o.lostDoses, o.invented} {
		sort.Slice(l, func(i, j int) bool { return l[i].String() < l[j].String() })
	}
	return o
}

// print writes the summary; the last line is the one-line verdict.
func (o *outcome) print(w io.Writer, reg registrySnapshot, dead, crashes int, label string) {
	fmt.Fprintf(w, "\n== chaos reconciliation (%s)\n", label)
	fmt.Fprintf(w, "messages sent        %d  (%s)\n", o.sent, counts(o.byKind))
	fmt.Fprintf(w, "ACKs                 AA=%d AE=%d AR=%d transport-errors=%d%s\n", o.byAck["AA"], o.byAck["AE"], o.byAck["AR"], o.byAck["error"], others(o.byAck, "AA", "AE", "AR", "error"))
	fmt.Fprintf(w, "distinct AA ids      %d  (resends share an id)\n", o.accepted)
	fmt.Fprintf(w, "registry             source_reports=%d (vxu=%d rejected=%d) source_vaccinations=%d vaccination_events=%d patients=%d\n",
		o.registryReports, o.registryVXU, o.registryRejected, reg.doseRows, reg.events, reg.patients)
	fmt.Fprintf(w, "told resend, stored  %d  (AR 207 or transport error, yet queued: stored once, whole)\n", o.ambiguous)
	fmt.Fprintf(w, "error ACK, stored    rejected=%d (no dose rows) in-part=%d (AE: patient and valid doses kept) without-MSH-10=%d (of %d sent)\n",
		o.rejectedStored, o.partial, o.unidentified, o.noID)
	fmt.Fprintf(w, "dead-lettered        %d\n", dead)
	fmt.Fprintf(w, "unexpected exits     %d  (iisd processes that died without being killed; restarted)\n", crashes)
	fmt.Fprintf(w, "lost                 %d  (AA, not in the registry; %d of them dead-lettered)\n", len(o.lost), o.lostDead)
	fmt.Fprintf(w, "lost doses           %d  (AA, a dose's consolidated event missing)\n", len(o.lostDoses))
	fmt.Fprintf(w, "wrong ACK stored     %d  (AA, stored as another ACK or as rejected)\n", len(o.wrongAck))
	fmt.Fprintf(w, "half-written         %d  (rejected with dose rows, or AA without any)\n", len(o.halfWritten))
	fmt.Fprintf(w, "invented             %d  (in the registry, never sent)\n", len(o.invented))
	fmt.Fprintf(w, "duplicates           %d  (reports=%d dose-rows=%d event-winners=%d orphan-events=%d cross-patient=%d same-dose-events=%d)\n",
		o.dup.total(), o.dup.Reports, o.dup.Doses, o.dup.Winners, o.dup.OrphanEvents, o.dup.CrossPatient, o.dup.SameDose)
	for _, l := range []struct {
		name string
		keys []msgKey
	}{{"lost", o.lost}, {"lost doses", o.lostDoses}, {"wrong ACK", o.wrongAck}, {"half-written", o.halfWritten}, {"invented", o.invented}} {
		for i, k := range l.keys {
			if i == 20 {
				fmt.Fprintf(w, "  %s: ... %d more\n", l.name, len(l.keys)-20)
				break
			}
			fmt.Fprintf(w, "  %s: facility=%s control_id=%s\n", l.name, k.facility, k.controlID)
		}
	}
	verdict := "PASS"
	if o.failures() > 0 {
		verdict = "FAIL"
	}
	fmt.Fprintf(w, "chaos %s: sent=%d AA=%d AE=%d AR=%d errors=%d registry=%d lost=%d duplicates=%d half-written=%d wrong-ack=%d invented=%d\n",
		verdict, o.sent, o.byAck["AA"], o.byAck["AE"], o.byAck["AR"], o.byAck["error"], o.registryReports,
		len(o.lost)+len(o.lostDoses), o.dup.total(), len(o.halfWritten), len(o.wrongAck), len(o.invented))
}

func counts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%d", k, m[k])
	}
	return b.String()
}

func others(m map[string]int, skip ...string) string {
	rest := map[string]int{}
	for k, v := range m {
		skipped := false
		for _, s := range skip {
			skipped = skipped || k == s
		}
		if !skipped {
			rest[k] = v
		}
	}
	if len(rest) == 0 {
		return ""
	}
	return " " + counts(rest)
}
