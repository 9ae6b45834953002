package qemu

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"time"
)

// maxQMPLine bounds one line from QEMU's monitor; QMP answers to the
// commands this package sends are a few hundred bytes.
const maxQMPLine = 1 << 20

// qmpConn is a QMP client connection (QEMU Machine Protocol: one JSON
// object per line each way). Its methods must not be called concurrently.
// It never logs or formats what it sends: set_password carries the
// password.
type qmpConn struct {
	conn net.Conn
	br   *bufio.Reader
	next uint64 // id of the next command
}

// QMPError is QEMU's error answer to a command: the command was refused
// and had no effect. Desc is QEMU's text, which never repeats a command's
// arguments.
type QMPError struct {
	Command string
	Class   string
	Desc    string
}

func (e *QMPError) Error() string {
	return fmt.Sprintf("qmp %s: %s: %s", e.Command, e.Class, e.Desc)
}

// qmpMessage is any line QEMU sends: the greeting, an answer or an event.
type qmpMessage struct {
	QMP    json.RawMessage `json:"QMP"`
	Event  string          `json:"event"`
	ID     json.RawMessage `json:"id"`
	Return json.RawMessage `json:"return"`
	Error  *struct {
		Class string `json:"class"`
		Desc  string `json:"desc"`
	} `json:"error"`
}

// newAgentConn returns a connection to qemu-guest-agent, which speaks
// QMP's messages without a greeting or capabilities negotiation.
func newAgentConn(conn net.Conn) *qmpConn {
	return &qmpConn{conn: conn, br: bufio.NewReaderSize(conn, 4096)}
}

// handshakeQMP reads QEMU's greeting from conn and leaves capabilities
// negotiation mode (qmp_capabilities). The greeting arrives once QEMU has
// finished starting; ctx bounds the wait.
func handshakeQMP(ctx context.Context, conn net.Conn) (*qmpConn, error) {
	q := &qmpConn{conn: conn, br: bufio.NewReaderSize(conn, 4096)}
	err := q.within(ctx, func() error {
		for {
			m, err := q.read()
			if err != nil {
				return fmt.Errorf("qmp greeting: %w", err)
			}
			if m.QMP != nil {
				return nil
			}
			if m.Event == "" {
				return errors.New("qmp greeting: QEMU sent something else first")
			}
		}
	})
	if err != nil {
		return nil, err
	}
	if _, err := q.execute(ctx, "qmp_capabilities", nil); err != nil {
		return nil, err
	}
	return q, nil
}

// execute runs one command and returns its "return" value. A refusal by
// QEMU is a *QMPError; any other error (I/O, timeout, a malformed answer)
// leaves the connection unusable. Events that arrive meanwhile are
// skipped.
func (q *qmpConn) execute(ctx context.Context, command string, args any) (json.RawMessage, error) {
	q.next++
	id := q.next
	req := struct {
		Execute   string `json:"execute"`
		Arguments any    `json:"arguments,omitempty"`
		ID        uint64 `json:"id"`
	}{command, args, id}
	b, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("qmp %s: %w", command, err)
	}
	b = append(b, '\n')
	// The request may hold a password: the buffer is cleared once sent,
	// and no error below quotes it.
	defer clear(b)
	var ret json.RawMessage
	err = q.within(ctx, func() error {
		if _, err := q.conn.Write(b); err != nil {
			return fmt.Errorf("qmp %s: %w", command, err)
		}
		for {
			m, err := q.read()
			if err != nil {
				return fmt.Errorf("qmp %s: %w", command, err)
			}
			if m.Event != "" || m.QMP != nil {
				continue
			}
			var got uint64
			if json.Unmarshal(m.ID, &got) != nil || got != id {
				continue // an answer to an earlier, abandoned command
			}
			if m.Error != nil {
				return &QMPError{Command: command, Class: m.Error.Class, Desc: m.Error.Desc}
			}
			if m.Return == nil {
				return fmt.Errorf("qmp %s: answer without return or error", command)
			}
			ret = m.Return
			return nil
		}
	})
	return ret, err
}

// read reads one message. The line is never quoted in an error.
func (q *qmpConn) read() (*qmpMessage, error) {
	var line []byte
	for {
		frag, err := q.br.ReadSlice('\n')
		line = append(line, frag...)
		if err == nil {
			break
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return nil, err
		}
		if len(line) > maxQMPLine {
			return nil, errors.New("line too long")
		}
	}
	line = bytes.TrimSpace(line)
	var m qmpMessage
	if err := json.Unmarshal(line, &m); err != nil {
		return nil, errors.New("malformed message from QEMU")
	}
	return &m, nil
}

// within runs fn with the connection's deadline set from ctx, and
// interrupts it when ctx is cancelled.
func (q *qmpConn) within(ctx context.Context, fn func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	deadline, _ := ctx.Deadline() // zero: none
	if err := q.conn.SetDeadline(deadline); err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { q.conn.SetDeadline(time.Unix(1, 0)) })
	err := fn()
	if !stop() {
		// ctx ended while fn ran: report that rather than the I/O
		// timeout it caused.
		if cerr := ctx.Err(); cerr != nil {
			err = fmt.Errorf("%w (%w)", cerr, err)
		}
	}
	return err
}

// close closes the connection.
func (q *qmpConn) close() error { return q.conn.Close() }
