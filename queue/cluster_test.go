package queue

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/iisproject/iis/queue/localnats"
)

// TestClusterNodeLoss: on a 3-node JetStream cluster with R3 streams, the
// stream leader is killed while messages are being published. Every publish
// that was acknowledged (a sender that got AA) must be in the stream
// exactly once afterwards; publishes that failed are the ones the senders
// were told to resend.
func TestClusterNodeLoss(t *testing.T) {
	if testing.Short() {
		t.Skip("cluster test in -short mode")
	}
	cl, err := localnats.Start(t.TempDir(), 3)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Stop()
	q, err := Open(context.Background(), Config{URL: cl.URL(), Replicas: 3, PublishTimeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	ctx := context.Background()

	const total, workers = 3000, 8
	var (
		next   atomic.Int64
		mu     sync.Mutex
		acked  = map[string]bool{}
		failed int
		wg     sync.WaitGroup
	)
	killed := make(chan string, 1)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > total {
					return
				}
				if i == total/3 {
					// Kill the stream's leader.
					info, err := q.js.Stream(ctx, q.cfg.Stream)
					if err == nil && info.CachedInfo().Cluster != nil {
						leader := info.CachedInfo().Cluster.Leader
						for n := range cl.Size() {
							if leader == fmt.Sprintf("n%d", n+1) {
								cl.Kill(n)
								killed <- leader
							}
						}
					}
				}
				m := &Message{Kind: "vxu", Facility: "F", ControlID: fmt.Sprint(i), Body: []byte(fmt.Sprint("body ", i))}
				_, err := q.Publish(ctx, m)
				mu.Lock()
				if err == nil {
					acked[m.Facility+"|"+m.ControlID] = true
				} else {
					failed++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	select {
	case l := <-killed:
		t.Logf("killed stream leader %s; %d publishes acknowledged, %d failed (senders told to resend)", l, len(acked), failed)
	default:
		t.Fatal("no leader was killed")
	}

	// Read the whole stream back, message by message (an envelope holds
	// several).
	stored := map[string]int{}
	st, err := q.js.Stream(ctx, q.cfg.Stream)
	if err != nil {
		t.Fatal(err)
	}
	state := st.CachedInfo().State
	for seq := state.FirstSeq; seq <= state.LastSeq; seq++ {
		var msg *jetstream.RawStreamMsg
		for try := 0; ; try++ {
			msg, err = st.GetMsg(ctx, seq)
			if err == nil || try == 50 {
				break
			}
			time.Sleep(100 * time.Millisecond) // a new leader may still be settling
		}
		if err != nil {
			t.Fatalf("reading message %d: %v", seq, err)
		}
		msgs, err := q.Unpack(msg.Subject, msg.Header, msg.Data)
		if err != nil {
			t.Fatalf("message %d: %v", seq, err)
		}
		for _, m := range msgs {
			stored[m.Facility+"|"+m.ControlID]++
		}
	}
	lost, dups := 0, 0
	for id := range acked {
		if stored[id] == 0 {
			lost++
		}
	}
	for _, c := range stored {
		if c > 1 {
			dups++
		}
	}
	if lost != 0 || dups != 0 {
		t.Fatalf("lost %d acknowledged messages, %d duplicates (stored %d, acked %d)", lost, dups, len(stored), len(acked))
	}
	if len(acked) < total/2 {
		t.Errorf("only %d of %d publishes succeeded around one node's loss", len(acked), total)
	}
}
