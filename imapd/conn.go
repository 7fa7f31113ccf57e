package imapd

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/netip"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"postern/imapd/internal/wire"
	"postern/internal/netlimit"
	"postern/storage"
)

// conn is one client connection. One goroutine runs it; only IDLE starts a
// second one, which writes while the first waits for DONE.
type conn struct {
	srv *Server
	nc  net.Conn // replaced by a *tls.Conn after STARTTLS
	raw net.Conn // the accepted socket: what other goroutines may touch
	tls bool

	r   *wire.Reader
	enc *wire.Encoder
	p   wire.Parser

	state  state
	remote netip.Addr
	start  time.Time

	acct    storage.Account
	sub     *storage.Subscription
	origin  uint64
	ctx     context.Context // carries origin, so the store marks our events
	sel     *selected
	pending []storage.Event // events not yet turned into responses

	// Enabled with ENABLE (RFC 5161): IMAP4rev2 semantics (RFC 9051
	// Appendix E) and UTF-8 (RFC 6855; IMAP4rev2 has it too, §5.1).
	rev2, utf8Accept bool
	compressed       bool // COMPRESS DEFLATE is on (RFC 4978)

	waiting  atomic.Bool // blocked reading the start of a command
	shutting atomic.Bool
	ended    atomic.Bool // the account was deleted or disabled
	stopEnd  func() bool // cancels the AfterEnd of sub
	closing  bool        // BYE sent: close after the current command
}

func newConn(s *Server, nc net.Conn, implicitTLS bool) *conn {
	c := &conn{srv: s, nc: nc, raw: nc, tls: implicitTLS, state: stateNotAuth, start: time.Now()}
	if ap, err := netip.ParseAddrPort(nc.RemoteAddr().String()); err == nil {
		c.remote = ap.Addr().Unmap()
	}
	c.origin = storage.NewOriginID()
	c.ctx = storage.WithOrigin(context.Background(), c.origin)
	return c
}

// Shutdown asks the connection to log out; a connection waiting for a
// command is woken at once.
func (c *conn) Shutdown() {
	c.shutting.Store(true)
	if c.waiting.Load() {
		// A TLS connection reads through the socket: its deadline wakes it.
		c.raw.SetReadDeadline(time.Now())
	}
}

// Close ends the connection at once (a shutdown that ran out of time).
func (c *conn) Close() { c.raw.Close() }

// accountEnded runs when the account is deleted or disabled: like Shutdown,
// it wakes a connection waiting for a command, which then says BYE.
func (c *conn) accountEnded() {
	c.ended.Store(true)
	if c.waiting.Load() {
		c.raw.SetReadDeadline(time.Now())
	}
}

// stopping returns the text of the BYE for a connection that must end
// (a shutdown, or the account gone), or "".
func (c *conn) stopping() string {
	switch {
	case c.shutting.Load():
		return "Server shutting down"
	case c.ended.Load():
		if errors.Is(c.sub.Err(), storage.ErrAccountDeleted) {
			return "Account deleted"
		}
		return "Account disabled"
	}
	return ""
}

// Serve runs the connection until it ends.
func (c *conn) Serve() {
	defer func() {
		if v := recover(); v != nil {
			c.srv.log.Error("imap connection panic", "remote", c.nc.RemoteAddr().String(), "user", c.acct.Address,
				"panic", v, "stack", string(debug.Stack()))
		}
		c.cleanup()
		c.srv.log.Info("imap connection closed", "remote", c.nc.RemoteAddr().String(), "user", c.acct.Address,
			"tls", c.tls, "duration", time.Since(c.start).Round(time.Millisecond))
	}()
	c.srv.log.Info("imap connection opened", "remote", c.nc.RemoteAddr().String(), "tls", c.tls)
	if c.tls {
		tc := tls.Server(c.nc, c.srv.cfg.TLS)
		wait := c.srv.cfg.PreAuthTimeout
		if netlimit.Refused(c.raw) != nil {
			wait = refuseTimeout
		}
		c.nc.SetDeadline(time.Now().Add(wait))
		if err := tc.Handshake(); err != nil {
			c.srv.log.Info("imap TLS handshake failed", "remote", c.nc.RemoteAddr().String(), "err", err)
			return
		}
		c.nc = tc
	}
	c.r = wire.NewReader(c.nc, maxLine)
	c.enc = wire.NewEncoder(c.nc)
	if e := netlimit.Refused(c.raw); e != nil {
		// Over a connection cap: told so, not closed without a word.
		c.nc.SetWriteDeadline(time.Now().Add(refuseTimeout))
		c.enc.Raw("* BYE [UNAVAILABLE] ").Raw(e.Error()).CRLF()
		c.enc.Flush()
		return
	}
	c.p = wire.Parser{R: c.r, MaxLiteral: maxStringLiteral, MaxLiterals: maxCommandLiterals, Continue: c.continueLiteral}

	c.nc.SetWriteDeadline(time.Now().Add(writeTimeout))
	c.enc.Raw("* OK [CAPABILITY ").Raw(c.capabilities()).Raw("] ").Raw(c.srv.cfg.Hostname).Raw(" Postern IMAP ready").CRLF()
	for c.state != stateLogout && !c.closing {
		if err := c.enc.Flush(); err != nil {
			return
		}
		c.r.Release()
		if !c.readAndRun() {
			// A BYE for a timeout or a shutdown still goes out, briefly.
			c.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
			c.enc.Flush()
			return
		}
	}
	c.enc.Flush()
}

