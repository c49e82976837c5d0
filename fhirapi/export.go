package fhirapi

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/iisproject/iis/registry"
	"github.com/iisproject/iis/smart"
)

// exportBatch is how many patients one read of an export asks for.
const exportBatch = 1000

// ExportNDJSON writes one NDJSON line (a resource in FHIR JSON, without
// the newline) per resource of resourceType ("Patient", "Immunization" or
// "ImmunizationRecommendation") of the patients patientIDs (changed after
// since, when since is not zero) to emit, in patient id order.
//
// The grant is the context's (smart.NewContext): it must allow reading
// resourceType (ErrNoGrant, ErrForbidden otherwise). Patients who opted
// out or are protected, merged-away records, and, for a grant made for a
// facility, patients that facility has no relationship with are left out
// without a word. Every patient whose resources are written is audited
// (action disclose, actor fhir:<client id>) before its lines are emitted.
// The patients are read a thousand at a time.
func (s *Server) ExportNDJSON(ctx context.Context, resourceType string, patientIDs []int64, since time.Time, emit func(line []byte) error) error {
	parts, ok := map[string]registry.RecordParts{
		"Patient":                    {Demographics: true},
		"Immunization":               {Doses: true},
		"ImmunizationRecommendation": {Demographics: true, Doses: true},
	}[resourceType]
	if !ok {
		return fmt.Errorf("fhirapi: export of %q: not a resource type the registry exports", resourceType)
	}
	g, err := authorize(ctx, 'r', resourceType)
	if err != nil {
		return err
	}
	what := "FHIR bulk export: " + resourceType
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for page := range s.readPages(ctx, patientIDs, g.FacilityID, since, parts) {
		if page.err != nil {
			return fmt.Errorf("fhirapi: export: %w", page.err)
		}
		if err := s.exportPage(ctx, g, resourceType, what, page.recs, emit); err != nil {
			return err
		}
	}
	return ctx.Err()
}

type page struct {
	recs []registry.DisclosableRecord
	err  error
}

// readPages reads the records a thousand patients at a time, the next
// page while the caller writes the last one; it stops at the first error
// or when ctx is cancelled.
func (s *Server) readPages(ctx context.Context, ids []int64, facility string, since time.Time, parts registry.RecordParts) <-chan page {
	out := make(chan page, 1)
	go func() {
		defer close(out)
		for start := 0; start < len(ids); start += exportBatch {
			recs, err := s.reg.ReadRecords(ctx, ids[start:min(start+exportBatch, len(ids))], facility, since, parts)
			select {
			case out <- page{recs, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return out
}

// exportPage writes the lines of one page's disclosable records, once
// their patients are audited; the records are written on every core.
func (s *Server) exportPage(ctx context.Context, g smart.Grant, resourceType, what string, recs []registry.DisclosableRecord, emit func([]byte) error) error {
	var disclosable []*registry.DisclosableRecord
	for i := range recs {
		if recs[i].Disclosable() {
			disclosable = append(disclosable, &recs[i])
		}
	}
	lines := make([][][]byte, len(disclosable)) // per record
	errs := make([]error, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for w := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(disclosable) && errs[w] == nil; i += len(errs) {
				lines[i], errs[w] = s.exportLines(nil, resourceType, disclosable[i])
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	var disclosed []int64
	for i, r := range disclosable {
		if len(lines[i]) > 0 || resourceType == "Patient" {
			disclosed = append(disclosed, r.PatientID)
		}
	}
	if err := s.audit(ctx, g, disclosed, what); err != nil {
		return err
	}
	for _, ls := range lines {
		for _, l := range ls {
			if err := emit(l); err != nil {
				return err
			}
		}
	}
	return nil
}

// exportLines appends the resources of one record.
func (s *Server) exportLines(lines [][]byte, resourceType string, r *registry.DisclosableRecord) ([][]byte, error) {
	var msgs []proto.Message
	switch resourceType {
	case "Patient":
		msgs = []proto.Message{toPatient(r)}
	case "Immunization":
		for i := range r.Vaccinations {
			lines = append(lines, appendImmunization(make([]byte, 0, 1024), r.DoseIDs[i], r.PatientID, &r.Vaccinations[i]))
		}
		return lines, nil
	case "ImmunizationRecommendation":
		return append(lines, s.assess(r).appendRecommendation(make([]byte, 0, 16<<10))), nil
	}
	for _, m := range msgs {
		b, err := s.marshalFast(m)
		if err != nil {
			return nil, fmt.Errorf("fhirapi: export: %s of patient %d: %w", resourceType, r.PatientID, err)
		}
		lines = append(lines, b)
	}
	return lines, nil
}

// assess forecasts a stored patient's record today.
func (s *Server) assess(r *registry.DisclosableRecord) *assessment {
	ids := make([]string, len(r.DoseIDs))
	for i, id := range r.DoseIDs {
		ids[i] = itoa(id)
	}
	return assess(s.fc, itoa(r.PatientID), &r.Patient, r.Vaccinations, ids, s.now())
}
