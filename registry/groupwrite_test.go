package registry

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

func TestGroupWriter(t *testing.T) {
	var calls, first atomic.Int64
	var mu sync.Mutex
	var got []int
	release := make(chan struct{})
	w := NewGroupWriter(func(_ context.Context, rows []int) error {
		if calls.Add(1) == 1 {
			first.Store(int64(len(rows)))
			<-release // hold the first write so that the others queue up
		}
		mu.Lock()
		got = append(got, rows...)
		mu.Unlock()
		return nil
	}, 100)
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := w.Write(context.Background(), i); err != nil {
				t.Error(err)
			}
		}()
	}
	for calls.Load() != 1 || int(first.Load())+len(w.reqs) < 50 {
		runtime.Gosched() // wait for the other callers to queue behind the held write
	}
	close(release)
	wg.Wait()
	w.Close()
	if len(got) != 50 {
		t.Fatalf("%d rows written, want 50", len(got))
	}
	if n := calls.Load(); n > 3 {
		t.Errorf("%d writes for 50 callers waiting together, want them shared", n)
	}

	boom := errors.New("boom")
	w = NewGroupWriter(func(context.Context, []int) error { return boom }, 10)
	defer w.Close()
	if err := w.Write(context.Background(), 1); !errors.Is(err, boom) {
		t.Fatalf("Write: %v, want the write's error", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := w.Write(ctx, 2); err == nil {
		t.Fatal("Write with an ended context: no error")
	}
}