func (c *conn) cleanup() {
	if c.stopEnd != nil {
		c.stopEnd()
	}
	if c.sub != nil {
		c.sub.Close()
	}
	c.nc.Close()
}

func (c *conn) timeout() time.Duration {
	if c.state == stateNotAuth {
		return c.srv.cfg.PreAuthTimeout
	}
	return c.srv.cfg.IdleTimeout
}

func (c *conn) continueLiteral() error {
	c.enc.Raw("+ Ready for literal data").CRLF()
	return c.enc.Flush()
}

// bye sends an untagged BYE and marks the connection for closing.
func (c *conn) bye(text string) {
	c.enc.Raw("* BYE ").Raw(text).CRLF()
	c.closing = true
}

// readAndRun reads one command and runs it. It returns false when the
// connection must be closed.
func (c *conn) readAndRun() bool {
	c.nc.SetReadDeadline(time.Now().Add(c.timeout()))
	c.waiting.Store(true)
	if msg := c.stopping(); msg != "" {
		c.bye(msg)
		return false
	}
	// Empty lines between commands are tolerated.
	for {
		b, err := c.r.PeekByte()
		if err != nil {
			c.waiting.Store(false)
			if msg := c.stopping(); msg != "" {
				c.bye(msg)
			} else if isTimeout(err) {
				c.bye("Autologout; idle for too long")
			}
			return false
		}
		if b != '\r' && b != '\n' {
			break
		}
		c.r.ReadByte()
	}
	c.waiting.Store(false)
	c.p.Start()
	c.nc.SetWriteDeadline(time.Now().Add(writeTimeout))

	tag, err := c.p.Tag()
	if err == nil {
		err = c.p.SP()
	}
	if err != nil {
		return c.fail("*", nil, err)
	}
	name, err := c.p.Atom()
	if err != nil {
		return c.fail(tag, nil, err)
	}
	name = strings.ToUpper(name)
	req := &request{tag: tag, name: name, p: &c.p}
	if name == "UID" {
		err := c.p.SP()
		var sub string
		if err == nil {
			sub, err = c.p.Atom()
		}
		if err != nil {
			return c.fail(tag, req, err)
		}
		req.name = "UID " + strings.ToUpper(sub)
		req.uid = true
	}
	cmd := commands[req.name]
	if cmd == nil {
		return c.fail(tag, req, bad("Unknown command %s", strings.Trim(wireSafe(req.name), " ")))
	}
	if cmd.states&c.state == 0 {
		return c.fail(tag, req, bad("%s is not allowed in the %s state", req.name, c.state))
	}
	err = cmd.handle(c, req)
	if err == errHandled {
		return c.enc.Err() == nil
	}
	if err == nil || isStatus(err, "OK") || isStatus(err, "NO") {
		if c.state&authOrSel != 0 && c.enc.Err() == nil {
			c.poll(!cmd.noExpunge)
		}
	}
	if err == nil {
		c.enc.Raw(tag).Raw(" OK ").Raw(req.name).Raw(" completed").CRLF()
		return c.enc.Err() == nil
	}
	return c.fail(tag, req, err)
}

func isStatus(err error, kind string) bool {
	var sr *statusResp
	return errors.As(err, &sr) && sr.kind == kind
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// wireSafe keeps a client-supplied word printable in a response.
func wireSafe(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '[' || r == ']' {
			return '?'
		}
		return r
	}, s)
}

