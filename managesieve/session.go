package managesieve

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

const (
	readBufSize      = 4096
	writeBufSize     = 16 << 10
	handshakeTimeout = 30 * time.Second
)

var (
	errClose       = errors.New("close connection")
	errInterrupted = errors.New("server shutting down")
)

// session is one ManageSieve connection.
type session struct {
	srv    *Server
	remote net.Addr
	start  time.Time
	ctx    context.Context
	cancel context.CancelFunc

	mu          sync.Mutex // guards conn and interrupted against Shutdown
	conn        net.Conn
	interrupted bool

	rd       *reader
	w        *bufio.Writer
	tls      bool
	implicit bool

	account  string // "" before AUTHENTICATE
	errors   int
	failures int
}

func newSession(srv *Server, c net.Conn, implicit bool) *session {
	ctx, cancel := context.WithCancel(context.Background())
	s := &session{
		srv: srv, remote: c.RemoteAddr(), start: time.Now(), ctx: ctx, cancel: cancel,
		conn: c, tls: implicit, implicit: implicit,
	}
	s.setConn(c)
	return s
}

// setConn (re)makes the buffers over c, after STARTTLS too: whatever the
// client sent before TLS began is thrown away (RFC 5804 §2.2).
func (s *session) setConn(c net.Conn) {
	s.mu.Lock()
	s.conn = c
	s.mu.Unlock()
	s.rd = &reader{r: bufio.NewReaderSize(c, readBufSize), maxLiteral: s.srv.cfg.MaxScriptSize}
	s.w = bufio.NewWriterSize(c, writeBufSize)
}

// Serve runs the session until the connection ends. A panic ends only
// this connection.
func (s *session) Serve() {
	log := s.srv.log
	log.Info("managesieve connection open", "remote", s.remote.String(), "tls", s.implicit)
	defer func() {
		if v := recover(); v != nil {
			log.Error("managesieve session panic", "remote", s.remote.String(), "user", s.account,
				"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
		}
		s.Close()
		log.Info("managesieve connection closed", "remote", s.remote.String(), "user", s.account,
			"duration", time.Since(s.start).Round(time.Millisecond), "tls", s.tls)
	}()
	if err := s.run(); err != nil && !errors.Is(err, errClose) {
		lvl := slog.LevelDebug
		if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !errors.Is(err, errInterrupted) && !isTimeout(err) {
			lvl = slog.LevelInfo
		}
		log.Log(s.ctx, lvl, "managesieve session ended", "remote", s.remote.String(), "user", s.account, "err", err)
	}
}

// Shutdown makes a session waiting for a command stop waiting; one
// running a command finishes it first.
func (s *session) Shutdown() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.interrupted = true
	s.conn.SetReadDeadline(time.Now())
}

// Close closes the connection and cancels store calls in progress.
func (s *session) Close() {
	s.mu.Lock()
	c := s.conn
	s.mu.Unlock()
	c.Close()
	s.cancel()
}

func (s *session) run() error {
	if s.implicit {
		if err := s.handshake(s.conn.(*tls.Conn)); err != nil {
			return err
		}
	}
	// RFC 5804 §1.7: the capabilities greet the client.
	s.capabilities()
	s.ok("", "Postern ManageSieve ready")
	for {
		if err := s.wait(); err != nil {
			s.goodbye(err)
			return err
		}
		cmd, err := s.rd.ReadCommand()
		var se *errSyntax
		switch {
		case errors.As(err, &se):
			s.errors++
			s.no(se.code, se.msg)
		case errors.Is(err, errFatal):
			s.bye("", "the command was too large; closing the connection")
			s.w.Flush()
			return err
		case err != nil:
			s.goodbye(err)
			return err
		default:
			if err := s.dispatch(cmd); err != nil {
				s.w.Flush()
				return err
			}
		}
		if s.errors >= s.srv.cfg.MaxErrors {
			s.bye("", "too many bad commands; closing the connection")
			s.w.Flush()
			return errClose
		}
	}
}

// wait flushes the replies and arms the idle timer before the session
// blocks for a command; commands already buffered (pipelining) run first.
func (s *session) wait() error {
	if s.rd.r.Buffered() > 0 {
		return nil
	}
	if err := s.w.Flush(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.interrupted {
		return errInterrupted
	}
	timeout := s.srv.cfg.IdleTimeout
	if s.account == "" {
		timeout = s.srv.cfg.LoginTimeout
	}
	return s.conn.SetDeadline(time.Now().Add(timeout))
}

// goodbye tells a client why the server closes the connection.
func (s *session) goodbye(err error) {
	var msg string
	switch {
	case errors.Is(err, errInterrupted), isTimeout(err) && s.isInterrupted():
		msg = "server shutting down"
	case isTimeout(err):
		msg = "autologout: idle for too long"
	default:
		return
	}
	s.mu.Lock()
	s.conn.SetWriteDeadline(time.Now().Add(time.Second))
	s.mu.Unlock()
	s.bye("", msg)
	s.w.Flush()
}

func (s *session) isInterrupted() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.interrupted
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded)
}

