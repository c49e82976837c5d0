package synth

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/iisproject/iis/hl7/immz"
)

// TestGeneratedMessages: every valid or other-clinic message is accepted
// with no error (data quality notes aside: the traffic reports no VIS, for
// one), every malformed one is not answered AA, resends repeat an
// earlier message, and the mix is near the configured rates.
func TestGeneratedMessages(t *testing.T) {
	g := New(Config{Seed: 42, ResendRate: 0.02, OtherRate: 0.02, MalformedRate: 0.02})
	v := immz.New(immz.Config{Now: func() time.Time { return time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC) }})
	counts := map[Kind]int{}
	seen := map[string][]byte{}
	const n = 5000
	for _, m := range g.Take(n) {
		counts[m.Kind]++
		r := v.Decode(m.Body)
		ack := v.AckCode(r)
		switch m.Kind {
		case Valid, OtherClinic:
			if ack != "AA" || slices.ContainsFunc(r.Issues, func(is immz.Issue) bool { return !immz.ValueKept(is.Detection) }) {
				t.Fatalf("%s message answered %s: %+v\n%q", m.Kind, ack, r.Issues, m.Body)
			}
			if r.VXU == nil || len(r.VXU.Vaccinations) == 0 {
				t.Fatalf("no doses decoded")
			}
			seen[m.ControlID] = m.Body
		case Resend:
			if !bytes.Equal(seen[m.ControlID], m.Body) {
				t.Fatalf("resend %s does not repeat an earlier message", m.ControlID)
			}
		case Malformed:
			if ack == "AA" {
				t.Fatalf("malformed message answered AA: %q", m.Body)
			}
		}
	}
	for k, want := range map[Kind]float64{Resend: 0.02, OtherClinic: 0.02, Malformed: 0.02} {
		got := float64(counts[k]) / n
		if got < want/2 || got > want*2 {
			t.Errorf("%s rate %.3f, configured %.3f", k, got, want)
		}
	}
	// Same seed, same traffic.
	a, b := New(Config{Seed: 7}).Take(50), New(Config{Seed: 7}).Take(50)
	for i := range a {
		if !bytes.Equal(a[i].Body, b[i].Body) {
			t.Fatal("generation is not deterministic")
		}
	}
}

func BenchmarkNext(b *testing.B) {
	g := New(Config{Seed: 1})
	for b.Loop() {
		g.Next()
	}
}
