package codeset

// CVX statuses as published by CDC.
const (
	StatusActive      = "Active"
	StatusInactive    = "Inactive"
	StatusNonUS       = "Non-US"
	StatusNeverActive = "Never Active"
	StatusPending     = "Pending"
)

// Special CVX codes the IG gives a meaning of their own.
const (
	CVXNoVaccineAdministered = "998" // RXA-5 of a refusal, immunity or forecast RXA
	CVXUnknown               = "999"
)

// VaccineGroup is a CDC vaccine group a CVX belongs to.
type VaccineGroup struct {
	Name string // e.g. "HepB", "DTAP", "MMR"
	CVX  string // the CVX that stands for the group (its unspecified formulation), e.g. "45"
}

// Vaccine is a CVX code with what the CDC tables say about it.
type Vaccine struct {
	CVX         string
	ShortName   string
	FullName    string
	Status      string // Active, Inactive, Non-US, Never Active, Pending
	LastUpdated string // YYYY-MM-DD
	// Unspecified is true for "unspecified formulation" codes, which the IG
	// allows for historical doses only (e.g. 45 Hep B, unspecified formulation).
	Unspecified bool
	// Groups lists the vaccine groups (several for a combination vaccine).
	// It is shared with the set: do not modify it.
	Groups []VaccineGroup
}

// Vaccine returns the CVX entry for code with its vaccine groups. It does not
// allocate.
func (s *Set) Vaccine(cvx string) (Vaccine, bool) {
	v, ok := s.vaccines[cvx]
	return v, ok
}

func buildVaccines(cvx, groups *Table) map[string]Vaccine {
	m := make(map[string]Vaccine, cvx.Len())
	for e := range cvx.All() {
		v := Vaccine{
			CVX:         e.Code,
			ShortName:   e.Display,
			Status:      e.Status,
			FullName:    cvx.Field(e, "full_name"),
			LastUpdated: cvx.Field(e, "last_updated"),
			Unspecified: cvx.Field(e, "unspecified") == "Y",
		}
		for _, g := range groups.LookupAll(e.Code) {
			v.Groups = append(v.Groups, VaccineGroup{Name: g.Display, CVX: groups.Field(g, "group_cvx")})
		}
		m[e.Code] = v
	}
	return m
}
