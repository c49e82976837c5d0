// Package codeset provides the CDC and HL7 code tables that an immunization
// information system needs to validate HL7 v2.5.1 messages under the CDC
// Immunization Implementation Guide Release 1.5: CVX, MVX, CPT, trade names,
// VIS documents, the HL7 tables (0001, 0005, 0064, 0162, 0163, 0322, 0323,
// 0357, ...), the CDC tables (NIP001, NIP002, 0533) and the CDC PHIN value
// sets (funding source, eligibility method), plus the LOINC observation
// identifiers used in immunization OBX segments.
//
// Each table is a tab-separated file under data/, embedded in the binary.
// A file starts with comment lines naming the table, its title, its sources
// and its columns:
//
//	# name: HL70322
//	# title: Completion status (RXA-20)
//	# source: ...
//	# columns: code	display	status
//	CP	Complete	Active
//
// The first three columns are always code, display and status; further
// columns are table specific (see [Table.Columns]). Codes are compared exactly
// (case-sensitive), as HL7 requires.
//
// A [Set] is immutable once loaded and safe for concurrent use.
package codeset

import (
	"bufio"
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"iter"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"
)

// Names of the tables shipped in the embedded data. They match the HL7
// coding-system identifiers where one exists (CWE-3).
const (
	CVX                 = "CVX"                          // vaccines administered
	CVXVaccineGroup     = "CVX_VACCINE_GROUP"            // CVX → vaccine group (several rows per combination vaccine)
	MVX                 = "MVX"                          // manufacturers
	CPT                 = "CPT"                          // CPT → CVX
	TradeName           = "TRADENAME"                    // product names → CVX, MVX
	VISDocument         = "CDCGS1VIS"                    // VIS GS1 barcode strings
	FundingSource       = "CDCPHINVS_FUNDING_SOURCE"     // OBX 30963-3
	EligibilityMethod   = "CDCPHINVS_ELIGIBILITY_METHOD" // OBX-17 VXC40/VXC41
	MessageProfile      = "CDCPHINVS_PROFILE"            // MSH-21 Z22, Z23, Z31…Z44
	ObservationID       = "LOINC_IZ"                     // OBX-3 LOINC codes
	EvidenceOfImmunity  = "EVIDENCE_OF_IMMUNITY"         // OBX 59784-9 values
	Sex                 = "HL70001"
	Race                = "HL70005"
	AckCode             = "HL70008"
	Relationship        = "HL70063"
	FinancialClass      = "HL70064" // VFC eligibility
	ProcessingID        = "HL70103"
	VersionID           = "HL70104"
	YesNo               = "HL70136"
	AckType             = "HL70155"
	Route               = "HL70162"
	Site                = "HL70163"
	Ethnicity           = "HL70189"
	AddressType         = "HL70190"
	NameType            = "HL70200"
	TelecomUse          = "HL70201"
	TelecomEquipment    = "HL70202"
	IdentifierType      = "HL70203"
	QueryResponseStatus = "HL70208"
	Publicity           = "HL70215"
	CompletionStatus    = "HL70322"
	ActionCode          = "HL70323"
	ErrorCondition      = "HL70357"
	CodingSystem        = "HL70396"
	RegistryStatus      = "HL70441"
	QueryName           = "HL70471"
	Severity            = "HL70516"
	ApplicationError    = "HL70533" // CDC table 0533 (ERR-5)
	InformationSource   = "NIP001"
	RefusalReason       = "NIP002"
	ValueType           = "HL70125"    // OBX-2
	Units               = "UCUM_IZ"    // RXA-7 (UCUM subset)
	State               = "USPS_STATE" // XAD-4 in the USA
	CVXRoute            = "CVX_ROUTE"  // oral and nasal vaccines' routes
	Country             = "ISO3166"    // XAD-6 (HL7 table 0399)
	NDC                 = "NDC"        // RXA-5 coding system NDC, with its CVX
	CVXVIS              = "CVX_VIS"    // the VIS documents of each CVX
	CVXUse              = "CVX_USE"    // the patient ages each CVX is given at
)

// Entry is one row of a table.
type Entry struct {
	Code    string
	Display string
	Status  string
	// Extra holds the table's further columns in the order of
	// Table.Columns()[3:]. It is shared with the table: do not modify it.
	Extra []string
}

// Table is one code table. The zero value and a nil *Table are empty tables.
type Table struct {
	name    string
	title   string
	sources []string
	columns []string
	entries []Entry         // sorted by code; equal codes keep file order
	index   map[string]span // code → its run of rows in entries
}

type span struct{ start, n int32 }

