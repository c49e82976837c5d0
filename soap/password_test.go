package soap

import "testing"

func TestCheckPassword(t *testing.T) {
	bc, err := HashPassword("right one")
	if err != nil {
		t.Fatal(err)
	}
	ar := argonHash("right one")
	tests := []struct {
		hash, pw string
		ok, bad  bool
	}{
		{bc, "right one", true, false},
		{bc, "wrong one", false, false},
		{ar, "right one", true, false},
		{ar, "right one ", false, false},
		{"", "x", false, true},
		{"plain text", "plain text", false, true},
	}
	for _, tc := range tests {
		ok, err := CheckPassword(tc.hash, tc.pw)
		if ok != tc.ok || (err != nil) != tc.bad {
			t.Errorf("CheckPassword(%.12q, %q) = %v, %v", tc.hash, tc.pw, ok, err)
		}
	}
}
