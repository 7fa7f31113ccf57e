// Package mailaddr parses and normalises mail addresses and domains: the
// one place that knows what a mailbox (RFC 5321 §4.1.2, RFC 5322 §3.4.1,
// with UTF-8 as RFC 6531 §3.3 allows), a mail domain and an address
// literal are. smtpd, delivery, the config and the CLI all ask it, so that
// an address one of them accepts is an address the others accept too.
//
// Normal forms:
//   - the domain is lower-case, without a final dot, and in A-labels
//     (RFC 5890 §2.3.2.1): "Bücher.Example." becomes "xn--bcher-kva.example";
//     an address literal is "[192.0.2.1]" or "[IPv6:2001:db8::1]" in the
//     address's canonical text (RFC 5321 §4.1.3);
//   - the local part keeps its case (RFC 5321 §2.4: only the receiving host
//     may interpret it); it is quoted only when it is not a dot-atom, and
//     a quoted local part whose content is a dot-atom is the same local part
//     unquoted (RFC 5322 §3.4.1).
//
// Lookups of local accounts ignore the case of ASCII letters in the local
// part (Key), as the store's NOCASE collation does.
package mailaddr

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// Limits of RFC 5321 §4.5.3.1.
const (
	MaxLocal  = 64  // octets of a local part (§4.5.3.1.1)
	MaxDomain = 255 // octets of a domain (§4.5.3.1.2); a DNS name has at most 253 without the final dot
	MaxPath   = 256 // octets of a path, angle brackets included (§4.5.3.1.3)
)

// Errors Parse and ParseDomain return, wrapped with the offending text.
var (
	ErrSyntax = errors.New("not an address of the form local@domain")
	ErrLocal  = errors.New("bad local part")
	ErrDomain = errors.New("bad domain")
)

// Address is a parsed mailbox.
type Address struct {
	// Local is the local part, unquoted: `john doe` for `"john doe"@x`.
	Local string
	// Domain is in normal form: lower-case A-labels, or an address literal.
	Domain string
}

// Parse reads a mailbox as written on the wire or by a user:
// dot-atom or quoted-string local part, "@", domain or address literal.
// Surrounding spaces and angle brackets are not part of it.
func Parse(s string) (Address, error) {
	local, rest, err := splitWire(s)
	if err != nil {
		return Address{}, err
	}
	return build(local, rest, s)
}

// ParseUnquoted reads an address whose local part has already been
// unquoted, as go-smtp hands over a path (`"a b"@x` arrives as `a b@x`):
// the local part is everything before the last "@".
func ParseUnquoted(s string) (Address, error) {
	local, domain, ok := Split(s)
	if !ok {
		return Address{}, fmt.Errorf("%q: %w", s, ErrSyntax)
	}
	return build(local, domain, s)
}

func build(local, domain, orig string) (Address, error) {
	if err := checkLocal(local); err != nil {
		return Address{}, fmt.Errorf("%q: %w", orig, err)
	}
	d, err := ParseDomain(domain)
	if err != nil {
		return Address{}, fmt.Errorf("%q: %w", orig, err)
	}
	a := Address{Local: local, Domain: d}
	if len(a.String())+2 > MaxPath {
		return Address{}, fmt.Errorf("%q: %w: longer than %d octets", orig, ErrSyntax, MaxPath-2)
	}
	return a, nil
}

// String writes the address in normal form, quoting the local part when it
// is not a dot-atom.
func (a Address) String() string {
	if isDotAtom(a.Local) {
		return a.Local + "@" + a.Domain
	}
	return quote(a.Local) + "@" + a.Domain
}

// Key is the form local accounts and aliases are looked up by: the normal
// form with ASCII letters of the local part lower-cased (as SQLite's NOCASE
// collation compares).
func (a Address) Key() string { return asciiLower(a.String()) }

// Split splits an address at its last "@" (an unquoted local part may hold
// one). It fails for an empty local part or domain.
func Split(addr string) (local, domain string, ok bool) {
	i := strings.LastIndexByte(addr, '@')
	if i <= 0 || i == len(addr)-1 {
		return "", "", false
	}
	return addr[:i], addr[i+1:], true
}

