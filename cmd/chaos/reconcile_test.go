package main

import (
	"strings"
	"testing"
)

func TestReconcile(t *testing.T) {
	k := msgKey{"CLINIC001", "C1"}
	sent := func(acks ...string) []sentRecord {
		var out []sentRecord
		for _, a := range acks {
			out = append(out, sentRecord{Facility: k.facility, ControlID: k.controlID, Kind: "valid", Ack: a})
		}
		return out
	}
	stored := func(st storedReport) map[msgKey]storedReport { return map[msgKey]storedReport{k: st} }
	vxuAA := storedReport{kind: "vxu", ack: "AA", doses: 2, eventDoses: 2}
	tests := []struct {
		name     string
		sent     []sentRecord
		reports  map[msgKey]storedReport
		dup      duplicateChecks
		want     string // the outcome list holding k, or "" for none
		failures int64
	}{
		{name: "AA stored whole", sent: sent("AA"), reports: stored(vxuAA)},
		{name: "resend AA twice, stored once", sent: sent("AA", "AA"), reports: stored(vxuAA)},
		{name: "AA missing", sent: sent("AA"), want: "lost", failures: 1},
		{name: "AA stored as AE", sent: sent("AA"), reports: stored(storedReport{kind: "vxu", ack: "AE", doses: 1}), want: "wrongAck", failures: 1},
		{name: "AA stored as rejected", sent: sent("AA"), reports: stored(storedReport{kind: "rejected", ack: "AA"}), want: "wrongAck", failures: 1},
		{name: "AA without dose rows", sent: sent("AA"), reports: stored(storedReport{kind: "vxu", ack: "AA"}), want: "halfWritten", failures: 1},
		{name: "AA dose without event", sent: sent("AA"), reports: stored(storedReport{kind: "vxu", ack: "AA", doses: 1, eventDoses: 1, orphanDoses: 1}), want: "lostDoses", failures: 1},
		{name: "AR then AA on resend", sent: sent("AR", "AA"), reports: stored(vxuAA)},
		{name: "AR not stored", sent: sent("AR")},
		{name: "AE rejected without doses", sent: sent("AE"), reports: stored(storedReport{kind: "rejected", ack: "AE"})},
		{name: "AE rejected with doses", sent: sent("AE"), reports: stored(storedReport{kind: "rejected", ack: "AE", doses: 1}), want: "halfWritten", failures: 1},
		{name: "AE accepted in part, no dose", sent: sent("AE"), reports: stored(storedReport{kind: "vxu", ack: "AE"})},
		{name: "transport error yet stored whole", sent: sent("error"), reports: stored(vxuAA)},
		{name: "transport error stored without doses", sent: sent("error"), reports: stored(storedReport{kind: "vxu", ack: "AA"}), want: "halfWritten", failures: 1},
		{name: "dose rows without report", sent: sent("AA"), reports: stored(storedReport{kind: "missing-report", doses: 1}), want: "halfWritten", failures: 1},
		{name: "stored, never sent", reports: stored(vxuAA), want: "invented", failures: 1},
		{name: "duplicate events", sent: sent("AA"), reports: stored(vxuAA), dup: duplicateChecks{SameDose: 1, Winners: 2}, failures: 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reports := tc.reports
			if reports == nil {
				reports = map[msgKey]storedReport{}
			}
			o := reconcile(tc.sent, registrySnapshot{reports: reports, duplicates: tc.dup})
			lists := map[string][]msgKey{"lost": o.lost, "wrongAck": o.wrongAck, "halfWritten": o.halfWritten, "lostDoses": o.lostDoses, "invented": o.invented}
			for name, l := range lists {
				has := len(l) == 1 && l[0] == k
				if name == tc.want && !has {
					t.Errorf("%s = %v, want [%v]", name, l, k)
				}
				if name != tc.want && len(l) > 0 {
					t.Errorf("%s = %v, want none", name, l)
				}
			}
			if got := o.failures(); got != tc.failures {
				t.Errorf("failures = %d, want %d", got, tc.failures)
			}
		})
	}
}

// TestReconcileWithoutControlID: a message without MSH-10 is stored by the
// worker under its stream sequence; as many such reports as such messages
// sent are expected, more are invented.
func TestReconcileWithoutControlID(t *testing.T) {
	noID := sentRecord{Kind: "malformed", Ack: "AR"}
	seq := func(n string) msgKey { return msgKey{"", "seq:" + n} }
	rejected := storedReport{kind: "rejected", ack: "AR"}
	tests := []struct {
		name     string
		sent     []sentRecord
		reports  map[msgKey]storedReport
		invented int
	}{
		{"one sent, one stored", []sentRecord{noID}, map[msgKey]storedReport{seq("7"): rejected}, 0},
		{"one sent, none stored", []sentRecord{noID}, map[msgKey]storedReport{}, 0},
		{"none sent, one stored", nil, map[msgKey]storedReport{seq("7"): rejected}, 1},
		{"one sent, two stored", []sentRecord{noID}, map[msgKey]storedReport{seq("7"): rejected, seq("9"): rejected}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := reconcile(tc.sent, registrySnapshot{reports: tc.reports})
			if len(o.invented) != tc.invented {
				t.Errorf("invented = %v, want %d", o.invented, tc.invented)
			}
		})
	}
}

func TestMarkDead(t *testing.T) {
	sent := []sentRecord{{Facility: "F", ControlID: "1", Ack: "AA"}, {Facility: "F", ControlID: "2", Ack: "AA"}}
	o := reconcile(sent, registrySnapshot{reports: map[msgKey]storedReport{}})
	o.markDead([]deadLetter{{facility: "F", controlID: "2"}, {facility: "F", controlID: "9"}})
	if len(o.lost) != 2 || o.lostDead != 1 {
		t.Errorf("lost %v, dead-lettered %d; want 2 lost, 1 of them dead-lettered", o.lost, o.lostDead)
	}
}

func TestDecodeSent(t *testing.T) {
	in := `{"ack":"AA","control_id":"C-1","facility":"F1","kind":"valid","name":"synth#1"}

{"ack":"error","control_id":"C-2","facility":"F1","kind":"resend","name":"synth#2"}
`
	got, err := decodeSent(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []sentRecord{
		{Facility: "F1", ControlID: "C-1", Kind: "valid", Ack: "AA", Name: "synth#1"},
		{Facility: "F1", ControlID: "C-2", Kind: "resend", Ack: "error", Name: "synth#2"},
	}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("decodeSent = %+v, want %+v", got, want)
	}
	if _, err := decodeSent(strings.NewReader("{not json\n")); err == nil {
		t.Error("decodeSent accepted a broken line")
	}
}
