package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Names iisd uses (queue and worker defaults).
const (
	ingestStream = "IIS_INGEST"
	deadStream   = "IIS_DEAD"
	consumerName = "registry"
)

// natsNode is one nats-server process with its ports and store directory,
// kept across restarts.
type natsNode struct {
	name                       string
	port, clusterPort, monPort int
	storeDir                   string
	p                          *proc
}

func (n *natsNode) url() string { return fmt.Sprintf("nats://127.0.0.1:%d", n.port) }

// newNATS lays out count nodes (a cluster with routes when count > 1).
func newNATS(dir, bin string, count int) ([]*natsNode, error) {
	nodes := make([]*natsNode, count)
	for i := range nodes {
		n := &natsNode{name: "n" + strconv.Itoa(i+1), storeDir: filepath.Join(dir, "nats", "n"+strconv.Itoa(i+1))}
		var err error
		for _, p := range []*int{&n.port, &n.clusterPort, &n.monPort} {
			if *p, err = freePort(); err != nil {
				return nil, err
			}
		}
		nodes[i] = n
	}
	for _, n := range nodes {
		args := []string{"-js", "-sd", n.storeDir, "-a", "127.0.0.1", "-p", strconv.Itoa(n.port),
			"-m", strconv.Itoa(n.monPort), "--server_name", n.name}
		if count > 1 {
			var routes []string
			for _, o := range nodes {
				if o != n {
					routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", o.clusterPort))
				}
			}
			args = append(args, "--cluster_name", "iis-chaos", "--cluster", fmt.Sprintf("nats://127.0.0.1:%d", n.clusterPort),
				"--routes", strings.Join(routes, ","))
		}
		n.p = &proc{name: "nats " + n.name, bin: bin, args: args, logPath: filepath.Join(dir, "nats-"+n.name+".log")}
	}
	return nodes, nil
}

// waitReady waits for the node's JetStream to report healthy.
func (n *natsNode) waitReady(ctx context.Context, timeout time.Duration) error {
	return waitHTTP(ctx, n.p, fmt.Sprintf("http://127.0.0.1:%d/healthz", n.monPort), timeout)
}

func natsURLs(nodes []*natsNode) string {
	urls := make([]string, len(nodes))
	for i, n := range nodes {
		urls[i] = n.url()
	}
	return strings.Join(urls, ",")
}

// observer is chaos's own NATS connection, to watch the consumer and find
// stream leaders.
type observer struct {
	nc *nats.Conn
	js jetstream.JetStream
}

func newObserver(urls string) (*observer, error) {
	nc, err := nats.Connect(urls, nats.Name("chaos"), nats.MaxReconnects(-1), nats.ReconnectWait(250*time.Millisecond))
	if err != nil {
		return nil, fmt.Errorf("observer: connect: %w", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("observer: %w", err)
	}
	return &observer{nc: nc, js: js}, nil
}

func (o *observer) close() { o.nc.Close() }

// pending returns the registry consumer's unprocessed and unacknowledged
// message counts.
func (o *observer) pending(ctx context.Context) (numPending uint64, ackPending int, err error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	c, err := o.js.Consumer(ctx, ingestStream, consumerName)
	if err != nil {
		return 0, 0, err
	}
	info, err := c.Info(ctx)
	if err != nil {
		return 0, 0, err
	}
	return info.NumPending, info.NumAckPending, nil
}

// streamLeader returns the name of the server leading the ingest stream.
func (o *observer) streamLeader(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	s, err := o.js.Stream(ctx, ingestStream)
	if err != nil {
		return "", err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return "", err
	}
	if info.Cluster == nil || info.Cluster.Leader == "" {
		return "", errors.New("stream has no leader")
	}
	return info.Cluster.Leader, nil
}

// deadLetter is one message the worker gave up on.
type deadLetter struct{ facility, controlID, reason string }

// deadLetters lists the dead-letter stream.
func (o *observer) deadLetters(ctx context.Context) ([]deadLetter, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	s, err := o.js.Stream(ctx, deadStream)
	if err != nil {
		return nil, err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return nil, err
	}
	var out []deadLetter
	if info.State.Msgs == 0 {
		return nil, nil
	}
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgNotFound) {
				continue
			}
			return out, err
		}
		out = append(out, deadLetter{facility: m.Header.Get("Iis-Facility"), controlID: m.Header.Get("Iis-Control-Id"), reason: m.Header.Get("Iis-Reason")})
	}
	return out, nil
}
