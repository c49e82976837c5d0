package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is one child OS process (iisd, nats-server, hl7send) whose output
// goes to a log file in the work directory. A proc can be killed and
// started again with the same arguments.
type proc struct {
	name    string
	bin     string
	args    []string
	logPath string

	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{} // closed when the current process has exited
	err     error         // its exit status
	stopped bool          // chaos stopped or killed it on purpose
}

// start launches the process (again). Output is appended to its log file.
func (p *proc) start() error {
	f, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("%s: log file: %w", p.name, err)
	}
	fmt.Fprintf(f, "\n=== chaos: start %s %s at %s\n", p.bin, strings.Join(p.args, " "), time.Now().UTC().Format(time.RFC3339Nano))
	cmd := exec.Command(p.bin, p.args...)
	cmd.Stdout, cmd.Stderr = f, f
	// Own process group: a Ctrl-C in the terminal reaches only chaos, which
	// then stops its children itself. Pdeathsig: should chaos itself be
	// killed, the kernel kills the children.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("%s: start: %w", p.name, err)
	}
	done := make(chan struct{})
	p.mu.Lock()
	p.cmd, p.done, p.stopped = cmd, done, false
	p.mu.Unlock()
	go func() {
		err := cmd.Wait()
		f.Close()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(done)
	}()
	return nil
}

// pid returns the current process id, or 0.
func (p *proc) pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// running reports whether the current process has not exited.
func (p *proc) running() bool {
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	if done == nil {
		return false
	}
	select {
	case <-done:
		return false
	default:
		return true
	}
}

// crashed reports whether the process has exited without chaos stopping it.
func (p *proc) crashed() bool {
	p.mu.Lock()
	stopped, done := p.stopped, p.done
	p.mu.Unlock()
	if stopped || done == nil {
		return false
	}
	select {
	case <-done:
		return true
	default:
		return false
	}
}

// exited returns a channel closed when the current process exits.
func (p *proc) exited() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.done
}

// exitErr returns the exit status of the last process that exited.
func (p *proc) exitErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// kill9 sends SIGKILL and waits for the process to be gone.
func (p *proc) kill9() {
	p.signal(syscall.SIGKILL, 0)
}

// stop asks the process to exit (SIGTERM) and kills it after grace.
func (p *proc) stop(grace time.Duration) {
	p.signal(syscall.SIGTERM, grace)
}

func (p *proc) signal(sig syscall.Signal, grace time.Duration) {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.stopped = true
	p.mu.Unlock()
	if cmd == nil || cmd.Process == nil || done == nil {
		return
	}
	select {
	case <-done:
		return
	default:
	}
	_ = cmd.Process.Signal(sig)
	if sig != syscall.SIGKILL {
		select {
		case <-done:
			return
		case <-time.After(grace):
			_ = cmd.Process.Signal(syscall.SIGKILL)
		}
	}
	<-done
}

// freePort returns a loopback TCP port that was free a moment ago, never
// one of the machine's shared services.
func freePort() (int, error) {
	reserved := map[int]bool{5432: true, 4222: true, 6222: true, 8222: true, 2575: true, 8080: true}
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("free port: %w", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !reserved[port] {
			return port, nil
		}
	}
	return 0, errors.New("free port: none found")
}

// waitHTTP polls url until it answers 200, the process exits, or timeout.
func waitHTTP(ctx context.Context, p *proc, url string, timeout time.Duration) error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(timeout)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if !p.running() {
			return fmt.Errorf("%s exited before it was ready (%v); see %s", p.name, p.exitErr(), p.logPath)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready at %s after %v; see %s", p.name, url, timeout, p.logPath)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// waitLog polls p's log file until it holds marker (written after the
// process's latest start), the process exits, or timeout.
func waitLog(ctx context.Context, p *proc, marker string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if b, err := os.ReadFile(p.logPath); err == nil {
			s := string(b)
			if i := strings.LastIndex(s, "=== chaos: start"); i >= 0 && strings.Contains(s[i:], marker) {
				return nil
			}
		}
		if !p.running() {
			return fmt.Errorf("%s exited before it was ready (%v); see %s", p.name, p.exitErr(), p.logPath)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %v; see %s", p.name, timeout, p.logPath)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
