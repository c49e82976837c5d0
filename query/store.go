package query

import (
	"context"
	"fmt"

	"github.com/iisproject/iis"
	"github.com/iisproject/iis/hl7/immz"
	"github.com/iisproject/iis/registry"
)

// StoreRegistry adapts the PostgreSQL registry to the Registry the service
// needs. Disclosures are written by one goroutine that groups those made
// at the same time into one transaction, so that concurrent queries share
// a commit; each query still waits for its own row to be committed before
// its answer is sent. Close stops the writer.
type StoreRegistry struct {
	st     *registry.Store
	audits *registry.GroupWriter[registry.Disclosure]
}

// maxAuditBatch bounds the disclosures written in one transaction.
const maxAuditBatch = 512

// FromStore returns the registry adapter and starts its audit writer.
func FromStore(st *registry.Store) *StoreRegistry {
	return &StoreRegistry{st: st, audits: registry.NewGroupWriter(st.RecordDisclosures, maxAuditBatch)}
}

// Close stops the audit writer once the disclosures already submitted are
// written.
func (r *StoreRegistry) Close() { r.audits.Close() }

// FindPatients implements Registry.
func (r *StoreRegistry) FindPatients(ctx context.Context, q *immz.Query) ([]Candidate, error) {
	found, err := r.st.FindForQuery(ctx, q)
	if err != nil {
		return nil, err
	}
	confident := 0
	for _, f := range found {
		if f.Confident {
			confident++
		}
	}
	out := make([]Candidate, 0, len(found))
	var load []int64 // candidates whose demographics are read
	for _, f := range found {
		c := Candidate{PatientID: f.PatientID, Confident: f.Confident, Protected: f.Protected}
		if f.Record != nil {
			c.Patient, c.Doses, c.HasHistory = f.Record.Patient, f.Record.Vaccinations, true
		}
		// Otherwise demographics are needed only for a candidate list (one
		// confident match is answered from History); more candidates than
		// any list may hold are not loaded.
		if !c.HasHistory && confident != 1 && len(out) <= maxListed && !f.Protected {
			load = append(load, f.PatientID)
		}
		out = append(out, c)
	}
	if len(load) > 0 {
		// All of them in one round trip.
		ps, err := r.st.Patients(ctx, load)
		if err != nil {
			return nil, err
		}
		for i := range out {
			if p, ok := ps[out[i].PatientID]; ok {
				out[i].Patient = p
			}
		}
	}
	return out, nil
}

// maxListed bounds the candidates whose demographics are loaded: more than
// this is always "too many" (RCP-2 is capped at 100).
const maxListed = 101

// History implements Registry.
func (r *StoreRegistry) History(ctx context.Context, id int64) (iis.Patient, []iis.Vaccination, error) {
	return r.st.History(ctx, id)
}

// RecordDisclosure implements Registry: it returns once the row is
// committed.
func (r *StoreRegistry) RecordDisclosure(ctx context.Context, d Disclosure) error {
	return r.audits.Write(ctx, registry.Disclosure{At: d.At, Facility: d.Facility, PatientID: d.PatientID,
		What: fmt.Sprintf("%s: %s (query tag %s, MSH-10 %s)", d.Profile, d.What, d.QueryTag, d.ControlID)})
}
