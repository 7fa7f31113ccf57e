package sieve

import (
	"strings"

	"postern/mailaddr"
	"postern/mimeinfo"
)

// addrPart is ADDRESS-PART (RFC 5228 §2.7.4, RFC 5233 §4).
type addrPart uint8

const (
	partAll addrPart = iota
	partLocal
	partDomain
	partUser
	partDetail
)

func addressPart(a *args) addrPart {
	switch {
	case a.has("localpart"):
		return partLocal
	case a.has("domain"):
		return partDomain
	case a.has("user"):
		return partUser
	case a.has("detail"):
		return partDetail
	}
	return partAll
}

// pick returns the part of an address made of local and domain (domain
// "" when the address has none). ok is false when the part does not
// exist: an invalid address has no local part or domain (RFC 5228
// §2.7.4), and an address without the separator has no detail (RFC 5233
// §4).
func (p addrPart) pick(local, domain, sep string) (string, bool) {
	switch p {
	case partAll:
		if domain == "" {
			return local, local != ""
		}
		return local + "@" + domain, true
	case partLocal:
		return local, local != "" && domain != ""
	case partDomain:
		return domain, local != "" && domain != ""
	}
	if local == "" || domain == "" {
		return "", false
	}
	user, detail, found := strings.Cut(local, sep)
	if p == partUser {
		return user, true
	}
	return detail, found
}

// addressHeaders are the fields the address test looks into (RFC 5228
// §5.1: at least From, To, Cc, Bcc, Sender, Resent-From and Resent-To,
// and other fields holding address lists).
var addressHeaders = map[string]bool{
	"from": true, "sender": true, "reply-to": true, "to": true, "cc": true, "bcc": true,
	"resent-from": true, "resent-sender": true, "resent-reply-to": true, "resent-to": true,
	"resent-cc": true, "resent-bcc": true, "return-path": true, "delivered-to": true,
	"envelope-to": true, "x-original-to": true, "errors-to": true, "mail-followup-to": true,
	"mail-reply-to": true, "disposition-notification-to": true, "return-receipt-to": true,
	"original-recipient": true, "x-envelope-to": true, "x-envelope-from": true,
}

// splitAddress splits a bare address at its last "@".
func splitAddress(addr string) (local, domain string) {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return addr, ""
	}
	return addr[:i], addr[i+1:]
}

// envelopeAddress cleans an envelope address: angle brackets and a source
// route go (RFC 5228 §5.4: "MUST drop source routes").
func envelopeAddress(a string) string {
	a = strings.TrimSpace(a)
	a = strings.TrimSuffix(strings.TrimPrefix(a, "<"), ">")
	if strings.HasPrefix(a, "@") {
		if i := strings.IndexByte(a, ':'); i >= 0 {
			a = a[i+1:]
		}
	}
	return a
}

// parseSieveAddress checks an outbound address (RFC 5228 §2.4.2.3):
//
//	sieve-address = addr-spec / phrase "<" addr-spec ">"
//
// and returns the addr-spec. Lists, groups and source routes are refused.
// UTF-8 is allowed in the local part and domain (RFC 6531).
func parseSieveAddress(s string) (addr string, ok bool) {
	s = strings.TrimSpace(s)
	if s == "" || strings.ContainsAny(s, "\r\n\x00") || hasUnquoted(s, ",;:") {
		return "", false
	}
	list := mimeinfo.AddressList(s)
	if len(list) != 1 || !validLocalPart(list[0].Mailbox) || !validDomain(list[0].Host) {
		return "", false
	}
	if strings.Count(s, "<") != strings.Count(s, ">") || strings.Count(s, "<") > 1 {
		return "", false
	}
	addr = list[0].Mailbox + "@" + list[0].Host
	// The addr-spec as written must be the one found: the lenient
	// parser would join "a b@c" into "ab@c".
	spec := s
	if i := strings.IndexByte(s, '<'); i >= 0 {
		spec = s[i+1 : strings.IndexByte(s, '>')]
	} else if i := strings.IndexByte(s, '('); i >= 0 && !strings.HasPrefix(s, `"`) {
		spec = s[:i]
	}
	if strings.TrimSpace(spec) != addr {
		return "", false
	}
	return addr, true
}

// hasUnquoted reports whether s has one of chars outside quoted strings
// and comments.
func hasUnquoted(s, chars string) bool {
	quoted, depth := false, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && (quoted || depth > 0):
			i++
		case c == '"' && depth == 0:
			quoted = !quoted
		case quoted:
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case depth == 0 && strings.IndexByte(chars, c) >= 0:
			return true
		}
	}
	return false
}

// isAtext reports whether c may be in a dot-atom (RFC 5322 §3.2.3, with
// UTF-8 octets as RFC 6532 allows).
func isAtext(c byte) bool {
	return isAlpha(c) || isDigit(c) || c >= 0x80 || strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

func validDotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '.' && !isAtext(s[i]) {
			return false
		}
	}
	return true
}

func validLocalPart(l string) bool {
	if len(l) >= 2 && l[0] == '"' && l[len(l)-1] == '"' {
		return true
	}
	return validDotAtom(l)
}

func validDomain(d string) bool { return mailaddr.ValidDomain(d) }