// Name is the table's name, e.g. "HL70322".
func (t *Table) Name() string {
	if t == nil {
		return ""
	}
	return t.name
}

// Title is a one-line description of the table.
func (t *Table) Title() string {
	if t == nil {
		return ""
	}
	return t.title
}

// Sources lists where the table's content comes from.
func (t *Table) Sources() []string {
	if t == nil {
		return nil
	}
	return slices.Clone(t.sources)
}

// Columns lists the column names; the first three are code, display, status.
func (t *Table) Columns() []string {
	if t == nil {
		return nil
	}
	return slices.Clone(t.columns)
}

// Len is the number of rows.
func (t *Table) Len() int {
	if t == nil {
		return 0
	}
	return len(t.entries)
}

// Lookup returns the (first) row whose code is exactly code. It does not
// allocate.
func (t *Table) Lookup(code string) (Entry, bool) {
	if t == nil {
		return Entry{}, false
	}
	sp, ok := t.index[code]
	if !ok {
		return Entry{}, false
	}
	return t.entries[sp.start], true
}

// Contains reports whether code is in the table.
func (t *Table) Contains(code string) bool {
	if t == nil {
		return false
	}
	_, ok := t.index[code]
	return ok
}

// LookupAll returns every row with the given code (tables such as
// CVX_VACCINE_GROUP and TRADENAME have several). The result shares memory
// with the table and must not be modified; it does not allocate.
func (t *Table) LookupAll(code string) []Entry {
	if t == nil {
		return nil
	}
	sp, ok := t.index[code]
	if !ok {
		return nil
	}
	end := sp.start + sp.n
	return t.entries[sp.start:end:end]
}

// All yields every row in code order.
func (t *Table) All() iter.Seq[Entry] {
	return func(yield func(Entry) bool) {
		if t == nil {
			return
		}
		for _, e := range t.entries {
			if !yield(e) {
				return
			}
		}
	}
}

// Field returns the value of the named column of e ("code", "display",
// "status" or one of the table's extra columns), or "" if the table has no
// such column.
func (t *Table) Field(e Entry, column string) string {
	if t == nil {
		return ""
	}
	switch column {
	case "code":
		return e.Code
	case "display":
		return e.Display
	case "status":
		return e.Status
	}
	for i, c := range t.columns[3:] {
		if c == column && i < len(e.Extra) {
			return e.Extra[i]
		}
	}
	return ""
}

// Set is a collection of tables loaded together. It is immutable.
type Set struct {
	tables   map[string]*Table
	vaccines map[string]Vaccine
}

//go:embed data/*.tsv
var embedded embed.FS

// Default returns the tables embedded in the binary. They are parsed once,
// on first use; the result is shared and safe for concurrent use. Default
// panics if the embedded data is malformed, which the package tests rule
// out.
func Default() *Set { return defaultSet() }

var defaultSet = sync.OnceValue(func() *Set {
	sub, err := fs.Sub(embedded, "data")
	if err != nil {
		panic(fmt.Sprintf("codeset: embedded data: %v", err))
	}
	s, err := Load(sub)
	if err != nil {
		panic(fmt.Sprintf("codeset: embedded data: %v", err))
	}
	return s
})

// Load reads every *.tsv file at the root of fsys as one table. Two files
// declaring the same table name are an error.
func Load(fsys fs.FS) (*Set, error) {
	names, err := fs.Glob(fsys, "*.tsv")
	if err != nil {
		return nil, fmt.Errorf("codeset: %w", err)
	}
	if len(names) == 0 {
		return nil, errors.New("codeset: no .tsv files")
	}
	s := &Set{tables: make(map[string]*Table, len(names))}
	for _, n := range names {
		data, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, fmt.Errorf("codeset: %w", err)
		}
		t, err := parseTable(n, data)
		if err != nil {
			return nil, fmt.Errorf("codeset: %w", err)
		}
		if _, dup := s.tables[t.name]; dup {
			return nil, fmt.Errorf("codeset: %s: table %s declared twice", n, t.name)
		}
		s.tables[t.name] = t
	}
	s.vaccines = buildVaccines(s.tables[CVX], s.tables[CVXVaccineGroup])
	return s, nil
}

