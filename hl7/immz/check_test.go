package immz

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/iisproject/iis/synth"
)

// sameVerdict reports whether Check's result c says what Decode's result r
// says: the same header, kind and issues, hence the same ACK.
func sameVerdict(r, c *Result) bool {
	return reflect.DeepEqual(r.Header, c.Header) && r.Kind == c.Kind && reflect.DeepEqual(r.Issues, c.Issues) &&
		c.VXU == nil && reflect.DeepEqual(r.Query, c.Query)
}

// TestCheckMatchesDecode: Check, which the listeners use, raises exactly
// the issues Decode raises, on every VXU and QBP of the corpus and on
// synthetic traffic (malformed messages included), and keeps no VXU.
func TestCheckMatchesDecode(t *testing.T) {
	v := New(Config{Now: testNow})
	msgs := corpusMessages(t)
	for i, m := range synth.New(synth.Config{Seed: 11}).Take(3000) {
		msgs[fmt.Sprintf("synth %d", i)] = m.Body
	}
	for name, raw := range msgs {
		r, c := v.Decode(raw), v.Check(raw)
		if !sameVerdict(r, c) {
			t.Errorf("%s: Check differs from Decode\n decode: %s %+v\n check:  %s %+v", name, v.AckCode(r), r.Issues, v.AckCode(c), c.Issues)
		}
	}
	if c := v.Check([]byte("not HL7")); len(c.Issues) != 1 || v.AckCode(c) != "AR" {
		t.Errorf("unreadable message: %+v", c.Issues)
	}
}
