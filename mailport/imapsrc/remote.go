package imapsrc

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/emersion/go-imap/v2"
)

// Remote is the server and account an import reads from.
type Remote struct {
	TLS     bool   // implicit TLS (imaps://); else STARTTLS, which is required
	User    string // login name
	Host    string // as in the URL, lower case
	Addr    string // host:port to dial
	Mailbox string // only this mailbox, from the URL's path; "" for all
}

// ParseURL reads imaps://USER@HOST[:PORT][/MAILBOX] (port 993) or
// imap://USER@HOST[:PORT][/MAILBOX] (port 143, STARTTLS). USER may hold an
// "@" (the last one ends it) or spell it "%40". A password in the URL is
// refused: it would show in the process list and the shell's history.
func ParseURL(raw string) (*Remote, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("IMAP source %q: %w", raw, err)
	}
	r := &Remote{}
	port := ""
	switch strings.ToLower(u.Scheme) {
	case "imaps":
		r.TLS, port = true, "993"
	case "imap":
		port = "143"
	default:
		return nil, fmt.Errorf("IMAP source %q: the scheme must be imaps:// (or imap://, with STARTTLS)", raw)
	}
	if u.User == nil || u.User.Username() == "" {
		return nil, fmt.Errorf("IMAP source %q: name the user, as in imaps://USER@HOST", raw)
	}
	if _, ok := u.User.Password(); ok {
		return nil, errors.New("IMAP source: leave the password out of the URL; it is asked for, or read from stdin")
	}
	r.User = u.User.Username()
	r.Host = strings.ToLower(u.Hostname())
	if r.Host == "" {
		return nil, fmt.Errorf("IMAP source %q: no host", raw)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n <= 0 || n > 65535 {
			return nil, fmt.Errorf("IMAP source %q: bad port %q", raw, p)
		}
		port = p
	}
	r.Addr = net.JoinHostPort(r.Host, port)
	r.Mailbox = strings.TrimPrefix(u.Path, "/")
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("IMAP source %q: no query or fragment is understood", raw)
	}
	return r, nil
}

// Key returns a message's key: an IMAP URL of the message, RFC 5092 §6
// ("imap://USER@HOST/MAILBOX;UIDVALIDITY=V/;UID=N"), without the port and
// scheme, which do not change which message it is.
func (r *Remote) Key(mailbox string, uidValidity uint32, uid imap.UID) string {
	return "imap://" + url.PathEscape(r.User) + "@" + r.Host + "/" + url.PathEscape(mailbox) +
		";UIDVALIDITY=" + strconv.FormatUint(uint64(uidValidity), 10) + "/;UID=" + strconv.FormatUint(uint64(uid), 10)
}
