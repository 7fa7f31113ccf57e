package pop3d

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"postern/internal/netlimit"
	"postern/storage"
)

// Buffer sizes per connection. The reader holds a few command lines; the
// writer batches pipelined replies and RETR output into large TCP writes.
const (
	readBufSize  = 4096
	writeBufSize = 32 << 10
	copyBufSize  = 32 << 10
	// maxDiscard bounds how much of an overlong line is skipped before the
	// connection is closed: a client that sends megabytes without a line
	// break is not a POP3 client.
	maxDiscard = 64 << 10
	// handshakeTimeout bounds a TLS handshake (implicit TLS or STLS).
	handshakeTimeout = 30 * time.Second
	// writeTimeout is the least time a reply has to go out, whatever the
	// idle timeout.
	writeTimeout = time.Minute
	// refuseTimeout is how long a connection over a cap has to take its
	// answer.
	refuseTimeout = 10 * time.Second
)

// state is the RFC 1939 §3 session state. UPDATE is not a state of its own
// here: QUIT in TRANSACTION commits and closes in one step.
type state int

const (
	stateAuthorization state = iota
	stateTransaction
)

var (
	errLineTooLong = errors.New("line too long")
	errInterrupted = errors.New("server shutting down")
	// errAccountEnded wraps storage.ErrAccountDeleted or ErrAccountDisabled.
	errAccountEnded = errors.New("account ended")
	// errClose ends a session after its last reply was written.
	errClose = errors.New("close connection")
)

// session is one POP3 connection.
type session struct {
	srv    *Server
	remote net.Addr
	ip     netip.Addr
	start  time.Time
	ctx    context.Context
	cancel context.CancelFunc

	mu          sync.Mutex // guards conn, interrupted and ended against Shutdown and accountEnded
	conn        net.Conn
	interrupted bool
	ended       error       // why the account's sessions must end, see accountEnded
	stopEnd     func() bool // cancels the AfterEnd of the maildrop's subscription
	armed       time.Time   // when the deadline was last pushed forward

	r     *bufio.Reader
	w     *bufio.Writer
	tls   bool
	state state

	user     string // argument of an accepted USER, awaiting PASS
	account  storage.Account
	drop     *maildrop
	release  func() // releases the maildrop lock
	errors   int
	retrs    int
	copyBuf  []byte
	scratch  []byte // for formatting reply lines without allocating
	implicit bool
}

func newSession(srv *Server, c net.Conn, implicit bool) *session {
	ctx, cancel := context.WithCancel(context.Background())
	s := &session{
		srv:      srv,
		remote:   c.RemoteAddr(),
		start:    time.Now(),
		ctx:      ctx,
		cancel:   cancel,
		conn:     c,
		r:        bufio.NewReaderSize(c, readBufSize),
		w:        bufio.NewWriterSize(c, writeBufSize),
		tls:      implicit,
		implicit: implicit,
		scratch:  make([]byte, 0, 64),
	}
	if ta, ok := s.remote.(*net.TCPAddr); ok {
		s.ip = ta.AddrPort().Addr().Unmap()
	} else if ap, err := netip.ParseAddrPort(s.remote.String()); err == nil {
		s.ip = ap.Addr().Unmap()
	}
	return s
}

// serve runs the session to its end. A panic ends only this connection.
// Serve runs the session until the connection ends.
func (s *session) Serve() {
	log := s.srv.log
	log.Info("pop3 connection open", "remote", s.remote.String(), "tls", s.implicit)
	defer func() {
		if v := recover(); v != nil {
			log.Error("pop3 session panic", "remote", s.remote.String(), "user", s.account.Address,
				"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
		}
		s.finish()
		log.Info("pop3 connection closed", "remote", s.remote.String(), "protocol", "pop3",
			"user", s.account.Address, "duration", time.Since(s.start).Round(time.Millisecond),
			"retr", s.retrs, "tls", s.tls)
	}()
	if err := s.run(); err != nil && !errors.Is(err, errClose) {
		lvl := slog.LevelDebug
		if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !errors.Is(err, errInterrupted) && !isTimeout(err) {
			lvl = slog.LevelInfo
		}
		log.Log(s.ctx, lvl, "pop3 session ended", "remote", s.remote.String(), "user", s.account.Address, "err", err)
	}
}

// finish releases what the session holds. Without QUIT nothing is
// committed (RFC 1939 §6: only QUIT enters UPDATE).
func (s *session) finish() {
	s.mu.Lock()
	c := s.conn
	s.mu.Unlock()
	c.Close()
	if s.stopEnd != nil {
		s.stopEnd()
	}
	if s.drop != nil {
		// Messages handed out keep their \Seen even without QUIT. This
		// happens before the lock goes, so the next session sees it.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := s.drop.finishSeen(ctx); err != nil {
			s.srv.log.Warn("pop3 could not set \\Seen", "user", s.account.Address, "err", err)
		}
		cancel()
		s.drop.close()
	}
	if s.release != nil {
		s.release()
		s.release = nil
	}
	s.cancel()
}

