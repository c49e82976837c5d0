package bulk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/iisproject/iis/smart"
)

// Run runs queued exports until ctx ends: it polls the job table (and
// wakes at once for an export asked of this process), claims one export
// at a time, and deletes expired ones.
func (s *Server) Run(ctx context.Context) {
	t := time.NewTicker(s.cfg.Poll)
	defer t.Stop()
	for {
		if n, err := s.cfg.Store.Expire(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Logger.Error("bulk: expire", "err", err)
		} else if n > 0 {
			s.cfg.Logger.Info("bulk: exports expired or cancelled deleted", "count", n)
		}
		for ctx.Err() == nil && s.RunOne(ctx) {
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.wake:
		}
	}
}

// RunOne claims and runs one export; false if there was none to claim.
func (s *Server) RunOne(ctx context.Context) bool {
	x, err := s.cfg.Store.Claim(ctx, s.cfg.Worker, s.cfg.Stale)
	if err != nil {
		if ctx.Err() == nil {
			s.cfg.Logger.Error("bulk: claim", "err", err)
		}
		return false
	}
	if x == nil {
		return false
	}
	start := time.Now()
	n, err := s.runExport(ctx, x)
	reason := ""
	switch {
	case errors.Is(err, errTakenAway):
		s.cfg.Logger.Info("bulk: export cancelled", "export", x.ID)
		return true
	case ctx.Err() != nil:
		// Stopping: the export is taken over after Stale, by this
		// process once restarted or by another replica.
		return true
	case err != nil:
		s.cfg.Logger.Error("bulk: export failed", "export", x.ID, "err", err)
		reason = "the resources could not be read"
	}
	if err := s.cfg.Store.Finish(context.WithoutCancel(ctx), x.ID, s.cfg.Worker, s.cfg.FileTTL, reason); err != nil {
		s.cfg.Logger.Error("bulk: finish", "export", x.ID, "err", err)
	}
	s.cfg.Logger.Info("bulk: export done", "export", x.ID, "resources", n, "seconds", time.Since(start).Seconds())
	return true
}

// errTakenAway: the export was cancelled (or taken over) while it ran.
var errTakenAway = errors.New("bulk: export no longer this runner's")

// runExport writes the export's files, type by type and batch by batch of
// patients, stored in chunks; it returns the resources written.
func (s *Server) runExport(ctx context.Context, x *Export) (int, error) {
	v, err := s.lookup(ctx, x.Grant, x.GroupID)
	if err != nil {
		return 0, err
	}
	ids := v.Members // those that may be disclosed; the Source filters again, and audits
	ctx = smart.NewContext(ctx, x.Grant)
	total := 0
	for ti, typ := range x.Types {
		w := &chunkWriter{s: s, ctx: ctx, export: x.ID, typ: typ, buf: make([]byte, 0, s.cfg.ChunkSize+64<<10)}
		for from := 0; from < len(ids); from += s.cfg.Batch {
			progress := fmt.Sprintf("%s (%d of %d types): %d%% of %d patients", typ, ti+1, len(x.Types), 100*from/len(ids), len(ids))
			mine, err := s.cfg.Store.Heartbeat(ctx, x.ID, s.cfg.Worker, progress)
			if err != nil {
				return total, err
			}
			if !mine {
				return total, errTakenAway
			}
			batch := ids[from:min(from+s.cfg.Batch, len(ids))]
			if err := s.cfg.Source.ExportNDJSON(ctx, typ, batch, x.Since, w.emit); err != nil {
				return total, fmt.Errorf("%s: %w", typ, err)
			}
		}
		if err := w.flush(); err != nil {
			return total, err
		}
		total += w.total
	}
	return total, nil
}

// chunkWriter gathers NDJSON lines into chunks of about ChunkSize bytes.
type chunkWriter struct {
	s      *Server
	ctx    context.Context
	export string
	typ    string
	buf    []byte
	lines  int
	seq    int
	total  int
}

func (c *chunkWriter) emit(line []byte) error {
	if bytes.IndexByte(line, '\n') >= 0 {
		return errors.New("bulk: a resource of the source spans lines")
	}
	c.buf = append(c.buf, line...)
	c.buf = append(c.buf, '\n')
	c.lines++
	if len(c.buf) >= c.s.cfg.ChunkSize {
		return c.flush()
	}
	return nil
}

func (c *chunkWriter) flush() error {
	if c.lines == 0 {
		return nil
	}
	if err := c.s.cfg.Store.SaveChunk(c.ctx, c.export, c.typ, c.seq, c.lines, c.buf); err != nil {
		return err
	}
	c.seq++
	c.total += c.lines
	c.buf, c.lines = c.buf[:0], 0
	return nil
}
