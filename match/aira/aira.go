// Package aira reads AIRA's labelled patient-matching test files: four
// lines a case (TEST, EXPECT, PATIENT A, PATIENT B), patients as
// comma-separated key=value pairs. See testdata/matching/README.md.
package aira

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/iisproject/iis/match"
)

// Label is the expected decision of a case.
type Label int8

// Labels. NotSure cases carry no usable expectation.
const (
	NotAMatch Label = iota
	PossibleMatch
	Match
	NotSure
)

// Outcome maps a label to the matcher outcome it expects.
func (l Label) Outcome() match.Outcome {
	switch l {
	case Match:
		return match.Match
	case PossibleMatch:
		return match.PossibleMatch
	}
	return match.NonMatch
}

func (l Label) String() string {
	switch l {
	case Match:
		return "Match"
	case PossibleMatch:
		return "Possible Match"
	case NotSure:
		return "Not Sure"
	}
	return "Not a Match"
}

func parseLabel(s string) (Label, bool) {
	switch strings.TrimSpace(s) {
	case "Match":
		return Match, true
	case "Possible Match":
		return PossibleMatch, true
	case "Not a Match":
		return NotAMatch, true
	case "Not Sure":
		return NotSure, true
	}
	return 0, false
}

// Case is one labelled pair.
type Case struct {
	ID           string // e.g. S-1
	Perturbation string // e.g. ADDRESS_CHANGED; empty when the TEST line has none
	Quality      string // e.g. IDEAL-GREATA
	Expect       Label
	Line         int // line number of the TEST line
	RawA, RawB   string
	A, B         *match.Record
	// FieldsA and FieldsB are the key=value pairs as read.
	FieldsA, FieldsB map[string]string
}

// Parse reads every case of r. name is used in error messages. Blank lines
// between cases are allowed; anything else out of order is an error.
func Parse(r io.Reader, name string) ([]Case, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<16), 1<<22)
	var cases []Case
	lineNo := 0
	next := func() (string, bool) {
		for sc.Scan() {
			lineNo++
			line := strings.TrimRight(sc.Text(), "\r")
			if strings.TrimSpace(line) != "" {
				return line, true
			}
		}
		return "", false
	}
	for {
		line, ok := next()
		if !ok {
			break
		}
		var c Case
		c.Line = lineNo
		want := []string{"EXPECT:", "PATIENT A:", "PATIENT B:"}
		var vals [3]string
		pending := ""
		if rest, found := strings.CutPrefix(line, "TEST:"); found {
			parts := strings.SplitN(strings.TrimSpace(rest), ":", 3)
			c.ID = parts[0]
			if c.ID == "" {
				return nil, fmt.Errorf("%s:%d: empty test id", name, lineNo)
			}
			if len(parts) > 1 {
				c.Perturbation = parts[1]
			}
			if len(parts) > 2 {
				c.Quality = parts[2]
			}
		} else if strings.HasPrefix(line, "EXPECT:") {
			// One shipped file has a case whose TEST line is blank: accept
			// it, named by its line number.
			c.ID = fmt.Sprintf("line-%d", lineNo)
			c.Line = lineNo - 1
			pending = line
		} else {
			return nil, fmt.Errorf("%s:%d: want TEST: line, got %q", name, lineNo, clip(line))
		}
		for i, prefix := range want {
			l, ok := pending, true
			if pending == "" {
				l, ok = next()
			}
			pending = ""
			if !ok {
				return nil, fmt.Errorf("%s:%d: case %s: unexpected end of file, want %s", name, lineNo, c.ID, prefix)
			}
			v, found := strings.CutPrefix(l, prefix)
			if !found {
				return nil, fmt.Errorf("%s:%d: case %s: want %s line, got %q", name, lineNo, c.ID, prefix, clip(l))
			}
			vals[i] = strings.TrimSpace(v)
		}
		lab, ok := parseLabel(vals[0])
		if !ok {
			return nil, fmt.Errorf("%s:%d: case %s: unknown EXPECT value %q", name, c.Line+1, c.ID, vals[0])
		}
		c.Expect = lab
		c.RawA, c.RawB = vals[1], vals[2]
		var err error
		if c.FieldsA, err = fields(vals[1]); err != nil {
			return nil, fmt.Errorf("%s:%d: case %s: patient A: %w", name, c.Line+2, c.ID, err)
		}
		if c.FieldsB, err = fields(vals[2]); err != nil {
			return nil, fmt.Errorf("%s:%d: case %s: patient B: %w", name, c.Line+3, c.ID, err)
		}
		if c.A, err = ParsePatient(vals[1]); err != nil {
			return nil, fmt.Errorf("%s:%d: case %s: patient A: %w", name, c.Line+2, c.ID, err)
		}
		if c.B, err = ParsePatient(vals[2]); err != nil {
			return nil, fmt.Errorf("%s:%d: case %s: patient B: %w", name, c.Line+3, c.ID, err)
		}
		cases = append(cases, c)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: read: %w", name, err)
	}
	return cases, nil
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}

