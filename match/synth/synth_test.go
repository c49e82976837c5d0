package synth

import (
	"testing"

	"github.com/iisproject/iis/match"
)

// TestPopulation20k runs the matcher with blocking over 20,000 synthetic
// patients and checks precision of automatic links (target 99.9%), that no
// twins are linked, that blocking finds nearly every true pair, and that
// recall stays at least at the level the default thresholds reach today.
func TestPopulation20k(t *testing.T) {
	p := Generate(DefaultConfig(20000))
	if p.Twins == 0 {
		t.Fatal("no twins generated")
	}
	r := Evaluate(p)
	t.Logf("%d reports, %d true pairs, compared %d; TP %d FP %d (twins %d), review %d true / %d false; precision %.4f recall %.4f",
		r.Records, r.TruePairs, r.Compared, r.TP, r.FP, r.TwinMerges, r.ReviewTrue, r.ReviewFalse, r.Precision(), r.Recall())
	if r.Precision() < 0.999 {
		t.Errorf("precision %.4f, want >= 0.999", r.Precision())
	}
	if r.TwinMerges != 0 {
		t.Errorf("%d twin pairs linked", r.TwinMerges)
	}
	if miss := float64(r.NotBlocked) / float64(r.TruePairs); miss > 0.005 {
		t.Errorf("blocking misses %.2f%% of true pairs", 100*miss)
	}
	const minRecall = 0.88
	if r.Recall() < minRecall {
		t.Errorf("recall %.4f, want >= %.2f", r.Recall(), minRecall)
	}
	if got := float64(r.TP+r.ReviewTrue) / float64(r.TruePairs); got < 0.97 {
		t.Errorf("true pairs linked or queued for review %.4f, want >= 0.97", got)
	}
}

func TestGenerateDeterministic(t *testing.T) {
	a, b := Generate(DefaultConfig(500)), Generate(DefaultConfig(500))
	if len(a.Records) != len(b.Records) {
		t.Fatal("different sizes")
	}
	m := match.New(match.DefaultConfig())
	for i := range a.Records {
		if a.Person[i] != b.Person[i] || m.Compare(a.Records[i], b.Records[i]).Outcome != match.Match {
			t.Fatalf("record %d differs between runs", i)
		}
	}
}
