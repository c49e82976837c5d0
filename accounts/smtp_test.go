package accounts

import (
	"bufio"
	"context"
	"net"
	"strings"
	"testing"
	"time"
)

// fakeSMTP accepts one message on 127.0.0.1 and returns the conversation's
// envelope and data.
func fakeSMTP(t *testing.T) (port int, got chan []string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	got = make(chan []string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		r := bufio.NewReader(c)
		say := func(s string) { _, _ = c.Write([]byte(s + "\r\n")) }
		var lines []string
		say("220 fake ESMTP")
		inData := false
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				got <- lines
				return
			}
			line = strings.TrimRight(line, "\r\n")
			switch {
			case inData && line == ".":
				inData = false
				say("250 queued")
			case inData:
				lines = append(lines, "D:"+line)
			case strings.HasPrefix(line, "EHLO"):
				say("250-fake")
				say("250 8BITMIME")
			case strings.HasPrefix(line, "MAIL"), strings.HasPrefix(line, "RCPT"):
				lines = append(lines, line)
				say("250 ok")
			case line == "DATA":
				inData = true
				say("354 go on")
			case line == "QUIT":
				say("221 bye")
				got <- lines
				return
			default:
				say("502 unknown")
			}
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port, got
}

func TestSMTPSend(t *testing.T) {
	port, got := fakeSMTP(t)
	c := SMTP{Host: "127.0.0.1", Port: port, From: "registry@dph.example", Timeout: 5 * time.Second}
	m := Mail{ID: 7, To: "nora@elm.example", Subject: "Your immunization registry account", Body: "Hello Nora,\n.\nA line with a dot alone above.\n"}
	if err := c.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	lines := <-got
	conv := strings.Join(lines, "\n")
	for _, want := range []string{"MAIL FROM:<registry@dph.example>", "RCPT TO:<nora@elm.example>", "D:Subject: Your immunization registry account",
		"D:To: nora@elm.example", "D:Content-Type: text/plain; charset=utf-8", "D:Hello Nora,", "D:..", "D:A line with a dot alone above."} {
		if !strings.Contains(conv, want) {
			t.Errorf("conversation lacks %q:\n%s", want, conv)
		}
	}
}

func TestSMTPSendRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close() // nothing listens there now
	c := SMTP{Host: "127.0.0.1", Port: port, From: "registry@dph.example", Timeout: 2 * time.Second}
	if err := c.Send(context.Background(), Mail{To: "x@example.org", Subject: "s", Body: "b"}); err == nil {
		t.Error("sent to a closed port")
	}
}
