package ingest

import (
	"bytes"
	"context"
	"log/slog"
	"strconv"

	"github.com/iisproject/iis/hl7"
	"github.com/iisproject/iis/queue"
)

// KindQuery is the queue kind of a QBP kept with its answer for the
// message store.
const KindQuery = "query"

// publishLater queues an answered query's record for the message store
// without making its sender wait: a query changes nothing in the
// registry, so its answer does not depend on the record. Wait waits for
// these publishes; one that fails is logged and counted
// (iis_query_store_failures_total).
func (h *Handler) publishLater(ctx context.Context, m *queue.Message) {
	// The transport reuses the message's buffer once the reply is sent.
	m.Body = bytes.Clone(m.Body)
	ctx = context.WithoutCancel(ctx)
	h.bg.Add(1)
	go func() {
		defer h.bg.Done()
		if err := h.publish(ctx, m); err != nil {
			h.queryNotStored(ctx, m, err)
		}
	}()
}

func (h *Handler) queryNotStored(ctx context.Context, m *queue.Message, err error) {
	h.m.observeQueryNotStored()
	h.log.LogAttrs(ctx, slog.LevelError, "query answered but not queued for the message store",
		slog.String("facility", m.Facility), slog.String("control_id", m.ControlID), slog.String("err", err.Error()))
}

// Wait waits until the records of the queries answered so far are queued
// (or have failed to be), or ctx ends; call it after the transports have
// shut down and before the queue closes.
func (h *Handler) Wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		h.bg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// replySummary reads a reply's MSA-1 and its ERR rows in immz.Summary
// form (what the message store keeps of an answer).
func replySummary(reply []byte) (ack, issues string) {
	m, err := hl7.Parse(reply)
	if err != nil {
		return "", ""
	}
	ack = m.Get("MSA-1").String()
	var b []byte
	for i := 1; i <= m.Count("ERR"); i++ {
		e, _ := m.Segment("ERR", i)
		if len(b) > 0 {
			b = append(b, ';')
		}
		b = append(b, e.Field(4).String()...)
		b = append(b, ':')
		b = append(b, orZero(e.Field(3).Comp(1).String())...)
		b = append(b, ':')
		b = append(b, orZero(e.Field(5).Comp(1).String())...)
		b = append(b, ':')
		loc := e.Field(2)
		b = append(b, loc.Comp(1).String()...)
		if f := loc.Comp(3).String(); f != "" && f != "0" {
			b = append(b, '-')
			b = append(b, f...)
			if c := loc.Comp(5).String(); c != "" && c != "0" {
				b = append(b, '.')
				b = append(b, c...)
			}
		}
	}
	return ack, string(b)
}

func orZero(s string) string {
	if _, err := strconv.Atoi(s); err != nil {
		return "0"
	}
	return s
}