// Shutdown is called by the server's Shutdown: a session waiting for a command stops
// waiting; one running a command finishes it and then stops.
func (s *session) Shutdown() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.interrupted = true
	s.conn.SetReadDeadline(time.Now())
}

// accountEnded runs when the account is deleted or disabled: like Shutdown,
// it wakes a session waiting for a command, which then ends.
func (s *session) accountEnded(why error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ended = fmt.Errorf("%w: %w", errAccountEnded, why)
	s.conn.SetReadDeadline(time.Now())
}

// endedErr is the error of accountEnded, or nil.
func (s *session) endedErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ended
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
		tc := s.conn.(*tls.Conn)
		if err := s.handshake(tc); err != nil {
			return err
		}
	}
	if e := netlimit.Refused(s.conn); e != nil {
		// Over a connection cap: told so, not closed without a word
		// (RFC 3206 §4 SYS/TEMP).
		s.conn.SetWriteDeadline(time.Now().Add(refuseTimeout))
		s.errf("[SYS/TEMP] %v", e)
		s.w.Flush()
		return errClose
	}
	s.ok("Postern POP3 server ready on " + s.srv.cfg.Hostname)
	for {
		line, err := s.readLine()
		switch {
		case errors.Is(err, errLineTooLong):
			if err := s.protocolError("line too long"); err != nil {
				return err
			}
			continue
		case err != nil:
			s.goodbye(err)
			return err
		}
		if err := s.dispatch(line); err != nil {
			s.flush()
			return err
		}
		if s.errors >= s.srv.cfg.MaxErrors {
			s.errf("too many bad commands, closing connection")
			s.w.Flush()
			return errClose
		}
	}
}

// goodbye tells a client why the server is closing an idle connection.
func (s *session) goodbye(err error) {
	var msg string
	switch {
	// RFC 3206 §4: SYS/PERM, since only an administrator can undo it.
	case errors.Is(err, storage.ErrAccountDeleted):
		msg = "-ERR [SYS/PERM] this account was deleted\r\n"
	case errors.Is(err, storage.ErrAccountDisabled):
		msg = "-ERR [SYS/PERM] this account was disabled\r\n"
	case errors.Is(err, errInterrupted):
		msg = "-ERR [SYS/TEMP] server shutting down\r\n"
	case isTimeout(err) && s.isInterrupted():
		msg = "-ERR [SYS/TEMP] server shutting down\r\n"
	case isTimeout(err):
		msg = "-ERR autologout: idle for too long\r\n"
	default:
		return
	}
	s.mu.Lock()
	s.conn.SetWriteDeadline(time.Now().Add(time.Second))
	s.mu.Unlock()
	s.w.WriteString(msg)
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

// readLine returns the next line, CRLF included, valid until the next read.
// Before it would block it commits what replies depend on and flushes the
// replies, so pipelined commands (RFC 2449 §6.6) are answered in one write.
func (s *session) readLine() ([]byte, error) {
	if err := s.endedErr(); err != nil {
		return nil, err
	}
	if s.r.Buffered() == 0 {
		if err := s.flush(); err != nil {
			return nil, err
		}
		if err := s.armDeadline(); err != nil {
			return nil, err
		}
	} else if err := s.keepAlive(); err != nil {
		return nil, err
	}
	line, err := s.r.ReadSlice('\n')
	if err == nil {
		return line, nil
	}
	if eerr := s.endedErr(); eerr != nil {
		return nil, eerr
	}
	if !errors.Is(err, bufio.ErrBufferFull) {
		return nil, err
	}
	// Skip the rest of the overlong line.
	skipped := len(line)
	for {
		if skipped > maxDiscard {
			return nil, fmt.Errorf("line longer than %d octets", maxDiscard)
		}
		line, err = s.r.ReadSlice('\n')
		skipped += len(line)
		if err == nil {
			return nil, errLineTooLong
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return nil, err
		}
	}
}

// armDeadline starts the idle timer (RFC 1939 §3: at least 10 minutes)
// before the session blocks for input, unless Shutdown has begun. The timer
// is for the client's next command; the replies have at least writeTimeout,
// so that a command that takes long to answer (a password check on a busy
// machine) is not cut off by the idle timer.
func (s *session) armDeadline() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.interrupted {
		return errInterrupted
	}
	s.armed = time.Now()
	return errors.Join(s.conn.SetReadDeadline(s.armed.Add(s.srv.cfg.IdleTimeout)),
		s.conn.SetWriteDeadline(s.armed.Add(max(s.srv.cfg.IdleTimeout, writeTimeout))))
}