// Domain returns the normal form of addr's domain (after the last "@"), or
// "" when there is none or it is not a domain.
func Domain(addr string) string {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return ""
	}
	d, err := ParseDomain(addr[i+1:])
	if err != nil {
		return ""
	}
	return d
}

// Normalize returns the normal form of an address for storing and looking
// up: Parse's, or for text Parse refuses (an address stored before these
// rules, a catch-all "@domain"), the text trimmed with its domain in normal
// form when it has one. It never fails, so lookups of odd text find nothing
// rather than erring.
func Normalize(s string) string {
	s = strings.TrimSpace(s)
	if a, err := Parse(s); err == nil {
		return a.String()
	}
	if a, err := ParseUnquoted(s); err == nil {
		return a.String()
	}
	i := strings.LastIndexByte(s, '@')
	if i < 0 {
		return s
	}
	if d, err := ParseDomain(s[i+1:]); err == nil {
		return s[:i] + "@" + d
	}
	return s[:i] + "@" + asciiLower(s[i+1:])
}

// Key returns the lookup key of an address in text (see Address.Key).
func Key(s string) string { return asciiLower(Normalize(s)) }

// Quote writes an address whose local part is unquoted (go-smtp's form) as
// a path is written: the local part quoted when it is not a dot-atom, the
// domain as it is. Text without an "@" comes back unchanged.
func Quote(addr string) string {
	local, domain, ok := Split(addr)
	if !ok || isDotAtom(local) {
		return addr
	}
	return quote(local) + "@" + domain
}

// NormalizeDomain returns the normal form of a domain, or for text that is
// no domain, the text lower-cased without a final dot: a lookup of it then
// finds nothing rather than failing.
func NormalizeDomain(d string) string {
	if n, err := ParseDomain(d); err == nil {
		return n
	}
	return asciiLower(strings.TrimSuffix(strings.TrimSpace(d), "."))
}

// splitWire splits the wire form: a quoted local part ends at its closing
// quote, a dot-atom at the first "@" (atext has none).
func splitWire(s string) (local, domain string, err error) {
	if s == "" {
		return "", "", fmt.Errorf("%q: %w", s, ErrSyntax)
	}
	if s[0] != '"' {
		i := strings.IndexByte(s, '@')
		if i < 0 {
			return "", "", fmt.Errorf("%q: %w", s, ErrSyntax)
		}
		if !isDotAtom(s[:i]) {
			return "", "", fmt.Errorf("%q: %w: %q is not a dot-atom (quote it)", s, ErrLocal, s[:i])
		}
		return s[:i], s[i+1:], nil
	}
	// RFC 5321 §4.1.2 Quoted-string: qtextSMTP or quoted-pairSMTP
	// (backslash and any printable ASCII), UTF-8 under RFC 6531.
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			if i+1 >= len(s) || s[i+1] < ' ' || s[i+1] > '~' {
				return "", "", fmt.Errorf("%q: %w: bad quoted pair", s, ErrLocal)
			}
			i++
			b.WriteByte(s[i])
		case c == '"':
			if i+1 >= len(s) || s[i+1] != '@' {
				return "", "", fmt.Errorf("%q: %w", s, ErrSyntax)
			}
			return b.String(), s[i+2:], nil
		case c < ' ' || c == 0x7f:
			return "", "", fmt.Errorf("%q: %w: control character", s, ErrLocal)
		default:
			b.WriteByte(c)
		}
	}
	return "", "", fmt.Errorf("%q: %w: unterminated quoted string", s, ErrLocal)
}

// checkLocal accepts any local part that can be written as a dot-atom or a
// quoted string: printable ASCII or valid UTF-8, no control characters, at
// most MaxLocal octets as written.
func checkLocal(l string) error {
	switch {
	case l == "":
		return fmt.Errorf("%w: empty", ErrLocal)
	case !utf8.ValidString(l):
		return fmt.Errorf("%w: not valid UTF-8", ErrLocal)
	case strings.IndexFunc(l, func(r rune) bool { return r < ' ' || r == 0x7f || (r >= 0x80 && r < 0xa0) }) >= 0:
		return fmt.Errorf("%w: control character", ErrLocal)
	}
	w := l
	if !isDotAtom(l) {
		w = quote(l)
	}
	if len(w) > MaxLocal {
		return fmt.Errorf("%w: longer than %d octets", ErrLocal, MaxLocal)
	}
	return nil
}

