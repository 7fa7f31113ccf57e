package imapsrc

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"

	"postern/mailport"
)

// connect dials, secures and logs in.
func (s *Source) connect(ctx context.Context) error {
	tc := s.opts.TLSConfig
	if tc == nil {
		tc = &tls.Config{}
	}
	tc = tc.Clone()
	if tc.ServerName == "" {
		tc.ServerName = s.remote.Host
	}
	opts := &imapclient.Options{TLSConfig: tc}
	// The connection is dialed here, not by imapclient, so that it can be
	// closed under the client: Client.Close waits for a literal being read.
	d := &net.Dialer{Timeout: 30 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", s.remote.Addr)
	if err != nil {
		return fmt.Errorf("connecting to %s: %w", s.remote.Addr, err)
	}
	var c *imapclient.Client
	if s.remote.TLS {
		tc.NextProtos = []string{"imap"}
		tconn := tls.Client(conn, tc)
		hctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err = tconn.HandshakeContext(hctx)
		cancel()
		c = imapclient.New(tconn, opts)
	} else {
		// Never in the clear: STARTTLS or nothing.
		c, err = imapclient.NewStartTLS(conn, opts)
	}
	if err != nil {
		conn.Close()
		return fmt.Errorf("connecting to %s: %w", s.remote.Addr, err)
	}
	// A cancelled import closes the connection, which ends any wait on it.
	s.stopCancel = context.AfterFunc(ctx, func() { conn.Close() })
	s.c, s.conn = c, conn
	if err := c.WaitGreeting(); err != nil {
		s.drop()
		return fmt.Errorf("connecting to %s: %w", s.remote.Addr, err)
	}
	if c.Caps().Has(imap.CapLoginDisabled) {
		err = c.Authenticate(sasl.NewPlainClient("", s.remote.User, s.opts.Password))
	} else {
		err = c.Login(s.remote.User, s.opts.Password).Wait()
	}
	if err != nil {
		s.drop()
		if isServerError(err) {
			return fmt.Errorf("logging in to %s as %s: %w", s.remote.Addr, s.remote.User, errLogin{err})
		}
		return fmt.Errorf("logging in to %s: %w", s.remote.Addr, err)
	}
	return nil
}

// errLogin marks a refused login: reconnecting will not help.
type errLogin struct{ error }

func (e errLogin) Unwrap() error { return e.error }

// drop closes the connection; what was being read is read again after
// reconnecting, from the state's LastUID on.
func (s *Source) drop() {
	s.body = nil
	if s.c != nil {
		// The socket first, so that reads fail at once. The client's reader
		// may wait for the literal last returned to be consumed: finish it
		// (unless it failed already, which freed the reader). The FETCH is
		// left alone: discarding its data would race with that reader.
		s.conn.Close()
		if s.lit != nil && s.lit.err == nil {
			io.Copy(io.Discard, s.lit.r)
		}
		s.c.Close()
		s.stopCancel()
		s.c, s.conn = nil, nil
	}
	s.lit = nil
	s.fetch = nil
	s.batch, s.metas = nil, nil
	if s.cur != nil {
		s.todo = append([]remoteMailbox{*s.cur}, s.todo...)
		s.resumed = s.cur.name
		s.cur, s.uids = nil, nil
	}
}

// reconnect connects again after a pause that doubles each time, and gives
// up after Retries attempts in a row.
func (s *Source) reconnect(ctx context.Context) error {
	var last error
	for s.reconnects < s.opts.Retries {
		wait := s.opts.Backoff << s.reconnects
		s.reconnects++
		if err := s.opts.Sleep(ctx, wait); err != nil {
			return err
		}
		err := s.connect(ctx)
		if err == nil {
			return nil
		}
		var el errLogin
		if errors.As(err, &el) || ctx.Err() != nil {
			return err
		}
		last = err
	}
	return fmt.Errorf("the connection to %s failed %d times in a row, giving up (run the import again to resume): %w", s.remote.Addr, s.opts.Retries, last)
}

// list finds the mailboxes to read, INBOX first.
func (s *Source) list() ([]remoteMailbox, error) {
	prefix := ""
	if s.c.Caps().Has(imap.CapNamespace) {
		if ns, err := s.c.Namespace().Wait(); err == nil && len(ns.Personal) > 0 {
			prefix = ns.Personal[0].Prefix
		}
	}
	var opts *imap.ListOptions
	if s.c.Caps().Has(imap.CapSpecialUse) {
		opts = &imap.ListOptions{ReturnSpecialUse: true}
	}
	pattern := "*"
	if s.remote.Mailbox != "" {
		pattern = s.remote.Mailbox
	}
	lists, err := s.c.List("", pattern, opts).Collect()
	if err != nil {
		return nil, fmt.Errorf("LIST: %w", err)
	}
	out := mapNames(lists, prefix)
	if s.remote.Mailbox != "" && len(out) == 0 {
		return nil, fmt.Errorf("no mailbox %q on %s", s.remote.Mailbox, s.remote.Addr)
	}
	slices.SortStableFunc(out, func(a, b remoteMailbox) int {
		switch {
		case a.mailbox == mailport.Inbox && b.mailbox != mailport.Inbox:
			return -1
		case b.mailbox == mailport.Inbox && a.mailbox != mailport.Inbox:
			return 1
		}
		return strings.Compare(a.name, b.name)
	})
	return out, nil
}

// mapNames maps the server's mailboxes to Postern's names (see the package
// documentation). A mailbox renamed for its special use takes its children
// along: "Sent Items/2019" becomes Sent/2019.
func mapNames(lists []*imap.ListData, prefix string) []remoteMailbox {
	var out []remoteMailbox
	renamed := map[string]string{} // plain name → special-use name
	for _, l := range lists {
		name, plain := mailboxName(l, prefix)
		if name != "" && name != plain {
			renamed[plain] = name
		}
	}
	for _, l := range lists {
		name, plain := mailboxName(l, prefix)
		if name == "" {
			continue
		}
		if name == plain {
			// The longest renamed ancestor, if any.
			for p := plain; ; {
				i := strings.LastIndex(p, mailport.Delimiter)
				if i < 0 {
					break
				}
				p = p[:i]
				if r, ok := renamed[p]; ok {
					name = r + plain[len(p):]
					break
				}
			}
		}
		out = append(out, remoteMailbox{name: l.Mailbox, mailbox: name})
	}
	return out
}

// mailboxName maps a server's mailbox to Postern's name, "" to leave it
// out; plain is the name its levels give, without its special use.
func mailboxName(l *imap.ListData, prefix string) (name, plain string) {
	for _, a := range l.Attrs {
		switch strings.ToLower(string(a)) {
		case `\noselect`, `\nonexistent`, `\all`, `\flagged`, `\important`:
			return "", ""
		}
	}
	if strings.EqualFold(l.Mailbox, "INBOX") {
		return mailport.Inbox, mailport.Inbox
	}
	n := l.Mailbox
	if prefix != "" && len(n) > len(prefix) && strings.EqualFold(n[:len(prefix)], prefix) {
		n = n[len(prefix):]
	}
	if l.Delim == 0 {
		plain = mailport.Name(n)
	} else {
		plain = mailport.Name(strings.Split(n, string(l.Delim))...)
	}
	for _, a := range l.Attrs {
		if sn := mailport.SpecialUseName(string(a)); sn != "" {
			return sn, plain
		}
	}
	return plain, plain
}
