// Package localnats runs a NATS JetStream cluster of several servers on the
// loopback interface, from the nats-server Go module (nothing to download).
// Tests and the crash tests use it to prove that the ingest path loses
// nothing when a node dies; it is the production shape of the queue in
// miniature. Every server gets its own ports and store directory, so runs
// never collide with the machine's own NATS.
package localnats

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Cluster is a running local cluster.
type Cluster struct {
	name    string
	dir     string
	opts    []*server.Options
	servers []*server.Server
}

// Start runs an n-node JetStream cluster with its stores under dir.
func Start(dir string, n int) (*Cluster, error) {
	if n < 1 {
		return nil, errors.New("localnats: need at least one server")
	}
	c := &Cluster{name: fmt.Sprintf("iis-local-%d", time.Now().UnixNano()%1e6), dir: dir}
	clientPorts, err := freePorts(n)
	if err != nil {
		return nil, err
	}
	routePorts, err := freePorts(n)
	if err != nil {
		return nil, err
	}
	var routes []*url.URL
	for _, p := range routePorts {
		routes = append(routes, &url.URL{Scheme: "nats-route", Host: fmt.Sprintf("127.0.0.1:%d", p)})
	}
	for i := range n {
		o := &server.Options{
			ServerName: fmt.Sprintf("n%d", i+1),
			Host:       "127.0.0.1",
			Port:       clientPorts[i],
			JetStream:  true,
			StoreDir:   filepath.Join(dir, fmt.Sprintf("n%d", i+1)),
			NoSigs:     true,
		}
		if n > 1 {
			o.Cluster = server.ClusterOpts{Name: c.name, Host: "127.0.0.1", Port: routePorts[i]}
			o.Routes = routes
		}
		c.opts = append(c.opts, o)
		c.servers = append(c.servers, nil)
	}
	for i := range c.opts {
		if err := c.Restart(i); err != nil {
			c.Stop()
			return nil, err
		}
	}
	return c, c.waitReady(60 * time.Second)
}

// URL returns a client URL naming every server of the cluster.
func (c *Cluster) URL() string {
	var urls []string
	for _, o := range c.opts {
		urls = append(urls, fmt.Sprintf("nats://127.0.0.1:%d", o.Port))
	}
	return strings.Join(urls, ",")
}

// Size returns the number of servers.
func (c *Cluster) Size() int { return len(c.opts) }

// Kill stops server i at once, as a crash would (its store stays).
func (c *Cluster) Kill(i int) {
	if s := c.servers[i]; s != nil {
		s.Shutdown()
		s.WaitForShutdown()
		c.servers[i] = nil
	}
}

// Restart starts server i again on its ports and store.
func (c *Cluster) Restart(i int) error {
	if c.servers[i] != nil {
		return nil
	}
	o := *c.opts[i]
	s, err := server.NewServer(&o)
	if err != nil {
		return fmt.Errorf("localnats: server %d: %w", i+1, err)
	}
	s.Start()
	if !s.ReadyForConnections(30 * time.Second) {
		s.Shutdown()
		return fmt.Errorf("localnats: server %d did not start", i+1)
	}
	c.servers[i] = s
	return nil
}

// Stop shuts every server down.
func (c *Cluster) Stop() {
	for i := range c.servers {
		c.Kill(i)
	}
}

// waitReady waits until JetStream has a meta leader.
func (c *Cluster) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		for _, s := range c.servers {
			if s != nil && s.JetStreamIsLeader() || (len(c.servers) == 1 && s != nil && s.JetStreamEnabled()) {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("localnats: JetStream elected no leader in time")
}

// freePorts finds n free loopback TCP ports.
func freePorts(n int) ([]int, error) {
	var ports []int
	var lns []net.Listener
	defer func() {
		for _, l := range lns {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("localnats: free port: %w", err)
		}
		lns = append(lns, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