// fields splits "k=v,k=v,..." into a map. A comma not followed by key= is
// part of the value ("COFFIN, III").
func fields(s string) (map[string]string, error) {
	m := map[string]string{}
	last := ""
	for _, piece := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(piece, "=")
		if ok && isKey(k) {
			m[k] = v
			last = k
			continue
		}
		if piece == "" {
			continue
		}
		if last == "" {
			return nil, fmt.Errorf("want key=value, got %q", clip(piece))
		}
		m[last] += "," + piece
	}
	if len(m) == 0 {
		return nil, fmt.Errorf("no key=value pairs")
	}
	return m, nil
}

func isKey(k string) bool {
	if k == "" || k[0] < 'a' || k[0] > 'z' {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// ParsePatient converts one PATIENT line's key=value list to a normalised
// match.Record. Identifiers carry no assigning authority in this format.
// Unknown keys are ignored; unparsable dates and orders count as unknown.
func ParsePatient(s string) (*match.Record, error) {
	f, err := fields(s)
	if err != nil {
		return nil, err
	}
	r := &match.Record{
		First:            f["nameFirst"],
		Middle:           f["nameMiddle"],
		Last:             f["nameLast"],
		Suffix:           f["nameSuffix"],
		Sex:              f["gender"],
		MotherMaidenName: f["motherMaidenName"],
	}
	if v := f["nameLastHyph"]; v != "" {
		r.OtherLastNames = append(r.OtherLastNames, v)
	}
	if v := f["nameAlias"]; v != "" {
		r.Aliases = append(r.Aliases, v)
	}
	if d, err := match.ParseDate(f["birthDate"]); err == nil {
		r.BirthDate = d
	}
	switch strings.ToUpper(f["birthStatus"]) {
	case "Y":
		r.MultipleBirth = match.MultipleBirthYes
	case "N":
		r.MultipleBirth = match.SingleBirth
	}
	if n, err := strconv.Atoi(f["birthType"]); err == nil && n > 1 {
		r.MultipleBirth = match.MultipleBirthYes
	}
	if n, err := strconv.Atoi(f["birthOrder"]); err == nil && n > 0 {
		r.BirthOrder = n
	}
	if v := f["mrns"]; v != "" {
		r.Identifiers = append(r.Identifiers, match.Identifier{Value: v, Type: match.IDMRN})
	}
	if v := f["ssn"]; v != "" {
		r.Identifiers = append(r.Identifiers, match.Identifier{Value: v, Type: match.IDSSN})
	}
	if v := f["medicaid"]; v != "" {
		r.Identifiers = append(r.Identifiers, match.Identifier{Value: v, Type: match.IDMedicaid})
	}
	if f["guardianNameFirst"] != "" || f["guardianNameLast"] != "" {
		r.Guardians = append(r.Guardians, match.PersonName{First: f["guardianNameFirst"], Last: f["guardianNameLast"]})
	}
	if v := f["phone"]; v != "" {
		r.Phones = append(r.Phones, v)
	}
	a := match.Address{Street1: f["addressStreet1"], Street2: f["addressStreet2"], City: f["addressCity"], State: f["addressState"], Zip: f["addressZip"]}
	if a.Zip == "" {
		a.Zip = f["address2Zip"]
	}
	if a != (match.Address{}) {
		r.Addresses = append(r.Addresses, a)
	}
	match.Normalize(r)
	return r, nil
}
