package smart

import (
	"context"
	"testing"
)

func TestParseScope(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
		bad  bool
	}{
		{in: "system/Patient.rs", want: "system/Patient.rs"},
		{in: "system/*.r", want: "system/*.r"},
		{in: "system/Immunization.read", want: "system/Immunization.rs"},
		{in: "system/Group.*", want: "system/Group.cruds"},
		{in: "system/Group.cud", want: "system/Group.cud"},
		{in: "system/Patient.rs?identifier=x", want: "system/Patient.rs"},
		{in: "system/Patient.sr", bad: true},
		{in: "system/Patient.", bad: true},
		{in: "system/patient.rs", bad: true},
		{in: "launch/Patient.rs", bad: true},
		{in: "Patient.rs", bad: true},
		{in: "system/Patient.rx", bad: true},
	} {
		s, err := ParseScope(tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("%q: parsed as %v, want an error", tc.in, s)
			}
			continue
		}
		if err != nil || s.String() != tc.want {
			t.Errorf("%q: got %v, %v; want %s", tc.in, s, err, tc.want)
		}
	}
}

func TestGrantAllows(t *testing.T) {
	scopes, err := ParseScopes("system/Patient.rs system/Immunization.r")
	if err != nil {
		t.Fatal(err)
	}
	g := Grant{ClientID: "c", Scopes: scopes}
	for _, tc := range []struct {
		res  string
		perm byte
		want bool
	}{
		{"Patient", 'r', true}, {"Patient", 's', true}, {"Patient", 'c', false},
		{"Immunization", 'r', true}, {"Immunization", 's', false}, {"Group", 'r', false},
	} {
		if got := g.Allows(tc.res, tc.perm); got != tc.want {
			t.Errorf("%s.%c: got %v want %v", tc.res, tc.perm, got, tc.want)
		}
	}
	ctx := NewContext(context.Background(), g)
	if back, ok := FromContext(ctx); !ok || back.ClientID != "c" {
		t.Fatalf("FromContext: %v %v", back, ok)
	}
	all, _ := ParseScope("system/*.rs")
	one, _ := ParseScope("system/Patient.r")
	if !one.Within(all) || all.Within(one) {
		t.Fatal("Within")
	}
}