// ParseDomain returns the normal form of a domain or address literal, or
// an error saying what is wrong. U-labels become A-labels; a final dot is
// dropped.
func ParseDomain(s string) (string, error) {
	if strings.HasPrefix(s, "[") {
		ip, ok := ParseLiteral(s)
		if !ok {
			return "", fmt.Errorf("%w: %q is not an address literal ([192.0.2.1] or [IPv6:2001:db8::1])", ErrDomain, s)
		}
		return Literal(ip), nil
	}
	d := strings.TrimSuffix(s, ".")
	if d == "" || len(d) > MaxDomain {
		return "", fmt.Errorf("%w: %q", ErrDomain, s)
	}
	if !utf8.ValidString(d) {
		return "", fmt.Errorf("%w: %q is not valid UTF-8", ErrDomain, s)
	}
	a := asciiLower(d)
	if !isASCII(a) || strings.Contains(a, "xn--") {
		var err error
		if a, err = idna.Lookup.ToASCII(d); err != nil {
			return "", fmt.Errorf("%w: %q: %v", ErrDomain, s, err)
		}
	}
	if len(a) > 253 {
		return "", fmt.Errorf("%w: %q is longer than 253 octets", ErrDomain, s)
	}
	for _, label := range strings.Split(a, ".") {
		if !isLDHLabel(label) {
			return "", fmt.Errorf("%w: %q: label %q is not letters, digits and inner hyphens", ErrDomain, s, label)
		}
	}
	return a, nil
}

// ValidDomain reports whether ParseDomain accepts s.
func ValidDomain(s string) bool {
	_, err := ParseDomain(s)
	return err == nil
}

// ParseLiteral reads an address literal (RFC 5321 §4.1.3): "[192.0.2.1]"
// or "[IPv6:2001:db8::1]", without a zone.
func ParseLiteral(s string) (netip.Addr, bool) {
	inner, ok := strings.CutPrefix(s, "[")
	if !ok {
		return netip.Addr{}, false
	}
	if inner, ok = strings.CutSuffix(inner, "]"); !ok {
		return netip.Addr{}, false
	}
	if v6, ok := cutPrefixFold(inner, "IPv6:"); ok {
		a, err := netip.ParseAddr(v6)
		if err != nil || !a.Is6() || a.Is4In6() || a.Zone() != "" {
			return netip.Addr{}, false
		}
		return a, true
	}
	a, err := netip.ParseAddr(inner)
	if err != nil || !a.Is4() {
		return netip.Addr{}, false
	}
	return a, true
}

// Literal writes ip as an address literal; the zero Addr is "[unknown]",
// which is no literal but keeps a trace field readable.
func Literal(ip netip.Addr) string {
	if !ip.IsValid() {
		return "[unknown]"
	}
	ip = ip.Unmap()
	if ip.Is6() {
		return "[IPv6:" + ip.WithZone("").String() + "]"
	}
	return "[" + ip.String() + "]"
}

// IsDotAtom reports whether s is a dot-atom (RFC 5322 §3.2.3) of atext,
// with UTF-8 (RFC 6532 §3.2): what a local part may be without quotes.
func IsDotAtom(s string) bool { return isDotAtom(s) }

func isDotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 {
			continue // UTF-8 checked by the caller
		}
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			strings.IndexByte(".!#$%&'*+-/=?^_`{|}~", c) >= 0 {
			continue
		}
		return false
	}
	return utf8.ValidString(s)
}

// quote writes a local part as a quoted string, escaping only '"' and '\'
// (RFC 5321 §4.1.2 qtextSMTP covers the rest of printable ASCII).
func quote(l string) string {
	var b strings.Builder
	b.Grow(len(l) + 2)
	b.WriteByte('"')
	for i := 0; i < len(l); i++ {
		if l[i] == '"' || l[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(l[i])
	}
	b.WriteByte('"')
	return b.String()
}

// isLDHLabel: RFC 5321 §4.1.2 sub-domain, after IDNA conversion.
func isLDHLabel(l string) bool {
	if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}
