package codeset

import (
	"strings"
	"sync"
	"testing"
	"testing/fstest"
)

// TestTablesLoad checks every shipped table: it is present, has its minimum
// number of rows, names a source, and its known codes resolve to the
// expected display and status.
func TestTablesLoad(t *testing.T) {
	s := Default()
	tests := []struct {
		table   string
		minRows int
		known   map[string][2]string // code → {display, status}; "" display = don't check
	}{
		{CVX, 280, map[string][2]string{
			"08":  {"Hep B, adolescent or pediatric", "Active"},
			"998": {"no vaccine administered", "Inactive"},
			"999": {"unknown", "Inactive"},
			"45":  {"Hep B, unspecified formulation", "Inactive"},
			"03":  {"MMR", "Active"},
		}},
		{MVX, 80, map[string][2]string{"MSD": {"Merck and Co., Inc.", "Active"}, "PMC": {"", "Active"}, "AB": {"Abbott Laboratories", "Inactive"}}},
		{CPT, 150, map[string][2]string{"90281": {"Immune globulin (Ig), human, for intramuscular use", "Active"}}},
		{TradeName, 200, map[string][2]string{"ABRYSVO": {"", "Active"}}},
		{CVXVaccineGroup, 250, map[string][2]string{"03": {"MMR", "Active"}}},
		{VISDocument, 100, map[string][2]string{"253088698300017211160720": {"Polio Vaccine VIS", "Historic"}, "253088698300010311210806": {"", "Current"}}},
		{FinancialClass, 8, map[string][2]string{"V02": {"VFC eligible - Medicaid/Medicaid Managed Care", "Active"}, "V01": {"Not VFC eligible", "Active"}, "V00": {"", "Deprecated"}}},
		{InformationSource, 9, map[string][2]string{"00": {"New immunization record", "Active"}, "01": {"Historical information - source unspecified", "Active"}, "08": {"", "Active"}}},
		{RefusalReason, 4, map[string][2]string{"00": {"Parental decision", "Active"}, "03": {"Patient decision", "Active"}}},
		{CompletionStatus, 4, map[string][2]string{"CP": {"Complete", "Active"}, "RE": {"Refused", "Active"}, "NA": {"Not Administered", "Active"}, "PA": {"Partially Administered", "Active"}}},
		{ActionCode, 3, map[string][2]string{"A": {"Add", "Active"}, "U": {"Update", "Active"}, "D": {"Delete", "Active"}}},
		{ProcessingID, 3, map[string][2]string{"P": {"Production", "Active"}, "T": {"Training", "Active"}, "D": {"Debugging", "Active"}}},
		{VersionID, 9, map[string][2]string{"2.5.1": {"Release 2.5.1", "Active"}, "2.3.1": {"", "Not used"}}},
		{AckType, 4, map[string][2]string{"AL": {"Always", "Active"}, "NE": {"Never", "Active"}, "ER": {"", "Active"}, "SU": {"", "Active"}}},
		{Sex, 3, map[string][2]string{"F": {"Female", "Active"}, "M": {"Male", "Active"}, "U": {"", "Active"}}},
		{Race, 6, map[string][2]string{"2106-3": {"White", "Active"}, "1002-5": {"American Indian or Alaska Native", "Active"}, "W": {"", "Deprecated"}}},
		{Ethnicity, 2, map[string][2]string{"2135-2": {"Hispanic or Latino", "Active"}, "2186-5": {"Not Hispanic or Latino", "Active"}}},
		{Relationship, 10, map[string][2]string{"MTH": {"Mother", "Active"}, "FTH": {"Father", "Active"}, "GRD": {"Guardian", "Active"}}},
		{Route, 8, map[string][2]string{"C28161": {"Intramuscular", "Active"}, "IM": {"Intramuscular", "Active"}, "C38299": {"Subcutaneous", "Active"}}},
		{Site, 12, map[string][2]string{"LA": {"Left Upper Arm", "Active"}, "RT": {"Right Thigh", "Active"}, "LVL": {"", "Active"}}},
		{IdentifierType, 20, map[string][2]string{"MR": {"Medical record number", "Active"}, "SR": {"State registry ID", "Active"}, "NPI": {"", "Active"}}},
		{NameType, 4, map[string][2]string{"L": {"Legal name", "Active"}, "A": {"Alias name", "Active"}, "M": {"Maiden name", "Active"}}},
		{AddressType, 5, map[string][2]string{"H": {"Home", "Active"}, "P": {"Permanent", "Active"}, "M": {"Mailing", "Active"}, "L": {"Legal address", "Active"}}},
		{TelecomUse, 5, map[string][2]string{"PRN": {"Primary residence number", "Active"}, "NET": {"", "Active"}}},
		{TelecomEquipment, 5, map[string][2]string{"PH": {"Telephone", "Active"}, "CP": {"Cellular phone", "Active"}, "Internet": {"", "Active"}, "X.400": {"", "Active"}}},
		{Publicity, 12, map[string][2]string{"02": {"Reminder/recall - any method", "Active"}, "01": {"No reminder/recall", "Active"}}},
		{RegistryStatus, 6, map[string][2]string{"A": {"Active", "Active"}, "P": {"", "Active"}, "U": {"Unknown", "Active"}}},
		{YesNo, 2, map[string][2]string{"Y": {"Yes", "Active"}, "N": {"No", "Active"}}},
		{ErrorCondition, 14, map[string][2]string{"999": {"Application error", "Local"}, "0": {"Message accepted", "Active"}, "101": {"Required field missing", "Active"}, "103": {"Table value not found", "Active"}, "203": {"Unsupported version id", "Active"}, "207": {"Application internal error", "Active"}}},
		{ApplicationError, 8, map[string][2]string{"1": {"Illogical Date error", "Active"}, "5": {"Table value not found", "Active"}, "6": {"Required observation missing", "Active"}, "7": {"Required data missing", "Active"}, "8": {"Data was ignored", "Active"}}},
		{Severity, 3, map[string][2]string{"E": {"Error", "Active"}, "W": {"Warning", "Active"}, "I": {"Information", "Active"}}},
		{AckCode, 3, map[string][2]string{"AA": {"", "Active"}, "AE": {"", "Active"}, "AR": {"", "Active"}}},
		{QueryResponseStatus, 6, map[string][2]string{"OK": {"", "Active"}, "NF": {"No data found, no errors", "Active"}, "TM": {"Too much data found", "Active"}, "PD": {"Protected data", "Active"}}},
		{QueryName, 2, map[string][2]string{"Z34": {"Request Immunization History", "Active"}, "Z44": {"Request Evaluated History and Forecast", "Active"}}},
		{MessageProfile, 8, map[string][2]string{"Z22": {"", "Active"}, "Z23": {"", "Active"}, "Z42": {"", "Active"}}},
		{CodingSystem, 30, map[string][2]string{"CVX": {"", "Active"}, "MVX": {"", "Active"}, "NDC": {"", "Active"}, "CPT": {"", "Active"}, "LN": {"", "Active"}, "HL70064": {"", "Active"}, "HL70292": {"", "Deprecated"}, "cdcgs1vis": {"", "Active"}}},
		{FundingSource, 7, map[string][2]string{"PHC70": {"Private funds", "Active"}, "VXC1": {"Federal funds", "Active"}, "VXC50": {"", "Active"}}},
		{EligibilityMethod, 2, map[string][2]string{"VXC40": {"Eligibility captured at the immunization level", "Active"}, "VXC41": {"Eligibility captured at the visit level", "Active"}}},
		{ObservationID, 21, map[string][2]string{
			"64994-7": {"Vaccine funding program eligibility category", "Active"}, "30963-3": {"Vaccine funding source", "Active"},
			"69764-9": {"", "Active"}, "29768-9": {"", "Active"}, "29769-7": {"", "Active"}, "30956-7": {"", "Active"},
			"59784-9": {"Disease with presumed immunity", "Active"}, "75505-8": {"", "Active"}, "30945-0": {"", "Active"},
			"31044-1": {"Reaction", "Active"}, "59779-9": {"", "Active"}, "30973-2": {"Dose number in series", "Active"},
			"59782-3": {"", "Active"}, "59781-5": {"Dose validity", "Active"}, "30982-3": {"", "Active"}, "59783-1": {"", "Active"},
			"30981-5": {"Earliest date to give", "Active"}, "30980-7": {"Date vaccine due", "Active"}, "59778-1": {"", "Active"},
			"59777-3": {"", "Active"}, "48767-8": {"", "Active"},
		}},
		{ValueType, 11, map[string][2]string{"CE": {"Coded element", "Active"}, "CWE": {"", "Active"}, "TS": {"", "Active"}, "DT": {"", "Active"}, "ED": {"", "Not used"}}},
		{CVXRoute, 10, map[string][2]string{"116": {"rotavirus, pentavalent", "Active"}, "149": {"", "Active"}}},
		{Units, 5, map[string][2]string{"mL": {"milliliter", "Active"}}},
		{State, 60, map[string][2]string{"CT": {"Connecticut", "Active"}, "PR": {"Puerto Rico", "Active"}}},
		{Country, 249, map[string][2]string{"USA": {"United States", "Active"}, "CAN": {"Canada", "Active"}, "YUG": {"", "Withdrawn"}}},
		{NDC, 1000, map[string][2]string{"49281052100": {"FLUZONE QUADRIVALENT", "Active"}}},
		{CVXUse, 280, map[string][2]string{"03": {"MMR", "Valid"}}},
		{CVXVIS, 500, map[string][2]string{"143": {"", "Historic"}}},
		{EvidenceOfImmunity, 20, map[string][2]string{"38907003": {"History of varicella infection", "Active"}, "66071002": {"", "Active"}}},
	}
	seen := map[string]bool{}
	for _, tc := range tests {
		t.Run(tc.table, func(t *testing.T) {
			seen[tc.table] = true
			tab := s.Table(tc.table)
			if tab == nil {
				t.Fatalf("table %s missing", tc.table)
			}
			if tab.Name() != tc.table {
				t.Errorf("Name() = %q", tab.Name())
			}
			if tab.Len() < tc.minRows {
				t.Errorf("Len() = %d, want at least %d", tab.Len(), tc.minRows)
			}
			if len(tab.Sources()) == 0 || tab.Title() == "" {
				t.Errorf("table has no source or title")
			}
			for code, want := range tc.known {
				e, ok := tab.Lookup(code)
				if !ok {
					t.Errorf("Lookup(%q) not found", code)
					continue
				}
				if e.Code != code || (want[0] != "" && e.Display != want[0]) || e.Status != want[1] {
					t.Errorf("Lookup(%q) = {%q %q %q}, want {%q %q}", code, e.Code, e.Display, e.Status, want[0], want[1])
				}
			}
			for e := range tab.All() {
				if e.Code != strings.TrimSpace(e.Code) || e.Display != strings.TrimSpace(e.Display) {
					t.Errorf("untrimmed row %q %q", e.Code, e.Display)
				}
				if e.Status == "" {
					t.Errorf("row %q has no status", e.Code)
				}
			}
		})
	}
	for _, n := range s.Names() {
		if !seen[n] {
			t.Errorf("table %s shipped but not tested", n)
		}
	}
}

