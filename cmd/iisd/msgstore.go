package main

import (
	"context"
	"log/slog"
	"maps"
	"time"

	"github.com/iisproject/iis/registry"
)

// MessageStoreConfig is the raw message store's partitioning and retention
// (config key "message_store"), e.g.
// {"period": "month", "ahead": 3, "retention_months": {"vxu": 24, "rejected": 36, "query": 6, "other": 12}}.
// A kind missing from retention_months keeps its default; 0 keeps it forever.
type MessageStoreConfig struct {
	Period          string         `json:"period"` // month (default), week or day
	Ahead           int            `json:"ahead"`  // periods created ahead of time (default 3)
	RetentionMonths map[string]int `json:"retention_months"`
	// Every is how often the partitions are maintained (default 24h; and at start).
	Every time.Duration `json:"every"`
}

// defaultRetentionMonths: raw VXUs kept two years, rejected messages three
// (a sender's corrections are worked from them), queries six months, other
// kinds a year.
var defaultRetentionMonths = map[string]int{"vxu": 24, "rejected": 36, "query": 6, "other": 12}

// policy is c with its defaults.
func (c MessageStoreConfig) policy() registry.MessageStorePolicy {
	r := maps.Clone(defaultRetentionMonths)
	maps.Copy(r, c.RetentionMonths)
	return registry.MessageStorePolicy{Period: c.Period, Ahead: c.Ahead, RetentionMonths: r}
}

// startMessageStore checks the message store's configuration and maintains
// its partitions (create ahead, prune) now and then every c.Every until ctx
// ends; one replica at a time does (the registry's advisory lock).
func (s *server) startMessageStore(ctx context.Context) error {
	c := s.cfg.MessageStore
	p := c.policy()
	if err := p.Validate(); err != nil {
		return err
	}
	every := c.Every
	if every <= 0 {
		every = 24 * time.Hour
	}
	go maintainMessageStore(ctx, s.store, p, every, s.log)
	return nil
}

func maintainMessageStore(ctx context.Context, st *registry.Store, p registry.MessageStorePolicy, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		start := time.Now()
		ch, err := st.MaintainMessageStore(ctx, p, start)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			log.Error("message store maintenance failed", "err", err)
		case ch.Skipped:
			log.Info("message store maintained by another replica")
		default:
			log.Info("message store maintained", "created", len(ch.Created), "dropped", len(ch.Dropped),
				"moved_rows", ch.Moved, "deleted_rows", ch.Deleted, "detach_time", ch.DetachTime, "drop_time", ch.DropTime,
				"took", time.Since(start))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
