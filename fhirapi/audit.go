package fhirapi

import (
	"context"
	"fmt"

	"github.com/iisproject/iis/registry"
	"github.com/iisproject/iis/smart"
)

// The audit rows of concurrent requests are written together: one
// goroutine takes every request's rows waiting at the time and writes them
// in one statement (one commit), and each request waits for its own rows
// to be committed before it answers. At hundreds of requests a second the
// requests then share commits instead of queuing on one each.

// maxAuditBatch bounds the rows written in one statement.
const maxAuditBatch = 4096

type auditReq struct {
	rows []registry.AuditEntry
	err  chan error
}

// auditWriter gathers concurrent requests' audit rows into shared commits.
type auditWriter struct {
	reg  Registry
	reqs chan auditReq
	done chan struct{}
}

func newAuditWriter(reg Registry) *auditWriter {
	w := &auditWriter{reg: reg, reqs: make(chan auditReq, 256), done: make(chan struct{})}
	go w.run()
	return w
}

func (w *auditWriter) run() {
	defer close(w.done)
	for req := range w.reqs {
		batch := []auditReq{req}
		n := len(req.rows)
	gather:
		for n < maxAuditBatch {
			select {
			case more, ok := <-w.reqs:
				if !ok {
					break gather
				}
				batch = append(batch, more)
				n += len(more.rows)
			default:
				break gather
			}
		}
		rows := make([]registry.AuditEntry, 0, n)
		for _, b := range batch {
			rows = append(rows, b.rows...)
		}
		// Not the requests' contexts: a row of one request must not be
		// lost because another was cancelled.
		err := w.reg.RecordAudits(context.Background(), rows)
		for _, b := range batch {
			b.err <- err
		}
	}
}

// write submits rows and waits until they are committed.
func (w *auditWriter) write(ctx context.Context, rows []registry.AuditEntry) error {
	req := auditReq{rows: rows, err: make(chan error, 1)}
	select {
	case w.reqs <- req:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-req.err:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (w *auditWriter) close() {
	close(w.reqs)
	<-w.done
}

// Close stops the audit writer once the rows submitted are written.
func (s *Server) Close() { s.audits.close() }

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
		err = s.audits.write(ctx, es)
	}
	if err != nil {
		return fmt.Errorf("fhirapi: audit: %w", err)
	}
	return nil
}
