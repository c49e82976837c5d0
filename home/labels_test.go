package home

import (
	"testing"
	"time"

	"github.com/iisproject/iis"
)

func TestMaskIdentifier(t *testing.T) {
	for _, tc := range []struct {
		id   iis.Identifier
		want string
	}{
		{iis.Identifier{Value: "123456789", Authority: "CLINIC_A", Type: "MR"}, "•••••6789 (MR CLINIC_A)"},
		{iis.Identifier{Value: "12345678901234", Type: "SS"}, "••••••1234 (SS)"},
		{iis.Identifier{Value: "RS77", Authority: "X"}, "•••• (X)"},
		{iis.Identifier{Value: "AB"}, "••"},
	} {
		if got := maskIdentifier(tc.id); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.id, got, tc.want)
		}
	}
}

func TestBirthLabel(t *testing.T) {
	for _, tc := range []struct {
		multiple string
		order    int
		want     string
	}{
		{"", 0, ""},
		{"N", 1, ""},
		{"Y", 0, "multiple birth"},
		{"Y", 1, "multiple birth, born 1st"},
		{"Y", 2, "multiple birth, born 2nd"},
		{"", 3, "multiple birth, born 3rd"},
		{"Y", 11, "multiple birth, born 11th"},
	} {
		if got := birthLabel(tc.multiple, tc.order); got != tc.want {
			t.Errorf("%q %d: %q, want %q", tc.multiple, tc.order, got, tc.want)
		}
	}
}

func TestAge(t *testing.T) {
	dob := time.Date(2024, 3, 15, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		today time.Time
		want  string
	}{
		{time.Date(2024, 4, 1, 0, 0, 0, 0, time.UTC), "2 weeks"},
		{time.Date(2024, 9, 14, 0, 0, 0, 0, time.UTC), "5 months"},
		{time.Date(2024, 9, 15, 0, 0, 0, 0, time.UTC), "6 months"},
		{time.Date(2027, 5, 20, 0, 0, 0, 0, time.UTC), "3 years 2 months"},
		{time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), ""},
	} {
		if got := age(dob, tc.today); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.today.Format(time.DateOnly), got, tc.want)
		}
	}
}
