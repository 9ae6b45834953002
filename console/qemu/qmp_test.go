package qemu

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
)

// fakeMonitor plays QEMU's side of a QMP connection: it sends the
// greeting, then answers each command with script(command, id), a list of
// raw lines; the line "<close>" makes it hang up. It returns what it
// received, once the connection ends.
func fakeMonitor(t *testing.T, script func(cmd string, id json.RawMessage) []string) (net.Conn, <-chan []string) {
	t.Helper()
	client, server := net.Pipe()
	got := make(chan []string, 1)
	go func() {
		defer server.Close()
		var seen []string
		defer func() { got <- seen }()
		if _, err := io.WriteString(server, `{"QMP": {"version": {}, "capabilities": ["oob"]}}`+"\r\n"); err != nil {
			return
		}
		sc := bufio.NewScanner(server)
		for sc.Scan() {
			seen = append(seen, sc.Text())
			var req struct {
				Execute string          `json:"execute"`
				ID      json.RawMessage `json:"id"`
			}
			if json.Unmarshal(sc.Bytes(), &req) != nil {
				return
			}
			for _, line := range script(req.Execute, req.ID) {
				if line == "<close>" {
					return
				}
				if _, err := io.WriteString(server, line+"\r\n"); err != nil {
					return
				}
			}
		}
	}()
	return client, got
}

func ok(id json.RawMessage) string { return `{"return": {}, "id": ` + string(id) + `}` }

// Events and stale answers between a command and its answer are skipped;
// the answer is matched by id.
func TestQMPSkipsEventsAndStaleAnswers(t *testing.T) {
	conn, got := fakeMonitor(t, func(cmd string, id json.RawMessage) []string {
		if cmd == "query-vnc" {
			return []string{
				`{"event": "RESET", "data": {"guest": false}, "timestamp": {"seconds": 1, "microseconds": 2}}`,
				`{"return": {"stale": true}, "id": 999}`,
				`{"return": {"enabled": true}, "id": ` + string(id) + `}`,
			}
		}
		return []string{ok(id)}
	})
	q, err := handshakeQMP(context.Background(), conn)
	if err != nil {
		t.Fatal(err)
	}
	ret, err := q.execute(context.Background(), "query-vnc", nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(ret) != `{"enabled": true}` {
		t.Fatalf("return %s", ret)
	}
	q.close()
	if lines := <-got; len(lines) != 2 || !strings.Contains(lines[0], `"qmp_capabilities"`) {
		t.Fatalf("the monitor received %q", lines)
	}
}

// A refusal is a *QMPError naming the command and QEMU's text; the
// connection stays usable.
func TestQMPErrorAnswer(t *testing.T) {
	conn, _ := fakeMonitor(t, func(cmd string, id json.RawMessage) []string {
		if cmd == "set_password" {
			return []string{`{"error": {"class": "GenericError", "desc": "Could not set password"}, "id": ` + string(id) + `}`}
		}
		return []string{ok(id)}
	})
	q, err := handshakeQMP(context.Background(), conn)
	if err != nil {
		t.Fatal(err)
	}
	defer q.close()
	_, err = q.execute(context.Background(), "set_password", passwordArgs{Protocol: "vnc", Password: "Hidden1"})
	var qe *QMPError
	if !errors.As(err, &qe) || qe.Command != "set_password" || qe.Class != "GenericError" {
		t.Fatalf("got %v, want a QMPError for set_password", err)
	}
	if strings.Contains(err.Error(), "Hidden1") {
		t.Fatal("the error holds the password")
	}
	if _, err := q.execute(context.Background(), "expire_password", expireArgs{Protocol: "vnc", Time: "never"}); err != nil {
		t.Fatalf("the connection is unusable after a refusal: %v", err)
	}
}

// What QEMU sends is never quoted in an error, and a monitor that goes
// away mid-command reads as closed by the peer.
func TestQMPBrokenPeer(t *testing.T) {
	conn, _ := fakeMonitor(t, func(cmd string, id json.RawMessage) []string {
		if cmd == "set_password" {
			return []string{`{"return": not json Hidden1`}
		}
		return []string{ok(id)}
	})
	q, err := handshakeQMP(context.Background(), conn)
	if err != nil {
		t.Fatal(err)
	}
	_, err = q.execute(context.Background(), "set_password", passwordArgs{Protocol: "vnc", Password: "Hidden1"})
	if err == nil || strings.Contains(err.Error(), "Hidden1") || strings.Contains(err.Error(), "not json") {
		t.Fatalf("got %v, want an error that quotes nothing", err)
	}
	q.close()

	// QEMU exiting mid-command: its end closes.
	conn2, _ := fakeMonitor(t, func(cmd string, id json.RawMessage) []string {
		if cmd == "qmp_capabilities" {
			return []string{ok(id)}
		}
		return []string{"<close>"}
	})
	q2, err := handshakeQMP(context.Background(), conn2)
	if err != nil {
		t.Fatal(err)
	}
	defer q2.close()
	_, err = q2.execute(context.Background(), "expire_password", expireArgs{Protocol: "vnc", Time: "never"})
	if !peerClosed(err) {
		t.Fatalf("got %v, want the peer closed", err)
	}
}

// A cancelled context interrupts a command whose answer never comes.
func TestQMPContextInterrupts(t *testing.T) {
	conn, _ := fakeMonitor(t, func(cmd string, id json.RawMessage) []string {
		if cmd == "qmp_capabilities" {
			return []string{ok(id)}
		}
		return nil // never answers
	})
	q, err := handshakeQMP(context.Background(), conn)
	if err != nil {
		t.Fatal(err)
	}
	defer q.close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := q.execute(ctx, "query-vnc", nil)
		done <- err
	}()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

// A peer that closes without a greeting is an error (QEMU exiting during
// its start).
func TestQMPNoGreeting(t *testing.T) {
	mine, theirs, err := socketPair()
	if err != nil {
		t.Fatal(err)
	}
	defer mine.Close()
	theirs.Close()
	_, err = handshakeQMP(context.Background(), mine)
	if !peerClosed(err) {
		t.Fatalf("got %v, want the peer closed", err)
	}
}
