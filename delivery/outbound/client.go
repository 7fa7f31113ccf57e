package outbound

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Timeouts of RFC 5321 §4.5.3.2. go-smtp's client applies one command timeout
// to every command (5 minutes covers the greeting, MAIL and RCPT; DATA's 2
// minutes is shorter but a slower server is no harm) and a separate one to
// the reply after the final dot (10 minutes).
const (
	commandTimeout   = 5 * time.Minute
	dataBlockTimeout = 3 * time.Minute
	dataEndTimeout   = 10 * time.Minute
	dialTimeout      = 30 * time.Second
)

// tlsMode says how a connection is secured.
type tlsMode int

const (
	tlsOpportunistic tlsMode = iota // STARTTLS when offered, else plaintext (MX)
	tlsStartTLS                     // STARTTLS required (relay_tls = "starttls")
	tlsImplicit                     // TLS from the first byte (relay_tls = "tls")
	tlsNone                         // never (relay_tls = "none")
)

// errHandshake marks a failed TLS handshake after STARTTLS: for an MX the
// caller tries again in plaintext, as opportunistic TLS allows.
var errHandshake = errors.New("TLS handshake failed")

// session is one SMTP connection ready for MAIL FROM.
type session struct {
	c    *smtp.Client
	host string // the host name we connected to, for Remote-MTA
	tls  *tls.ConnectionState
	dsn  bool // the server offers DSN (RFC 3461), so it reports on its own
}

func (s *session) close() { s.c.Close() }

func (s *session) quit() {
	if err := s.c.Quit(); err != nil {
		s.c.Close()
	}
}

// greetedConn replays a greeting that was already read off the connection, so
// that smtp.NewClient, which insists on reading one, can take over after we
// did the greeting, EHLO and STARTTLS by hand. It also bounds every write with
// a deadline, which is the data block timeout during DATA.
type greetedConn struct {
	net.Conn
	pending []byte
}

func (g *greetedConn) Read(p []byte) (int, error) {
	if len(g.pending) > 0 {
		n := copy(p, g.pending)
		g.pending = g.pending[n:]
		return n, nil
	}
	return g.Conn.Read(p)
}

func (g *greetedConn) Write(p []byte) (int, error) {
	g.Conn.SetWriteDeadline(time.Now().Add(dataBlockTimeout))
	return g.Conn.Write(p)
}

// dialSession connects to addr and brings the session to the point where MAIL
// can be sent: greeting, EHLO with our hostname, STARTTLS per mode, EHLO again
// over TLS, AUTH when auth is set (never without TLS).
//
// go-smtp's client cannot be used for the first part: its STARTTLS is
// unexported and it says "EHLO localhost". So the greeting, the first EHLO
// and STARTTLS are done here on the raw connection.
func (r *Runner) dialSession(ctx context.Context, addr, serverName string, mode tlsMode, tlsCfg *tls.Config, user, pass string) (*session, error) {
	d := net.Dialer{Timeout: dialTimeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	s, err := r.setupSession(ctx, conn, serverName, mode, tlsCfg)
	if err != nil {
		conn.Close()
		return nil, err
	}
	if user != "" {
		if s.tls == nil {
			s.close()
			return nil, fmt.Errorf("%s: refusing to send credentials without TLS", serverName)
		}
		auth, err := saslClient(s, user, pass)
		if err != nil {
			s.close()
			return nil, err
		}
		if err := s.c.Auth(auth); err != nil {
			s.close()
			return nil, fmt.Errorf("%s: AUTH: %w", serverName, err)
		}
	}
	return s, nil
}

func (r *Runner) setupSession(ctx context.Context, conn net.Conn, serverName string, mode tlsMode, tlsCfg *tls.Config) (*session, error) {
	newClient := func(c net.Conn, greeting string, state *tls.ConnectionState) (*session, error) {
		gc := &greetedConn{Conn: c, pending: []byte(greeting)}
		cl := smtp.NewClient(gc)
		cl.CommandTimeout = commandTimeout
		cl.SubmissionTimeout = dataEndTimeout
		if err := cl.Hello(r.hostname); err != nil {
			return nil, err
		}
		// Hello only records the name; NOOP makes the EHLO go out now, so that a
		// refusal is reported here and the extensions are known.
		if err := cl.Noop(); err != nil {
			cl.Close()
			return nil, err
		}
		dsn, _ := cl.Extension("DSN")
		return &session{c: cl, host: serverName, tls: state, dsn: dsn}, nil
	}

	if mode == tlsImplicit {
		tc := tls.Client(conn, tlsCfg)
		hctx, cancel := context.WithTimeout(ctx, commandTimeout)
		defer cancel()
		if err := tc.HandshakeContext(hctx); err != nil {
			return nil, fmt.Errorf("%s: %w: %v", serverName, errHandshake, err)
		}
		st := tc.ConnectionState()
		return newClient(tc, "", &st)
	}
	if mode == tlsNone {
		return newClient(conn, "", nil)
	}

	conn.SetDeadline(time.Now().Add(commandTimeout))
	tp := textproto.NewReader(bufio.NewReader(conn))
	if _, _, err := tp.ReadResponse(220); err != nil {
		return nil, fmt.Errorf("%s: greeting: %w", serverName, err)
	}
	replay := "220 " + serverName + " ESMTP\r\n"
	if _, err := fmt.Fprintf(conn, "EHLO %s\r\n", r.hostname); err != nil {
		return nil, err
	}
	starttls := false
	if _, msg, err := tp.ReadResponse(250); err == nil {
		for _, line := range strings.Split(msg, "\n")[1:] {
			if strings.EqualFold(strings.TrimSpace(line), "STARTTLS") {
				starttls = true
			}
		}
	} else if _, ok := err.(*textproto.Error); !ok {
		return nil, fmt.Errorf("%s: EHLO: %w", serverName, err)
	}
	if !starttls {
		if mode == tlsStartTLS {
			return nil, fmt.Errorf("%s does not offer STARTTLS (relay_tls = \"starttls\" requires it)", serverName)
		}
		conn.SetDeadline(time.Time{})
		return newClient(conn, replay, nil)
	}
	if _, err := fmt.Fprint(conn, "STARTTLS\r\n"); err != nil {
		return nil, err
	}
	if _, _, err := tp.ReadResponse(220); err != nil {
		if _, ok := err.(*textproto.Error); ok && mode == tlsOpportunistic {
			// STARTTLS offered, then refused: carry on in plaintext.
			conn.SetDeadline(time.Time{})
			return newClient(conn, replay, nil)
		}
		return nil, fmt.Errorf("%s: STARTTLS: %w", serverName, err)
	}
	conn.SetDeadline(time.Time{})
	tc := tls.Client(conn, tlsCfg)
	hctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		return nil, fmt.Errorf("%s: %w: %v", serverName, errHandshake, err)
	}
	st := tc.ConnectionState()
	return newClient(tc, replay, &st)
}

// saslClient picks an AUTH mechanism the relay offers: PLAIN, else LOGIN.
func saslClient(s *session, user, pass string) (sasl.Client, error) {
	if ok, _ := s.c.Extension("AUTH"); !ok {
		return nil, fmt.Errorf("%s does not offer AUTH, but relay_username is set", s.host)
	}
	if s.c.SupportsAuth("PLAIN") {
		return sasl.NewPlainClient("", user, pass), nil
	}
	if s.c.SupportsAuth("LOGIN") {
		return sasl.NewLoginClient(user, pass), nil
	}
	return nil, fmt.Errorf("%s offers neither AUTH PLAIN nor LOGIN", s.host)
}