func (s *session) handshake(tc *tls.Conn) error {
	ctx, cancel := context.WithTimeout(s.ctx, handshakeTimeout)
	defer cancel()
	return tc.HandshakeContext(ctx)
}

// Responses (RFC 5804 §4 response-oknobye).

func (s *session) ok(code, text string)  { s.response("OK", code, text) }
func (s *session) no(code, text string)  { s.response("NO", code, text) }
func (s *session) bye(code, text string) { s.response("BYE", code, text) }

func (s *session) response(kind, code, text string) {
	s.w.WriteString(kind)
	if code != "" {
		s.w.WriteString(" (" + code + ")")
	}
	if text != "" {
		s.w.WriteByte(' ')
		s.writeString(text)
	}
	s.w.WriteString("\r\n")
}

// writeString writes a quoted string when it may be one (RFC 5804 §4:
// at most 1024 octets, no CR, LF or NUL, UTF-8), else a literal.
func (s *session) writeString(v string) {
	quotable := len(v) <= maxQuoted && utf8.ValidString(v)
	for i := 0; quotable && i < len(v); i++ {
		quotable = v[i] != '\r' && v[i] != '\n' && v[i] != 0
	}
	if !quotable {
		s.w.WriteString("{" + strconv.Itoa(len(v)) + "}\r\n")
		s.w.WriteString(v)
		return
	}
	s.w.WriteByte('"')
	for i := 0; i < len(v); i++ {
		if v[i] == '"' || v[i] == '\\' {
			s.w.WriteByte('\\')
		}
		s.w.WriteByte(v[i])
	}
	s.w.WriteByte('"')
}

// dispatch runs one command. A non-nil error ends the session.
func (s *session) dispatch(cmd Command) error {
	authed := s.account != ""
	switch cmd.Name {
	case "CAPABILITY":
		if !s.args(cmd, 0, 0) {
			return nil
		}
		s.capabilities()
		s.ok("", "Capability completed")
		return nil
	case "LOGOUT":
		if s.args(cmd, 0, 0) {
			s.ok("", "Logout completed")
			return errClose
		}
		return nil
	case "NOOP":
		return s.cmdNoop(cmd)
	case "AUTHENTICATE":
		if authed {
			return s.refuse("already authenticated; reauthentication is not supported (RFC 5804 §2.1)")
		}
		return s.cmdAuthenticate(cmd)
	case "STARTTLS":
		if authed {
			return s.refuse("STARTTLS is only valid before AUTHENTICATE")
		}
		return s.cmdStarttls(cmd)
	case "HAVESPACE", "PUTSCRIPT", "CHECKSCRIPT", "LISTSCRIPTS", "SETACTIVE", "GETSCRIPT",
		"DELETESCRIPT", "RENAMESCRIPT", "UNAUTHENTICATE":
		if !authed {
			return s.refuse(cmd.Name + " needs AUTHENTICATE first")
		}
		return scriptCommands[cmd.Name](s, cmd)
	}
	return s.refuse("unknown command " + quote(cmd.Name))
}

// refuse answers a command that cannot run with NO and counts it as an
// error of the client.
func (s *session) refuse(text string) error {
	s.errors++
	s.no("", text)
	return nil
}

// args checks the number of arguments and that they are strings,
// refusing the command when they are not.
func (s *session) args(cmd Command, min, max int) bool {
	if len(cmd.Args) < min || len(cmd.Args) > max {
		s.refuse(fmt.Sprintf("%s takes %d to %d arguments", cmd.Name, min, max))
		return false
	}
	for _, a := range cmd.Args {
		if a.IsNumber && cmd.Name != "HAVESPACE" {
			s.refuse(cmd.Name + " takes strings, not numbers")
			return false
		}
	}
	return true
}

func quote(s string) string {
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return strconv.Quote(s)
}

// cmdNoop: RFC 5804 §2.13.
func (s *session) cmdNoop(cmd Command) error {
	if !s.args(cmd, 0, 1) {
		return nil
	}
	if len(cmd.Args) == 0 {
		s.ok("", "NOOP completed")
		return nil
	}
	s.w.WriteString("OK (TAG ")
	s.writeString(cmd.Args[0].Str)
	s.w.WriteString(") \"Done\"\r\n")
	return nil
}
