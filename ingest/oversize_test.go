package ingest

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/iisproject/iis/hl7"
	"github.com/iisproject/iis/mllp"
	"github.com/iisproject/iis/queue"
)

var _ mllp.OversizeHandler = (*Handler)(nil)

// TestServeOversize: a message over the transport's limit is answered AR
// from what its head tells (MSH-10, sender and receiver swapped), with one
// ERR that names the limit in bytes; nothing is queued.
func TestServeOversize(t *testing.T) {
	f := newFixture(t, queue.Config{})
	vxu := sample(t, "cdc-ig/vxu_z22_ig_ex1_basic_historical_plus_2_admin_vfc_vis.hl7")
	batchHead := append([]byte("FHS|^~\\&|EHR|DCS\rBHS|^~\\&|EHR|DCS\r"), vxu...)
	tests := []struct {
		name, head, controlID, receiver string
	}{
		{"MSH in the head", string(vxu[:300]), "45646ug", "DCS"},
		{"MSH cut short", string(vxu[:60]), "", "DCS"},
		{"a batch file's head", string(batchHead[:400]), "45646ug", "DCS"},
		{"no MSH", "OBX|1|ST|X||Y\r", "", ""},
		{"nothing", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := WithSource(context.Background(), Source{Transport: "mllp"})
			reply := f.h.ServeOversize(ctx, []byte(tt.head), 4<<20)
			m, err := hl7.Parse(reply)
			if err != nil {
				t.Fatalf("reply %q: %v", reply, err)
			}
			if !m.Get("MSA-1").Equal("AR") || m.Get("MSA-2").String() != tt.controlID || m.Count("ERR") != 1 {
				t.Errorf("MSA %q, %d ERR; want AR for %q, 1 ERR", m.Get("MSA").String(), m.Count("ERR"), tt.controlID)
			}
			if tt.receiver != "" && !m.Get("MSH-6").Equal(tt.receiver) {
				t.Errorf("MSH-6 %q, want %q", m.Get("MSH-6").String(), tt.receiver)
			}
			if !m.Get("ERR-3.1").Equal("207") || !m.Get("ERR-4").Equal("E") || !m.Get("ERR-2").Equal("MSH^1") ||
				!strings.Contains(m.Get("ERR-8").String(), "4194304 bytes") {
				t.Errorf("ERR %q", m.Get("ERR").String())
			}
		})
	}
	if n := len(f.queued(t)); n != 0 {
		t.Errorf("%d messages queued", n)
	}
	if n := testutil.ToFloat64(f.m.messages.WithLabelValues("mllp", "DCS", "VXU", "AR")); n != 3 {
		t.Errorf("counted %v oversized VXUs from DCS, want 3", n)
	}
	if !bytes.Contains([]byte(issueTooLarge(4<<20).Message), []byte("4194304")) {
		t.Error("the issue does not name the limit")
	}
}
