//go:build tune

package synth

import (
	"testing"

	"github.com/iisproject/iis/match"
)

func TestBlockSizes(t *testing.T) {
	p := Generate(DefaultConfig(100000))
	index := map[string]int{}
	for _, r := range p.Records {
		for _, k := range match.BlockingKeys(r) {
			index[k]++
		}
	}
	pairs := map[string]float64{}
	for k, n := range index {
		pairs[k[:1]] += float64(n) * float64(n-1) / 2
	}
	t.Logf("pairs by key kind: %v", pairs)
}