// parseTable parses one TSV file.
func parseTable(file string, data []byte) (*Table, error) {
	t := &Table{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSuffix(sc.Text(), "\r")
		if strings.TrimSpace(text) == "" {
			continue
		}
		if rest, ok := strings.CutPrefix(text, "#"); ok {
			key, val, ok := strings.Cut(strings.TrimPrefix(rest, " "), ":")
			if !ok {
				continue
			}
			val = strings.TrimPrefix(val, " ")
			switch key {
			case "name":
				t.name = val
			case "title":
				t.title = val
			case "source":
				t.sources = append(t.sources, val)
			case "columns":
				t.columns = strings.Split(val, "\t")
				if len(t.columns) < 3 || t.columns[0] != "code" || t.columns[1] != "display" || t.columns[2] != "status" {
					return nil, fmt.Errorf("%s:%d: columns must start with code, display, status", file, line)
				}
			}
			continue
		}
		if t.columns == nil {
			return nil, fmt.Errorf("%s:%d: data before the '# columns:' line", file, line)
		}
		cells := strings.Split(text, "\t")
		if len(cells) != len(t.columns) {
			return nil, fmt.Errorf("%s:%d: %d cells, want %d", file, line, len(cells), len(t.columns))
		}
		if cells[0] == "" {
			return nil, fmt.Errorf("%s:%d: empty code", file, line)
		}
		e := Entry{Code: cells[0], Display: cells[1], Status: cells[2]}
		if len(cells) > 3 {
			e.Extra = cells[3:len(cells):len(cells)]
		}
		t.entries = append(t.entries, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if t.name == "" {
		return nil, fmt.Errorf("%s: no '# name:' line", file)
	}
	if want := strings.TrimSuffix(path.Base(file), ".tsv"); !strings.EqualFold(want, t.name) {
		return nil, fmt.Errorf("%s: declares table %s; the file must be named %s.tsv", file, t.name, strings.ToLower(t.name))
	}
	if len(t.entries) == 0 {
		return nil, fmt.Errorf("%s: no rows", file)
	}
	sort.SliceStable(t.entries, func(i, j int) bool { return t.entries[i].Code < t.entries[j].Code })
	t.index = make(map[string]span, len(t.entries))
	for i, e := range t.entries {
		sp := t.index[e.Code]
		if sp.n == 0 {
			sp.start = int32(i)
		}
		sp.n++
		t.index[e.Code] = sp
	}
	return t, nil
}

// Table returns the named table (e.g. "HL70064", see the constants), or nil
// if the set has none; a nil *Table behaves as an empty table.
func (s *Set) Table(name string) *Table { return s.tables[name] }

// Names lists the tables in the set, sorted.
func (s *Set) Names() []string {
	names := make([]string, 0, len(s.tables))
	for n := range s.tables {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// CVX is the CDC vaccines-administered table.
func (s *Set) CVX() *Table { return s.tables[CVX] }

// MVX is the CDC manufacturer table.
func (s *Set) MVX() *Table { return s.tables[MVX] }

// CPT is the CPT → CVX table (extra column "cvx").
func (s *Set) CPT() *Table { return s.tables[CPT] }

// TradeNames is the CDC product-name table (extra columns "cvx", "mvx").
func (s *Set) TradeNames() *Table { return s.tables[TradeName] }

// VISDocuments is the VIS GS1 barcode table (coding system cdcgs1vis).
func (s *Set) VISDocuments() *Table { return s.tables[VISDocument] }

// FinancialClass is HL7 table 0064, VFC eligibility (OBX 64994-7).
func (s *Set) FinancialClass() *Table { return s.tables[FinancialClass] }

// InformationSource is CDC table NIP001 (RXA-9).
func (s *Set) InformationSource() *Table { return s.tables[InformationSource] }

// RefusalReason is CDC table NIP002 (RXA-18).
func (s *Set) RefusalReason() *Table { return s.tables[RefusalReason] }

// CompletionStatus is HL7 table 0322 (RXA-20).
func (s *Set) CompletionStatus() *Table { return s.tables[CompletionStatus] }

// ActionCode is HL7 table 0323 (RXA-21).
func (s *Set) ActionCode() *Table { return s.tables[ActionCode] }

// Route is HL7 table 0162 with the NCIT route codes (RXR-1).
func (s *Set) Route() *Table { return s.tables[Route] }

// Site is HL7 table 0163 (RXR-2).
func (s *Set) Site() *Table { return s.tables[Site] }

// ErrorCondition is HL7 table 0357 (ERR-3).
func (s *Set) ErrorCondition() *Table { return s.tables[ErrorCondition] }

// ApplicationError is CDC table 0533 (ERR-5).
func (s *Set) ApplicationError() *Table { return s.tables[ApplicationError] }

// Severity is HL7 table 0516 (ERR-4).
func (s *Set) Severity() *Table { return s.tables[Severity] }

// ObservationIDs is the LOINC observation identifiers used in immunization
// OBX-3 (extra columns "value_type", "used_in").
func (s *Set) ObservationIDs() *Table { return s.tables[ObservationID] }
