package delivery

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/base32"
	"net/netip"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"postern/mailaddr"
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

// foldAt is the line length RFC 5322 §2.1.1 recommends (78 octets before
// the CRLF): the trace fields are folded there wherever a line can break.
// What cannot be broken (a host name, an address) is bounded, so that no
// line passes the 998-octet limit.
const foldAt = 78

// maxPath is the longest reverse- or forward-path, angle brackets included
// (RFC 5321 §4.5.3.1.3). A longer "address" is no path, and is not written
// into a header as one.
const maxPath = 256

// maxHostInHeader bounds this server's own name in the header: a domain
// name has at most 253 octets (RFC 1035 §2.3.4).
const maxHostInHeader = 253

// Received formats the Received header field, folded, ending in CRLF. rcpt is
// named in the FOR clause when there is exactly one and it can be written as
// a path (see pathText); with more, naming one would disclose it to the
// others (RFC 5321 §7.2).
func (t Trace) Received(rcpts []string) string {
	f := &folder{}
	f.b.WriteString("Received:")
	f.line = len("Received:")
	f.word("from")
	ip := mailaddr.Literal(t.RemoteIP)
	if helo, err := mailaddr.ParseDomain(t.Helo); err == nil {
		// In normal form: lower-case A-labels, which any header may carry.
		f.word(helo)
		f.word("(" + ip + ")")
	} else {
		// RFC 5321 §4.4 TCP-info: the address literal stands in for a
		// greeting that is not a name, which is kept in a comment.
		f.word(ip)
		if t.Helo != "" {
			f.word("(helo=" + commentText(t.Helo, maxHeloInHeader) + ")")
		}
	}
	f.newLine()
	f.words("by " + commentText(t.By, maxHostInHeader) + " (Postern) with " + t.Protocol())
	if t.TLS != nil {
		f.newLine()
		f.words("(" + tls.VersionName(t.TLS.Version) + " cipher " + tls.CipherSuiteName(t.TLS.CipherSuite) + ")")
	}
	if t.AuthUser != "" {
		f.newLine()
		f.words("(authenticated user " + commentText(t.AuthUser, maxPath) + ")")
	}
	if t.ID != "" {
		f.newLine()
		f.words("id " + commentText(t.ID, 64))
	}
	if len(rcpts) == 1 && !strings.ContainsAny(rcpts[0], "<>") {
		if p, ok := pathText(rcpts[0], t.UTF8); ok {
			f.newLine()
			f.word("for <" + p + ">")
		}
	}
	when := t.Time
	if when.IsZero() {
		when = time.Now()
	}
	f.b.WriteString(";")
	f.newLine()
	f.words(when.Format("Mon, 2 Jan 2006 15:04:05 -0700"))
	f.b.WriteString("\r\n")
	return f.b.String()
}

// folder writes a header field word by word, folding (RFC 5322 §2.2.3) with
// CRLF and a tab before a word that would take the line past foldAt.
type folder struct {
	b     strings.Builder
	line  int  // octets on the current line
	fresh bool // nothing written yet on this continuation line
}

func (f *folder) word(w string) {
	switch {
	case f.fresh:
	case f.line+1+len(w) > foldAt:
		f.b.WriteString("\r\n\t")
		f.line = 1
	default:
		f.b.WriteByte(' ')
		f.line++
	}
	f.fresh = false
	f.b.WriteString(w)
	f.line += len(w)
}

// words writes the space-separated words of s.
func (f *folder) words(s string) {
	for _, w := range strings.Fields(s) {
		f.word(w)
	}
}

// newLine starts a continuation line, so that each clause of the field
// begins a line of its own.
func (f *folder) newLine() {
	f.b.WriteString("\r\n\t")
	f.line = 1
	f.fresh = true
}

// ReturnPath formats the Return-Path header field that final delivery adds
// (RFC 5321 §4.4, RFC 5322 §3.6.7), ending in CRLF. from "" is <>. A sender
// that cannot be written as a path (see pathText) is written with what may
// not stand in a header replaced by "?", and cut at 256 octets, so that the
// field stays one well-formed line whatever it was given. (SMTP refuses
// such senders at MAIL already.)
func ReturnPath(from string, allowUTF8 bool) string {
	p, ok := pathText(from, allowUTF8)
	if !ok {
		p = mailaddr.Quote(headerSafe(from, allowUTF8, maxPath-4))
	}
	return "Return-Path: <" + p + ">\r\n"
}

// pathText returns addr as a header writes it (the local part quoted when
// it is not a dot-atom), and whether it can be written: at most maxPath
// octets with its angle brackets, printable ASCII, and under SMTPUTF8
// printable UTF-8 too (RFC 6532 §3.2); never invalid UTF-8.
func pathText(addr string, allowUTF8 bool) (string, bool) {
	p := mailaddr.Quote(addr)
	if len(p)+2 > maxPath || headerSafe(p, allowUTF8, len(p)) != p {
		return "", false
	}
	return p, true
}

// headerSafe replaces what may not stand in a header field by "?": control
// characters, invalid UTF-8, and any non-ASCII unless allowUTF8 (and then
// only printable characters pass). The result has at most max octets.
func headerSafe(s string, allowUTF8 bool, max int) string {
	var b strings.Builder
	for i, r := range s {
		ok := r >= ' ' && r < 0x7f
		if r >= 0x80 && allowUTF8 && unicode.IsPrint(r) {
			// Invalid UTF-8 reads as a RuneError one octet wide; a real
			// U+FFFD takes three.
			_, w := utf8.DecodeRuneInString(s[i:])
			ok = r != utf8.RuneError || w == 3
		}
		if !ok {
			r = '?'
		}
		if b.Len()+utf8.RuneLen(r) > max {
			break
		}
		b.WriteRune(r)
	}
	return b.String()
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
