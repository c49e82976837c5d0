package registry_test

import (
	"testing"

	"github.com/iisproject/iis/inventory"
	"github.com/iisproject/iis/registry"
)

// FuzzLotRecallKey: a recall search matches a lot number as the
// inventory matches doses on it, and the key is its own key.
func FuzzLotRecallKey(f *testing.F) {
	for _, s := range []string{"AB-123", "ab 12.3/x", "\tpcv777 ", "ÿ-ß", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k := registry.LotRecallKey(s)
		if want := inventory.LotKey(s); k != want {
			t.Errorf("LotRecallKey(%q) = %q, inventory.LotKey %q", s, k, want)
		}
		if again := registry.LotRecallKey(k); again != k {
			t.Errorf("LotRecallKey(%q) = %q, of which the key is %q", s, k, again)
		}
	})
}
