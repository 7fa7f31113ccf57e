package smtpd

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"

	"postern/internal/netlimit"
)

// errReadTimeout replaces a read timeout on a connection, and stays: every
// later read fails the same way. go-smtp sets one read deadline per command
// line, so a timeout can fire in the middle of a DATA body or a BDAT chunk;
// with a plain net.Error it would answer 554 and then read the rest of the
// body as commands. Being an *smtp.SMTPError it is answered as a temporary
// 421, and being sticky no byte after it is ever parsed.
var errReadTimeout = &smtp.SMTPError{
	Code:         421,
	EnhancedCode: smtp.EnhancedCode{4, 4, 2},
	Message:      "Timeout reading from connection, closing",
}

// shutdownReply is what a client waiting between commands reads when the
// server shuts down (RFC 5321 §3.8: 421 before closing; RFC 3463 X.3.2:
// system not accepting network messages).
const shutdownReply = "421 4.3.2 Server shutting down; try again later\r\n"

// trackingListener wraps every accepted connection in a trackedConn.
type trackingListener struct {
	net.Listener
	srv      *Server
	implicit bool // implicit TLS goes on top of the connection
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	for err == nil {
		e := netlimit.Refused(c)
		if e == nil {
			break
		}
		go l.srv.refuseConn(c, l.implicit, e)
		c, err = l.Listener.Accept()
	}
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c, srv: l.srv, start: time.Now()}
	if !l.implicit {
		tc.setTop(c)
	}
	l.srv.mu.Lock()
	l.srv.conns[tc] = struct{}{}
	draining := l.srv.shutdown
	l.srv.mu.Unlock()
	if draining {
		tc.drain()
	}
	l.srv.log.Info("connection opened", "remote", c.RemoteAddr().String(), "local", c.LocalAddr().String())
	return tc, nil
}

// trackedConn is the raw connection under go-smtp (and under TLS). It logs
// the connection's end, makes read timeouts final (errReadTimeout), and lets
// the server end a connection cleanly between commands: after stopReading or
// during shutdown, the next read returns io.EOF, which go-smtp takes as the
// client having left. At shutdown the client is first sent shutdownReply,
// through top.
type trackedConn struct {
	net.Conn
	srv   *Server
	start time.Time

	// top is the connection go-smtp writes replies through: the raw
	// connection, or the *tls.Conn over it once that has finished its
	// handshake. It is nil while it is not known: from the start of a
	// TLS handshake until the session made after it (see newSession).
	// The shutdown reply is only written through a known top.
	top     atomic.Pointer[connBox]
	goodbye sync.Once

	user     atomic.Pointer[string]
	tlsName  atomic.Pointer[string]
	messages atomic.Int64

	timedOut atomic.Bool
	ended    atomic.Pointer[smtp.SMTPError] // the account ended, see end
	eof      atomic.Bool                    // stop reading: the next read is io.EOF
	draining atomic.Bool                    // shutting down: end the connection once idle
	busy     atomic.Bool                    // a message is being received

	closeOnce sync.Once
}

// connBox holds a net.Conn for an atomic.Pointer.
type connBox struct{ net.Conn }

func (c *trackedConn) setTop(top net.Conn) {
	if top == nil {
		c.top.Store(nil)
		return
	}
	c.top.Store(&connBox{top})
}

func (c *trackedConn) Read(p []byte) (int, error) {
	if c.eof.Load() {
		return 0, io.EOF
	}
	if e := c.ended.Load(); e != nil {
		return 0, c.endedRead(e)
	}
	if c.draining.Load() && !c.busy.Load() {
		c.sayGoodbye(shutdownReply)
		return 0, io.EOF
	}
	if c.timedOut.Load() {
		return 0, errReadTimeout
	}
	n, err := c.Conn.Read(p)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			if e := c.ended.Load(); e != nil {
				return n, c.endedRead(e) // woken by end
			}
			if c.draining.Load() && !c.busy.Load() {
				c.sayGoodbye(shutdownReply) // woken by drain
				return n, io.EOF
			}
			c.timedOut.Store(true)
			return n, errReadTimeout
		}
	}
	return n, err
}

