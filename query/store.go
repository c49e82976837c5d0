package query

import (
	"context"
	"fmt"

	"github.com/iisproject/iis"
	"github.com/iisproject/iis/hl7/immz"
	"github.com/iisproject/iis/registry"
)

// FromStore adapts the PostgreSQL registry to the Registry the service
// needs.
func FromStore(st *registry.Store) Registry { return storeRegistry{st} }

type storeRegistry struct{ st *registry.Store }

func (r storeRegistry) FindPatients(ctx context.Context, q *immz.Query) ([]Candidate, error) {
	found, err := r.st.FindForQuery(ctx, q)
	if err != nil {
		return nil, err
	}
	out := make([]Candidate, 0, len(found))
	for _, f := range found {
		c := Candidate{PatientID: f.PatientID, Confident: f.Confident, Protected: f.Protected}
		// Demographics are needed for a candidate list; more candidates than
		// any list may hold are not loaded.
		if len(out) <= maxListed {
			p, err := r.st.Patient(ctx, f.PatientID)
			if err != nil {
				return nil, err
			}
			c.Patient = p
		}
		out = append(out, c)
	}
	return out, nil
}

// maxListed bounds the candidates whose demographics are loaded: more than
// this is always "too many" (RCP-2 is capped at 100).
const maxListed = 101

func (r storeRegistry) History(ctx context.Context, id int64) (iis.Patient, []iis.Vaccination, error) {
	p, err := r.st.Patient(ctx, id)
	if err != nil {
		return p, nil, err
	}
	v, err := r.st.Vaccinations(ctx, id)
	return p, v, err
}

func (r storeRegistry) RecordDisclosure(ctx context.Context, d Disclosure) error {
	what := fmt.Sprintf("%s: %s (query tag %s, MSH-10 %s)", d.Profile, d.What, d.QueryTag, d.ControlID)
	return r.st.RecordDisclosure(ctx, d.At, d.Facility, d.PatientID, what)
}
