package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "cases.txt")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRunReportsMatrices(t *testing.T) {
	f := writeFile(t, `TEST: S-1:DOB_OFF_BY_1:IDEAL-IDEAL
EXPECT: Match
PATIENT A: nameFirst=Ali,nameLast=Okafor,birthDate=20020101,gender=F,ssn=123456780,phone=(989)958-0670,addressStreet1=1 Oak St,addressZip=48415,
PATIENT B: nameFirst=Ali,nameLast=Okafor,birthDate=20020102,gender=F,ssn=123456780,phone=(989)958-0670,addressStreet1=1 Oak St,addressZip=48415,
TEST: D-1:DOB_OFF_BY_1:IDEAL-IDEAL
EXPECT: Not a Match
PATIENT A: nameFirst=Ali,nameLast=Okafor,birthDate=20020101,gender=F,
PATIENT B: nameFirst=Veit,nameLast=Brand,birthDate=20020101,gender=M,
TEST: X-1:ANY:IDEAL-IDEAL
EXPECT: Not Sure
PATIENT A: nameFirst=A,
PATIENT B: nameFirst=B,
`)
	var out, errb bytes.Buffer
	if code := run([]string{f}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	s := out.String()
	for _, want := range []string{"2 cases (1 skipped", "DOB_OFF_BY_1", "false merges (Not a Match -> Match): 0", "Match recall: 100.00%"} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
}

func TestRunMalformed(t *testing.T) {
	f := writeFile(t, "TEST: S-1:X:Y\nEXPECT: Perhaps\nPATIENT A: nameFirst=A\nPATIENT B: nameFirst=B\n")
	var out, errb bytes.Buffer
	if code := run([]string{f}, &out, &errb); code != 1 {
		t.Errorf("exit %d on malformed input, want 1", code)
	}
	if code := run([]string{filepath.Join(t.TempDir(), "missing.txt")}, &out, &errb); code != 1 {
		t.Errorf("exit %d on a missing file, want 1", code)
	}
	if code := run(nil, &out, &errb); code != 2 {
		t.Errorf("exit %d without files, want 2", code)
	}
}

func TestRunRegistry(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"-synth", "2000", "-registry"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	s := out.String()
	for _, want := range []string{"2000 patients", "0 mix two children", "precision 100.0000%", "unlinked by kind of noise"} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
}
