package registry

import "context"

// GroupWriter writes the rows of concurrent callers together: one
// goroutine takes every caller's rows waiting at the time and hands them to
// write in one call (one statement or transaction, one commit), and each
// caller waits until its own rows are committed. At hundreds of callers a
// second they share commits instead of queuing on one each. The audit
// trail of queries and of the FHIR API is written this way: each answer is
// sent only after its disclosure is recorded.
type GroupWriter[T any] struct {
	write func(context.Context, []T) error
	max   int
	reqs  chan groupReq[T]
	done  chan struct{}
}

type groupReq[T any] struct {
	rows []T
	err  chan error
}

// NewGroupWriter starts a writer that passes write at most max rows at a
// time (a caller's rows are never split, so one caller may exceed it).
func NewGroupWriter[T any](write func(context.Context, []T) error, max int) *GroupWriter[T] {
	w := &GroupWriter[T]{write: write, max: max, reqs: make(chan groupReq[T], 256), done: make(chan struct{})}
	go w.run()
	return w
}

// Write submits rows and returns once they are committed (or write
// failed), or when ctx ends first.
func (w *GroupWriter[T]) Write(ctx context.Context, rows ...T) error {
	req := groupReq[T]{rows: rows, err: make(chan error, 1)}
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

// Close stops the writer once the rows already submitted are written.
func (w *GroupWriter[T]) Close() {
	close(w.reqs)
	<-w.done
}

func (w *GroupWriter[T]) run() {
	defer close(w.done)
	for req := range w.reqs {
		batch := w.gather(req)
		var rows []T
		for _, b := range batch {
			rows = append(rows, b.rows...)
		}
		// Not the callers' contexts: one caller's rows must not be lost
		// because another caller gave up.
		err := w.write(context.Background(), rows)
		for _, b := range batch {
			b.err <- err
		}
	}
}

// gather takes first and every request already waiting, up to max rows.
func (w *GroupWriter[T]) gather(first groupReq[T]) []groupReq[T] {
	batch := []groupReq[T]{first}
	n := len(first.rows)
	for n < w.max {
		select {
		case more, ok := <-w.reqs:
			if !ok {
				return batch
			}
			batch = append(batch, more)
			n += len(more.rows)
		default:
			return batch
		}
	}
	return batch
}