func TestLookupIsCaseSensitive(t *testing.T) {
	s := Default()
	tests := []struct {
		table, code string
		want        bool
	}{
		{CompletionStatus, "CP", true},
		{CompletionStatus, "cp", false},
		{MVX, "MSD", true},
		{MVX, "msd", false},
		{CVX, "8", false}, // CVX codes keep their leading zero
		{CVX, "08", true},
		{CVX, " 08", false},
		{FinancialClass, "v02", false},
		{ErrorCondition, "", false},
	}
	for _, tc := range tests {
		if got := s.Table(tc.table).Contains(tc.code); got != tc.want {
			t.Errorf("%s.Contains(%q) = %v, want %v", tc.table, tc.code, got, tc.want)
		}
	}
}

func TestVaccine(t *testing.T) {
	s := Default()
	tests := []struct {
		cvx         string
		status      string
		unspecified bool
		groups      []string
	}{
		{"08", StatusActive, false, []string{"HepB"}},
		{"45", StatusInactive, true, []string{"HepB"}},
		{"88", StatusInactive, true, []string{"FLU"}},
		{"196", StatusActive, false, []string{"Td"}},
		{"03", StatusActive, false, []string{"MMR"}},
		{"998", StatusInactive, false, nil},
		{"999", StatusInactive, false, nil},
	}
	for _, tc := range tests {
		v, ok := s.Vaccine(tc.cvx)
		if !ok {
			t.Errorf("Vaccine(%q) not found", tc.cvx)
			continue
		}
		if v.CVX != tc.cvx || v.Status != tc.status || v.Unspecified != tc.unspecified {
			t.Errorf("Vaccine(%q) = %+v", tc.cvx, v)
		}
		if len(v.LastUpdated) != len("2006-01-02") || v.FullName == "" {
			t.Errorf("Vaccine(%q) last updated %q, full name %q", tc.cvx, v.LastUpdated, v.FullName)
		}
		var names []string
		for _, g := range v.Groups {
			names = append(names, g.Name)
			if g.CVX == "" {
				t.Errorf("Vaccine(%q) group %q has no CVX", tc.cvx, g.Name)
			}
		}
		if strings.Join(names, ",") != strings.Join(tc.groups, ",") {
			t.Errorf("Vaccine(%q) groups = %v, want %v", tc.cvx, names, tc.groups)
		}
	}
	// A combination vaccine belongs to several groups: 110 DTaP-HepB-IPV.
	v, _ := s.Vaccine("110")
	if len(v.Groups) < 3 {
		t.Errorf("Vaccine(110) groups = %+v, want DTaP, HepB and polio", v.Groups)
	}
	if _, ok := s.Vaccine("0000"); ok {
		t.Error("Vaccine(0000) found")
	}
}