// sayGoodbye writes reply once, if the connection can take it. It runs in
// go-smtp's connection goroutine, inside a read for the next command: no
// reply of go-smtp's is being written then, and a *tls.Conn allows a write
// while its read waits.
func (c *trackedConn) sayGoodbye(reply string) {
	c.goodbye.Do(func() {
		top := c.top.Load()
		if top == nil {
			return
		}
		top.SetWriteDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(top, reply)
	})
}

// end is called when the session's account is deleted or disabled: the
// connection ends at once, with reply. A read in progress is woken.
func (c *trackedConn) end(reply *smtp.SMTPError) {
	c.ended.Store(reply)
	c.Conn.SetReadDeadline(time.Now())
}

// endedRead is what a read returns once the account has ended: between
// commands the client is told (421) and the connection ends; in the middle
// of a message the read fails with the reply, which DATA passes on.
func (c *trackedConn) endedRead(reply *smtp.SMTPError) error {
	if c.busy.Load() {
		return reply
	}
	c.sayGoodbye(fmt.Sprintf("%d %d.%d.%d %s\r\n", reply.Code,
		reply.EnhancedCode[0], reply.EnhancedCode[1], reply.EnhancedCode[2], reply.Message))
	return io.EOF
}

// stopReading makes the next read return io.EOF, so that go-smtp writes the
// reply it is about to write and then closes the connection.
func (c *trackedConn) stopReading() { c.eof.Store(true) }

// drain is called at shutdown: an idle connection is woken from its read
// and ends; a busy one ends after its transaction.
func (c *trackedConn) drain() {
	c.draining.Store(true)
	if !c.busy.Load() {
		c.Conn.SetReadDeadline(time.Now())
	}
}

func (c *trackedConn) setUser(u string)   { c.user.Store(&u) }
func (c *trackedConn) setTLS(name string) { c.tlsName.Store(&name) }
func (c *trackedConn) delivered()         { c.messages.Add(1) }
func (c *trackedConn) setBusy(b bool)     { c.busy.Store(b) }
func loadString(p *atomic.Pointer[string]) string {
	if s := p.Load(); s != nil {
		return *s
	}
	return ""
}

func (c *trackedConn) Close() error {
	err := c.Conn.Close()
	c.closeOnce.Do(func() {
		c.srv.mu.Lock()
		delete(c.srv.conns, c)
		c.srv.mu.Unlock()
		c.srv.log.Info("connection closed",
			"remote", c.RemoteAddr().String(),
			"user", loadString(&c.user),
			"tls", loadString(&c.tlsName),
			"messages", c.messages.Load(),
			"duration", time.Since(c.start).Round(time.Millisecond))
	})
	return err
}

// refuseTimeout is how long a connection over a cap has to take its
// answer (and with implicit TLS, the handshake before it).
const refuseTimeout = 10 * time.Second

// refuseConn answers a connection over a cap with 421 4.7.0 instead of the
// greeting (RFC 5321 §3.1, §4.2.2: "try again later") and closes it.
func (s *Server) refuseConn(c net.Conn, implicit bool, e *netlimit.CapError) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(refuseTimeout))
	w := c
	if implicit {
		tc := tls.Server(c, s.tls)
		if err := tc.Handshake(); err != nil {
			return
		}
		w = tc
	}
	fmt.Fprintf(w, "421 4.7.0 %s %s\r\n", s.cfg.Hostname, e.Error())
}

// NetConn returns the connection under the tracking, for code that looks
// through wrappers (netlimit.LoggedIn).
func (c *trackedConn) NetConn() net.Conn { return c.Conn }

// trackedOf finds the trackedConn under c, through TLS.
func trackedOf(c net.Conn) *trackedConn {
	for range 8 {
		switch v := c.(type) {
		case *trackedConn:
			return v
		case interface{ NetConn() net.Conn }:
			c = v.NetConn()
		default:
			return nil
		}
	}
	return nil
}
