package bulk

import (
	"bytes"
	"cmp"
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

// runExport writes the export's files, type by type, stored in chunks; it
// returns the resources written.
func (s *Server) runExport(ctx context.Context, x *Export) (int, error) {
	v, err := s.lookup(ctx, x.Grant, x.GroupID)
	if err != nil {
		return 0, err
	}
	ids := v.Members // those that may be disclosed; the Source filters again, and audits
	ctx = smart.NewContext(ctx, x.Grant)
	total := 0
	for ti, typ := range x.Types {
		n, err := s.runType(ctx, x, ti, typ, ids)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// batchOut is the NDJSON of one batch of patients, in blocks of about
// ChunkSize bytes.
type batchOut struct {
	blocks []block
	err    error
}

type block struct {
	data  []byte
	lines int
}

// runType writes the file of one type: Workers batches of patients are
// read from the Source at once, and stored in order as they come.
func (s *Server) runType(ctx context.Context, x *Export, ti int, typ string, ids []int64) (int, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	nb := (len(ids) + s.cfg.Batch - 1) / s.cfg.Batch
	results := make([]chan batchOut, nb)
	for i := range results {
		results[i] = make(chan batchOut, 1)
	}
	slots := make(chan struct{}, s.cfg.Workers)
	go func() {
		for i := 0; i < nb; i++ {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
			batch := ids[i*s.cfg.Batch : min((i+1)*s.cfg.Batch, len(ids))]
			go func() { results[i] <- s.readBatch(ctx, typ, batch, x.Since) }()
		}
	}()
	seq, total := 0, 0
	for i := 0; i < nb; i++ {
		progress := fmt.Sprintf("%s (%d of %d types): %d%% of %d patients", typ, ti+1, len(x.Types), 100*i/nb, len(ids))
		if mine, err := s.cfg.Store.Heartbeat(ctx, x.ID, s.cfg.Worker, progress); err != nil || !mine {
			return total, cmp.Or(err, errTakenAway)
		}
		var out batchOut
		select {
		case out = <-results[i]:
		case <-ctx.Done():
			return total, ctx.Err()
		}
		<-slots
		if out.err != nil {
			return total, fmt.Errorf("%s: %w", typ, out.err)
		}
		for _, b := range out.blocks {
			if err := s.cfg.Store.SaveChunk(ctx, x.ID, typ, seq, b.lines, b.data); err != nil {
				return total, err
			}
			seq++
			total += b.lines
		}
	}
	return total, nil
}

// readBatch asks the Source for one batch's resources.
func (s *Server) readBatch(ctx context.Context, typ string, ids []int64, since time.Time) batchOut {
	var out batchOut
	cur := block{data: make([]byte, 0, 64<<10)}
	out.err = s.cfg.Source.ExportNDJSON(ctx, typ, ids, since, func(line []byte) error {
		if bytes.IndexByte(line, '\n') >= 0 {
			return errors.New("bulk: a resource of the source spans lines")
		}
		cur.data = append(append(cur.data, line...), '\n')
		cur.lines++
		if len(cur.data) >= s.cfg.ChunkSize {
			out.blocks = append(out.blocks, cur)
			cur = block{data: make([]byte, 0, s.cfg.ChunkSize+64<<10)}
		}
		return nil
	})
	if cur.lines > 0 {
		out.blocks = append(out.blocks, cur)
	}
	return out
}
