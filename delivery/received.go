package delivery

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/base32"
	"net/netip"
	"strings"
	"time"
)

// Trace is what the Received header records about one SMTP transaction
// (RFC 5321 §4.4).
type Trace struct {
	Helo     string     // the name the client gave in EHLO/HELO
	RemoteIP netip.Addr // the client's address
	By       string     // this server's host name
	TLS      *tls.ConnectionState
	AuthUser string // the authenticated account, "" if none
	UTF8     bool   // SMTPUTF8 was used (RFC 6531 §3.7.3)
	ID       string // the transaction id; NewID gives one
	Time     time.Time
}

// Protocol is the WITH clause value: ESMTP plus S for TLS and A for AUTH
// (RFC 3848), or UTF8SMTP with the same suffixes (RFC 6531 §3.7.3).
func (t Trace) Protocol() string {
	p := "ESMTP"
	if t.UTF8 {
		p = "UTF8SMTP"
	}
	if t.TLS != nil {
		p += "S"
	}
	if t.AuthUser != "" {
		p += "A"
	}
	return p
}

var idEncoding = base32.NewEncoding("0123456789abcdefghijklmnopqrstuv").WithPadding(base32.NoPadding)

// NewID returns a fresh transaction id: 16 characters, an atom as RFC 5321
// §4.4 wants for the ID clause.
func NewID() string {
	var b [10]byte
	rand.Read(b[:])
	return idEncoding.EncodeToString(b[:])
}

// maxHeloInHeader bounds how much of a client-chosen EHLO name is copied into
// the header: the line must stay under RFC 5322's 998 octets.
const maxHeloInHeader = 200

// Received formats the Received header field, folded, ending in CRLF. rcpt is
// named in the FOR clause when there is exactly one; with more, naming one
// would disclose it to the others (RFC 5321 §7.2).
func (t Trace) Received(rcpts []string) string {
	var b strings.Builder
	b.WriteString("Received: from ")
	ip := addressLiteral(t.RemoteIP)
	helo := t.Helo
	if isDomain(helo) || isAddressLiteral(helo) {
		b.WriteString(helo)
		b.WriteString(" (")
		b.WriteString(ip)
		b.WriteString(")")
	} else {
		// RFC 5321 §4.4 TCP-info: the address literal stands in for a
		// greeting that is not a name, which is kept in a comment.
		b.WriteString(ip)
		if helo != "" {
			b.WriteString(" (helo=")
			b.WriteString(commentText(helo, maxHeloInHeader))
			b.WriteString(")")
		}
	}
	b.WriteString("\r\n\tby ")
	b.WriteString(t.By)
	b.WriteString(" (Postern) with ")
	b.WriteString(t.Protocol())
	if t.TLS != nil {
		b.WriteString("\r\n\t(")
		b.WriteString(tls.VersionName(t.TLS.Version))
		b.WriteString(" cipher ")
		b.WriteString(tls.CipherSuiteName(t.TLS.CipherSuite))
		b.WriteString(")")
	}
	if t.AuthUser != "" {
		b.WriteString("\r\n\t(authenticated user ")
		b.WriteString(commentText(t.AuthUser, 256))
		b.WriteString(")")
	}
	if t.ID != "" {
		b.WriteString("\r\n\tid ")
		b.WriteString(t.ID)
	}
	if len(rcpts) == 1 && !strings.ContainsAny(rcpts[0], "<>") {
		b.WriteString("\r\n\tfor <")
		b.WriteString(quoteAddress(noControls(rcpts[0])))
		b.WriteString(">")
	}
	when := t.Time
	if when.IsZero() {
		when = time.Now()
	}
	b.WriteString(";\r\n\t")
	b.WriteString(when.Format("Mon, 2 Jan 2006 15:04:05 -0700"))
	b.WriteString("\r\n")
	return b.String()
}

// ReturnPath formats the Return-Path header field that final delivery adds
// (RFC 5321 §4.4, RFC 5322 §3.6.7), ending in CRLF. from "" is <>.
func ReturnPath(from string) string {
	return "Return-Path: <" + quoteAddress(noControls(from)) + ">\r\n"
}

// noControls replaces control characters, so that no address can break out
// of its header line.
func noControls(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}

// QuoteAddress re-quotes the local part when it is not a dot-atom; go-smtp
// hands over `"a b"@x` as `a b@x` (RFC 5321 §4.1.2 Quoted-string), and its
// client sends an address as it is given.
func QuoteAddress(addr string) string { return quoteAddress(addr) }

func quoteAddress(addr string) string {
	local, domain, ok := SplitAddress(addr)
	if !ok || isDotAtom(local) {
		return addr
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range local {
		if r == '"' || r == '\\' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteString(`"@`)
	b.WriteString(domain)
	return b.String()
}

func isDotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for _, r := range s {
		if r >= 0x80 {
			continue // RFC 6532 UTF-8 atext
		}
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			continue
		}
		if !strings.ContainsRune("!#$%&'*+-/=?^_`{|}~.", r) {
			return false
		}
	}
	return true
}

func addressLiteral(ip netip.Addr) string {
	if !ip.IsValid() {
		return "[unknown]"
	}
	ip = ip.Unmap()
	if ip.Is6() {
		return "[IPv6:" + ip.WithZone("").String() + "]"
	}
	return "[" + ip.String() + "]"
}

// isDomain accepts an RFC 5321 §4.1.2 Domain: dot-separated labels of
// letters, digits and hyphens, not starting or ending with a hyphen.
func isDomain(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// isAddressLiteral accepts "[1.2.3.4]" and "[IPv6:...]".
func isAddressLiteral(s string) bool {
	if len(s) < 3 || s[0] != '[' || s[len(s)-1] != ']' {
		return false
	}
	inner := s[1 : len(s)-1]
	if v6, ok := strings.CutPrefix(inner, "IPv6:"); ok {
		a, err := netip.ParseAddr(v6)
		return err == nil && a.Is6()
	}
	a, err := netip.ParseAddr(inner)
	return err == nil && a.Is4()
}

// commentText keeps printable ASCII that may stand in a comment (RFC 5322
// §3.2.2 ctext: no parentheses, no backslash) and caps the length.
func commentText(s string, max int) string {
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < max; i++ {
		c := s[i]
		if c > ' ' && c < 0x7f && c != '(' && c != ')' && c != '\\' {
			b.WriteByte(c)
		} else {
			b.WriteByte('?')
		}
	}
	return b.String()
}