func TestEveryCVXHasVaccineView(t *testing.T) {
	s := Default()
	n := 0
	for e := range s.CVX().All() {
		if _, ok := s.Vaccine(e.Code); !ok {
			t.Errorf("CVX %s has no Vaccine", e.Code)
		}
		n++
	}
	if n != s.CVX().Len() {
		t.Errorf("All yielded %d rows, Len %d", n, s.CVX().Len())
	}
	// Every CVX used by a vaccine-group row and every CPT mapping is a known CVX.
	for e := range s.Table(CVXVaccineGroup).All() {
		if !s.CVX().Contains(e.Code) {
			t.Errorf("vaccine group row for unknown CVX %s", e.Code)
		}
	}
	for e := range s.CPT().All() {
		if c := s.CPT().Field(e, "cvx"); !s.CVX().Contains(c) {
			t.Errorf("CPT %s maps to unknown CVX %q", e.Code, c)
		}
	}
}

func TestExtraColumns(t *testing.T) {
	s := Default()
	cpt := s.CPT()
	e, ok := cpt.Lookup("90281")
	if !ok || cpt.Field(e, "cvx") != "86" {
		t.Errorf("CPT 90281 → cvx %q, want 86", cpt.Field(e, "cvx"))
	}
	if got := cpt.Field(e, "no_such_column"); got != "" {
		t.Errorf("Field(no_such_column) = %q", got)
	}
	tn := s.TradeNames()
	rows := tn.LookupAll("ACAM2000")
	if len(rows) < 2 {
		t.Fatalf("ACAM2000 rows = %d, want one per manufacturer (>= 2)", len(rows))
	}
	for _, r := range rows {
		if tn.Field(r, "cvx") != "75" {
			t.Errorf("ACAM2000 cvx = %q", tn.Field(r, "cvx"))
		}
	}
	vis := s.VISDocuments()
	d, _ := vis.Lookup("253088698300017211160720")
	if vis.Field(d, "gdti") != "0886983000172" {
		t.Errorf("gdti = %q", vis.Field(d, "gdti"))
	}
	obs := s.ObservationIDs()
	o, _ := obs.Lookup("64994-7")
	if obs.Field(o, "value_type") != "CE" {
		t.Errorf("64994-7 value type %q", obs.Field(o, "value_type"))
	}
	fc := s.FinancialClass()
	v02, _ := fc.Lookup("V02")
	if fc.Field(v02, "vfc") != "Y" || fc.Field(v02, "max_age_years") != "18" {
		t.Errorf("V02 vfc %q max age %q", fc.Field(v02, "vfc"), fc.Field(v02, "max_age_years"))
	}
	fs := s.Table(FundingSource)
	if e, _ := fs.Lookup("PHC70"); fs.Field(e, "stock") != "private" {
		t.Errorf("PHC70 stock %q", fs.Field(e, "stock"))
	}
	cols := s.Route().Columns()
	if len(cols) != 4 || cols[3] != "coding_system" {
		t.Errorf("route columns %v", cols)
	}
}

