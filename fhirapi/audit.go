package fhirapi

import (
	"context"
	"fmt"

	"github.com/iisproject/iis/registry"
	"github.com/iisproject/iis/smart"
)

// The audit rows of concurrent requests are written together
// (registry.GroupWriter): each request waits for its own rows to be
// committed before it answers, and requests at the same moment share a
// commit.

// maxAuditBatch bounds the rows written in one statement.
const maxAuditBatch = 4096

// Close stops the audit writer once the rows submitted are written.
func (s *Server) Close() { s.audits.Close() }

// audit writes one "disclose" row per patient disclosed, before anything
// is sent.
func (s *Server) audit(ctx context.Context, g smart.Grant, ids []int64, what string) error {
	if len(ids) == 0 {
		return nil
	}
	es := make([]registry.AuditEntry, len(ids))
	for i := range ids {
		es[i] = registry.AuditEntry{Actor: actor(g), Action: "disclose", PatientID: &ids[i], Detail: what}
	}
	var err error
	if len(es) >= exportBatch/2 {
		err = s.reg.RecordAudits(ctx, es) // an export page: its own statement
	} else {
		err = s.audits.Write(ctx, es...)
	}
	if err != nil {
		return fmt.Errorf("fhirapi: audit: %w", err)
	}
	return nil
}