// keepAlive pushes the deadline forward while a client is busy: a long run
// of pipelined commands, or a large RETR to a slow client, is not idleness.
func (s *session) keepAlive() error {
	if err := s.endedErr(); err != nil {
		return err
	}
	if time.Since(s.armed) < s.srv.cfg.IdleTimeout/8 {
		return nil
	}
	return s.armDeadline()
}

// flush sends the buffered replies and starts storing the \Seen flags of
// the messages they carried.
func (s *session) flush() error {
	err := s.w.Flush()
	if s.drop != nil {
		if err := s.drop.startSeen(); err != nil {
			s.srv.log.Warn("pop3 could not set \\Seen", "user", s.account.Address, "err", err)
		}
	}
	return err
}

// dispatch runs one command line. A non-nil error ends the session.
func (s *session) dispatch(line []byte) error {
	cmd, err := ParseCommand(line)
	if err != nil {
		return s.protocolError(err.Error())
	}
	if len(line) > maxCommandLine && cmd.Name != "PASS" && cmd.Name != "AUTH" || len(line) > maxAuthLine {
		return s.protocolError("command line too long (RFC 2449 allows 255 octets)")
	}
	if s.drop != nil {
		if err := s.drop.sync(); err != nil {
			// The listing may still show messages that are gone: end the
			// session rather than serve it (RFC 3206 §4: SYS/TEMP, since
			// a new session gets a fresh listing). Nothing is committed.
			s.srv.log.Warn("pop3 session ended: too many changes while it was open", "remote", s.remote.String(),
				"user", s.account.Address, "err", err)
			s.errf("[SYS/TEMP] the maildrop changed too much during this session; please log in again")
			return errClose
		}
	}
	if s.state == stateAuthorization {
		switch cmd.Name {
		case "USER":
			return s.cmdUSER(cmd)
		case "PASS":
			return s.cmdPASS(cmd)
		case "AUTH":
			return s.cmdAUTH(cmd)
		case "APOP":
			return s.protocolError("APOP is not supported; use USER/PASS or AUTH")
		case "CAPA":
			return s.cmdCAPA(cmd)
		case "STLS":
			return s.cmdSTLS(cmd)
		case "QUIT":
			s.ok("bye")
			return errClose
		case "STAT", "LIST", "RETR", "DELE", "NOOP", "RSET", "TOP", "UIDL":
			return s.protocolError(cmd.Name + " is not valid before login; log in with USER/PASS or AUTH first")
		}
		return s.protocolError("unknown command " + cmd.Name)
	}
	switch cmd.Name {
	case "STAT":
		return s.cmdSTAT(cmd)
	case "LIST":
		return s.cmdLIST(cmd)
	case "UIDL":
		return s.cmdUIDL(cmd)
	case "RETR":
		return s.cmdRETR(cmd)
	case "TOP":
		return s.cmdTOP(cmd)
	case "DELE":
		return s.cmdDELE(cmd)
	case "RSET":
		return s.cmdRSET(cmd)
	case "NOOP":
		return s.cmdNOOP(cmd)
	case "QUIT":
		return s.cmdQUIT(cmd)
	case "CAPA":
		return s.cmdCAPA(cmd)
	case "USER", "PASS", "AUTH", "APOP", "STLS":
		return s.protocolError(cmd.Name + " is not valid after login")
	}
	return s.protocolError("unknown command " + cmd.Name)
}

// protocolError answers a bad command and counts it against the
// connection's error budget.
func (s *session) protocolError(text string) error {
	s.errors++
	s.errf("%s", text)
	return nil
}

func (s *session) ok(text string) {
	s.w.WriteString("+OK ")
	s.w.WriteString(text)
	s.w.WriteString("\r\n")
}

func (s *session) errf(format string, args ...any) {
	s.w.WriteString("-ERR ")
	fmt.Fprintf(s.w, format, args...)
	s.w.WriteString("\r\n")
}

// sysError answers a store failure with [SYS/TEMP] (RFC 3206 §4) and logs it.
func (s *session) sysError(what string, err error) {
	if errors.Is(err, storage.ErrNoSpace) {
		s.srv.log.Warn("pop3 store error: disk full", "remote", s.remote.String(), "user", s.account.Address, "op", what, "err", err)
		s.errf("[SYS/TEMP] %s failed: the server's disk is full, try again later", what)
		return
	}
	s.srv.log.Error("pop3 store error", "remote", s.remote.String(), "user", s.account.Address, "op", what, "err", err)
	s.errf("[SYS/TEMP] %s failed, try again later", what)
}

// writeNumbers writes "a b\r\n" without allocating.
func (s *session) writeNumbers(a int, b int64) {
	buf := strconv.AppendInt(s.scratch[:0], int64(a), 10)
	buf = append(buf, ' ')
	buf = strconv.AppendInt(buf, b, 10)
	buf = append(buf, '\r', '\n')
	s.w.Write(buf)
}