// fail answers a command that did not complete with OK, then skips what
// is left of it, so that nothing the client sent as part of it (above all
// the bytes of a rejected literal) is ever read as a command.
func (c *conn) fail(tag string, req *request, err error) bool {
	var (
		sr  *statusResp
		se  *wire.SyntaxError
		le  *wire.LimitError
		lit *wire.LiteralTooBigError
		bc  *wire.BadCharsetError
		mn  *wire.MailboxNameError
	)
	skip := !c.p.Ended
	switch {
	case errors.As(err, &sr):
		c.enc.Raw(tag).Raw(" ").Raw(sr.Error()).CRLF()
	case errors.As(err, &lit):
		// RFC 3501 §7.5: a literal the server will not take is refused
		// with a tagged BAD instead of the continuation; RFC 5530 §3 names
		// the reason. APPEND's message has its own code (RFC 7889).
		switch {
		case req != nil && req.name == "APPEND" && !lit.Command:
			c.enc.Raw(tag).Raw(" NO [TOOBIG] Message is larger than the limit of ").
				Number64(uint64(lit.Limit)).Raw(" bytes").CRLF()
		case lit.Command:
			c.enc.Raw(tag).Raw(" BAD [LIMIT] The literals of one command are limited to ").
				Number64(uint64(lit.Limit)).Raw(" bytes in all").CRLF()
		default:
			c.enc.Raw(tag).Raw(" BAD [LIMIT] Literal of ").Number64(uint64(lit.Size)).Raw(" bytes is over the limit of ").
				Number64(uint64(lit.Limit)).Raw(" bytes").CRLF()
		}
		if !lit.NonSync {
			// The client waits for a continuation it does not get: the
			// command ends here (RFC 3501 §7.5).
			skip = false
			break
		}
		// RFC 7888 §4: the literal comes anyway; read and drop it.
		if c.enc.Flush() != nil {
			return false
		}
		if derr := c.r.Discard(lit.Size); derr != nil {
			return false
		}
	case errors.As(err, &se):
		c.enc.Raw(tag).Raw(" BAD ").Raw(wireSafe(se.Msg)).CRLF()
	case errors.As(err, &le):
		// RFC 5530 §3: the command asks for more than the server does in
		// one command; the text says what.
		c.enc.Raw(tag).Raw(" BAD [LIMIT] ").Raw(wireSafe(le.Msg)).CRLF()
	case errors.Is(err, wire.ErrLineTooLong):
		c.enc.Raw(tag).Raw(" BAD [LIMIT] Command too long: at most ").Number(maxLine).
			Raw(" bytes besides literals").CRLF()
	case errors.As(err, &mn):
		// The command is well formed; no mailbox can have that name. A
		// BAD would make strict clients drop the connection.
		c.enc.Raw(tag).Raw(" NO [CANNOT] ").Raw(mn.Msg).CRLF()
	case errors.As(err, &bc):
		c.enc.Raw(tag).Raw(" NO [BADCHARSET (US-ASCII UTF-8)] Unsupported charset").CRLF()
	case errors.Is(err, storage.ErrNoSpace):
		// RFC 5530 §3 has no code for a full disk; OVERQUOTA ("the user
		// would be over quota after the operation") comes closest and
		// tells the client what helps, deleting mail, which works still.
		// Dovecot answers a full disk the same way.
		c.srv.log.Warn("imap command failed: disk full", "remote", c.nc.RemoteAddr().String(), "user", c.acct.Address,
			"command", reqName(req), "err", err)
		c.enc.Raw(tag).Raw(" NO [OVERQUOTA] Not enough disk space on the server; delete mail or try again later").CRLF()
	case isConnError(err):
		return false
	default:
		c.srv.log.Error("imap command failed", "remote", c.nc.RemoteAddr().String(), "user", c.acct.Address,
			"command", reqName(req), "err", err)
		c.enc.Raw(tag).Raw(" NO [SERVERBUG] Internal error; try again later").CRLF()
	}
	if c.enc.Flush() != nil {
		return false
	}
	if skip {
		if err := c.r.SkipCommand(); err != nil {
			if errors.Is(err, wire.ErrCannotResync) {
				c.bye("Cannot find the end of the command")
				c.enc.Flush()
			}
			return false
		}
	}
	return c.enc.Err() == nil
}

func reqName(r *request) string {
	if r == nil {
		return ""
	}
	return r.name
}

func isConnError(err error) bool {
	var ne net.Error
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.As(err, &ne)
}

// plaintextAllowed reports whether a password may be sent on this
// connection: over TLS, or from loopback when the config allows it.
func (c *conn) plaintextAllowed() bool {
	return c.srv.cfg.Auth.PlaintextAllowed(c.tls, c.remote)
}

func (c *conn) capabilities() string {
	caps := []string{"IMAP4rev1", "IMAP4rev2", "LITERAL+", "SASL-IR", "ID", "ENABLE"}
	if c.state == stateNotAuth {
		if c.srv.cfg.TLS != nil && !c.tls {
			caps = append(caps, "STARTTLS")
		}
		if c.plaintextAllowed() {
			caps = append(caps, "AUTH=PLAIN", "AUTH=LOGIN")
		} else {
			caps = append(caps, "LOGINDISABLED")
		}
	}
	for _, x := range extraCaps {
		if x.preAuth || c.state != stateNotAuth {
			caps = append(caps, x.name)
		}
	}
	if c.state != stateNotAuth {
		caps = append(caps, "APPENDLIMIT="+itoa(c.srv.cfg.MaxMessageBytes))
	}
	return strings.Join(caps, " ")
}

func itoa(n int64) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}