func TestNilAndMissingTables(t *testing.T) {
	s := Default()
	var tab *Table = s.Table("NO_SUCH_TABLE")
	if tab != nil {
		t.Fatal("unknown table is not nil")
	}
	if tab.Len() != 0 || tab.Contains("x") || tab.LookupAll("x") != nil || tab.Name() != "" {
		t.Error("nil table is not empty")
	}
	if _, ok := tab.Lookup("x"); ok {
		t.Error("nil table Lookup found something")
	}
	for range tab.All() {
		t.Error("nil table yields rows")
	}
}

func TestLoadErrors(t *testing.T) {
	good := "# name: T1\n# title: t\n# source: s\n# columns: code\tdisplay\tstatus\nA\tAlpha\tActive\n"
	tests := []struct {
		name  string
		files map[string]string
		want  string // substring of the error; "" = no error
	}{
		{"ok", map[string]string{"t1.tsv": good}, ""},
		{"crlf and blank lines", map[string]string{"t1.tsv": strings.ReplaceAll(good, "\n", "\r\n") + "\r\n\r\n"}, ""},
		{"no files", map[string]string{"x.txt": "hello"}, "no .tsv files"},
		{"wrong cell count", map[string]string{"t1.tsv": good + "B\tBeta\n"}, "t1.tsv:6: 2 cells, want 3"},
		{"no name", map[string]string{"t1.tsv": "# columns: code\tdisplay\tstatus\nA\tB\tC\n"}, "no '# name:' line"},
		{"name mismatch", map[string]string{"t2.tsv": good}, "must be named t1.tsv"},
		{"bad columns", map[string]string{"t1.tsv": "# name: T1\n# columns: code\tstatus\tdisplay\nA\tB\tC\n"}, "columns must start with code, display, status"},
		{"data before columns", map[string]string{"t1.tsv": "# name: T1\nA\tB\tC\n"}, "data before"},
		{"empty code", map[string]string{"t1.tsv": good + "\tx\tActive\n"}, "empty code"},
		{"no rows", map[string]string{"t1.tsv": "# name: T1\n# columns: code\tdisplay\tstatus\n"}, "no rows"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for n, c := range tc.files {
				fsys[n] = &fstest.MapFile{Data: []byte(c)}
			}
			s, err := Load(fsys)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				e, ok := s.Table("T1").Lookup("A")
				if !ok || e.Display != "Alpha" || e.Status != "Active" {
					t.Errorf("Lookup(A) = %+v, %v", e, ok)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Load error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestDuplicateCodesKeepFileOrder(t *testing.T) {
	fsys := fstest.MapFS{"t1.tsv": &fstest.MapFile{Data: []byte(
		"# name: T1\n# columns: code\tdisplay\tstatus\textra\nB\tsecond\tActive\t1\nA\tfirst\tActive\t0\nB\tthird\tActive\t2\n")}}
	s, err := Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	tab := s.Table("T1")
	rows := tab.LookupAll("B")
	if len(rows) != 2 || rows[0].Display != "second" || rows[1].Display != "third" {
		t.Fatalf("LookupAll(B) = %+v", rows)
	}
	if e, _ := tab.Lookup("B"); e.Display != "second" || tab.Field(e, "extra") != "1" {
		t.Errorf("Lookup(B) = %+v", e)
	}
	// Appending to the result must not clobber the table.
	_ = append(rows, Entry{Code: "Z"})
	if e, _ := tab.Lookup("A"); e.Display != "first" {
		t.Errorf("table changed: %+v", e)
	}
}

func TestDefaultIsSharedAndConcurrentSafe(t *testing.T) {
	var wg sync.WaitGroup
	sets := make([]*Set, 8)
	for i := range sets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sets[i] = Default()
			if !sets[i].CVX().Contains("08") {
				t.Error("CVX 08 missing")
			}
		}()
	}
	wg.Wait()
	for _, s := range sets[1:] {
		if s != sets[0] {
			t.Fatal("Default returned different sets")
		}
	}
}

func TestLookupDoesNotAllocate(t *testing.T) {
	s := Default()
	cvx, site := s.CVX(), s.Site()
	allocs := testing.AllocsPerRun(100, func() {
		if _, ok := cvx.Lookup("08"); !ok {
			t.Fatal("08 missing")
		}
		if _, ok := site.Lookup("LA"); !ok {
			t.Fatal("LA missing")
		}
		if _, ok := s.Vaccine("110"); !ok {
			t.Fatal("110 missing")
		}
		_ = s.Table(CVXVaccineGroup).LookupAll("110")
	})
	if allocs != 0 {
		t.Errorf("lookups allocate %.1f times", allocs)
	}
}

func BenchmarkLookup(b *testing.B) {
	cvx := Default().CVX()
	codes := []string{"08", "998", "140", "nope", "213"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		cvx.Lookup(codes[i%len(codes)])
	}
}
