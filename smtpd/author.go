package smtpd

import (
	"context"
	"strings"

	"postern/mimeinfo"
	"postern/storage"
)

// authorFields are the header fields of submitted mail that name who wrote
// or sent it. DMARC aligns the From domain with the DKIM signature
// (RFC 7489 §3.1), and the outbound queue signs with the key of that
// domain; Sender names who actually sent it (RFC 5322 §3.6.2).
var authorFields = []string{"From", "Sender"}

// checkAuthor refuses submitted mail whose From or Sender header field
// names an address the account may not use: not its own address (with or
// without a +tag), not one of its aliases (see Router.Owns), and not in a
// domain of Config.AllowFromDomains. Every address of every such field
// counts. Without this, a user could send mail in anyone's name that
// leaves signed with our key for that name's domain. RFC 6409 §8 lets a
// submission server check and refuse such mail.
func (s *session) checkAuthor(ctx context.Context, acct storage.Account, msg *storage.Body) error {
	var addrs []mimeinfo.Address
	// The whole header block, not only the first 1 MiB that the analysis
	// reads: a reader may show a From field further down.
	err := msg.WithHeader(ctx, func(header []byte) error {
		for name, raw := range mimeinfo.Fields(header) {
			if isAuthorField(name) {
				addrs = append(addrs, mimeinfo.AddressList(mimeinfo.FieldValue(raw))...)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, a := range addrs {
		local := unquoteLocal(a.Mailbox)
		if local != "" && s.allowedFromDomain(a.Host) {
			continue
		}
		addr := local
		if a.Host != "" {
			addr += "@" + a.Host
		}
		if local != "" && a.Host != "" {
			ok, err := s.srv.router.Owns(ctx, acct, addr)
			if err != nil {
				return err
			}
			if ok {
				continue
			}
		}
		addr = headerText(addr)
		s.srv.log.Info("message refused: author not the sender's", "user", acct.Address, "address", addr, "remote", s.remote.String())
		return reply(553, 5, 7, 1, "From or Sender header address <"+addr+"> is not yours: use your own address or one of your aliases")
	}
	return nil
}

// isAuthorField reports whether a field is one of authorFields. Every
// occurrence counts: RFC 5322 §3.6 allows one From field, but a hostile
// message may carry more, and a reader may show any of them.
func isAuthorField(name []byte) bool {
	for _, f := range authorFields {
		if strings.EqualFold(string(name), f) {
			return true
		}
	}
	return false
}

// unquoteLocal removes the quotes of a local part that is one
// quoted-string (RFC 5322 §3.2.4), as mimeinfo.AddressList leaves it, so
// that "ceo"@x and ceo@x compare equal.
func unquoteLocal(s string) string {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return s
	}
	var b strings.Builder
	for i := 1; i < len(s)-1; i++ {
		if s[i] == '\\' && i+1 < len(s)-1 {
			i++
		} else if s[i] == '"' {
			return s // more than one quoted-string: compared as written
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func (s *session) allowedFromDomain(d string) bool {
	d = strings.TrimSuffix(d, ".")
	for _, a := range s.srv.cfg.AllowFromDomains {
		if strings.EqualFold(a, d) {
			return true
		}
	}
	return false
}

// headerText makes a client's text fit for a reply line: printable ASCII,
// at most 200 octets.
func headerText(s string) string {
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < 200; i++ {
		if c := s[i]; c >= ' ' && c < 0x7f {
			b.WriteByte(c)
		} else {
			b.WriteByte('?')
		}
	}
	return b.String()
}
