// Package imapurl parses the IMAP URLs (RFC 5092) that name a message or
// a part of one, as CATENATE (RFC 4469) and URLAUTH (RFC 4467) take them:
// absolute (imap://user@host/mailbox;UIDVALIDITY=n/;UID=n...) or, for
// CATENATE, relative to the server (/mailbox;UIDVALIDITY=n/;UID=n...).
package imapurl

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"postern/mutf7"
)

// MaxLen bounds the URLs Parse accepts: a URL names a mailbox, a UID, a
// section and an access token, far below this.
const MaxLen = 4096

// URL is a parsed IMAP URL that names a message or a part of one.
type URL struct {
	Absolute    bool
	User        string // iuserinfo, decoded; "" when absent
	Host        string // with its port, if any
	Mailbox     string // UTF-8
	UIDValidity uint32 // 0 when absent
	UID         uint32
	// Part and Spec are the section (RFC 5092 §5, as FETCH BODY[]):
	// part numbers, then "", HEADER, TEXT, MIME, HEADER.FIELDS or
	// HEADER.FIELDS.NOT with Fields.
	Part   []int
	Spec   string
	Fields []string
	// Partial is ;PARTIAL=offset[.length]; Length is -1 for "to the end".
	Partial        bool
	Offset, Length int64

	// URLAUTH (RFC 4467 §3): Access is "" when the URL has none.
	Expire    time.Time
	Access    string // "anonymous", "authuser", "user+NAME" or "submit+NAME"
	Mechanism string // upper-cased; "" for a rump URL
	Token     string // hex, lower-cased
	// Rump is the URL up to the end of the access identifier: what the
	// token authorizes (RFC 4467 §3.2).
	Rump string
}

// ErrSyntax is returned for a URL Parse does not take.
var ErrSyntax = errors.New("not an IMAP URL of a message")

func syntax(why string) error { return errors.New("IMAP URL: " + why) }

// Parse parses an IMAP URL of a message or message part.
func Parse(s string) (*URL, error) {
	if len(s) > MaxLen {
		return nil, syntax("too long")
	}
	u := &URL{Length: -1}
	rest := s
	if len(rest) >= 7 && strings.EqualFold(rest[:7], "imap://") {
		u.Absolute = true
		rest = rest[7:]
		slash := strings.IndexByte(rest, '/')
		if slash < 0 {
			return nil, syntax("no path")
		}
		auth := rest[:slash]
		rest = rest[slash:]
		if at := strings.LastIndexByte(auth, '@'); at >= 0 {
			user := auth[:at]
			if i := strings.IndexByte(user, ';'); i >= 0 {
				user = user[:i] // ;AUTH=... is not ours to check
			}
			var err error
			if u.User, err = unescape(user); err != nil || u.User == "" {
				return nil, syntax("bad user")
			}
			auth = auth[at+1:]
		}
		if auth == "" || strings.ContainsAny(auth, " ;") {
			return nil, syntax("bad host")
		}
		u.Host = strings.ToLower(auth)
	}
	if !strings.HasPrefix(rest, "/") {
		return nil, syntax("a path must start with /")
	}
	rest = rest[1:]
	semi := strings.IndexByte(rest, ';')
	if semi < 0 {
		return nil, syntax("no ;UID=")
	}
	enc, mboxSlash := strings.CutSuffix(rest[:semi], "/")
	firstKey, _, _ := strings.Cut(strings.ToUpper(rest[semi+1:]), "=")
	if mboxSlash != (firstKey != "UIDVALIDITY") {
		return nil, syntax("misplaced / before ;" + firstKey)
	}
	mbox, err := unescape(enc)
	if err != nil || mbox == "" {
		return nil, syntax("bad mailbox")
	}
	// RFC 5092 §5: the mailbox name as IMAP sends it, modified UTF-7.
	if u.Mailbox, err = mutf7.Decode(mbox); err != nil {
		return nil, syntax("mailbox is not modified UTF-7")
	}
	if strings.EqualFold(u.Mailbox, "INBOX") {
		u.Mailbox = "INBOX"
	}
	// The parameters, each ";KEY=value", before each but UIDVALIDITY a
	// "/" (except for URLAUTH's, RFC 4467 §3).
	params := rest[semi:]
	pos := len(s) - len(params)
	order := 0
	for params != "" {
		if params[0] != ';' {
			return nil, syntax("expected ;")
		}
		end := strings.IndexByte(params[1:], ';')
		if end < 0 {
			end = len(params)
		} else {
			end++
		}
		seg := params[1:end]
		next := params[end:]
		slashNext := strings.HasSuffix(seg, "/")
		seg = strings.TrimSuffix(seg, "/")
		key, val, ok := strings.Cut(seg, "=")
		if !ok {
			return nil, syntax("parameter without =")
		}
		key = strings.ToUpper(key)
		step := map[string]int{"UIDVALIDITY": 1, "UID": 2, "SECTION": 3, "PARTIAL": 4, "EXPIRE": 5, "URLAUTH": 6}[key]
		if step <= order {
			return nil, syntax("parameter " + key + " out of place")
		}
		order = step
		switch key {
		case "UIDVALIDITY", "UID":
			n, err := strconv.ParseUint(val, 10, 32)
			if err != nil || n == 0 || val[0] == '+' {
				return nil, syntax("bad " + key)
			}
			if key == "UID" {
				u.UID = uint32(n)
			} else {
				u.UIDValidity = uint32(n)
			}
		case "SECTION":
			sec, err := unescape(val)
			if err != nil {
				return nil, syntax("bad SECTION")
			}
			if err := u.section(sec); err != nil {
				return nil, err
			}
		case "PARTIAL":
			off, length, dot := strings.Cut(val, ".")
			o, err := strconv.ParseUint(off, 10, 32)
			if err != nil || off[0] == '+' {
				return nil, syntax("bad PARTIAL")
			}
			u.Partial, u.Offset = true, int64(o)
			if dot {
				l, err := strconv.ParseUint(length, 10, 32)
				if err != nil || l == 0 || length[0] == '+' {
					return nil, syntax("bad PARTIAL")
				}
				u.Length = int64(l)
			}
		case "EXPIRE":
			t, err := time.Parse(time.RFC3339, val)
			if err != nil {
				return nil, syntax("bad EXPIRE")
			}
			u.Expire = t
		case "URLAUTH":
			access, verifier, hasVerifier := strings.Cut(val, ":")
			if err := u.access(access); err != nil {
				return nil, err
			}
			u.Rump = s[:pos+1+len(key)+1+len(access)]
			if hasVerifier {
				mech, token, ok := strings.Cut(verifier, ":")
				if !ok || !isAtom(mech) || len(token) < 32 || !isHex(token) {
					return nil, syntax("bad URLAUTH verifier")
				}
				u.Mechanism, u.Token = strings.ToUpper(mech), strings.ToLower(token)
			}
			if next != "" || slashNext {
				return nil, syntax("text after URLAUTH")
			}
		}
		// ;UID, ;SECTION and ;PARTIAL come after a "/", ;EXPIRE and
		// ;URLAUTH without one (RFC 5092 §11, RFC 4467 §3).
		if next != "" {
			nk, _, _ := strings.Cut(strings.ToUpper(next[1:]), "=")
			if wantSlash := nk == "UID" || nk == "SECTION" || nk == "PARTIAL"; wantSlash != slashNext {
				return nil, syntax("misplaced / before ;" + nk)
			}
		} else if slashNext {
			return nil, syntax("stray / at the end")
		}
		pos += len(params) - len(next)
		params = next
	}
	if u.UID == 0 {
		return nil, syntax("no ;UID=")
	}
	return u, nil
}

func (u *URL) access(a string) error {
	la := strings.ToLower(a)
	switch {
	case la == "anonymous" || la == "authuser":
		u.Access = la
		return nil
	case strings.HasPrefix(la, "user+") || strings.HasPrefix(la, "submit+"):
		kind, user, _ := strings.Cut(a, "+")
		name, err := unescape(user)
		if err != nil || name == "" {
			return syntax("bad URLAUTH access")
		}
		u.Access = strings.ToLower(kind) + "+" + name
		return nil
	}
	return syntax("unknown URLAUTH access " + a)
}

// section parses "1.2.HEADER.FIELDS (A B)" and the like.
func (u *URL) section(s string) error {
	s = strings.TrimSpace(s)
	for s != "" && s[0] >= '0' && s[0] <= '9' {
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		n, err := strconv.Atoi(s[:i])
		if err != nil || n == 0 || n > 1<<20 || len(u.Part) >= 64 {
			return syntax("bad section part")
		}
		u.Part = append(u.Part, n)
		s = s[i:]
		if s == "" {
			return nil
		}
		if s[0] != '.' {
			return syntax("bad section")
		}
		s = s[1:]
		if s == "" {
			return syntax("bad section")
		}
	}
	if s == "" {
		return nil
	}
	word, list, hasList := strings.Cut(s, " ")
	u.Spec = strings.ToUpper(word)
	switch u.Spec {
	case "HEADER", "TEXT":
		if hasList {
			return syntax("bad section")
		}
	case "MIME":
		if hasList || len(u.Part) == 0 {
			return syntax("MIME needs a part")
		}
	case "HEADER.FIELDS", "HEADER.FIELDS.NOT":
		list = strings.TrimSpace(list)
		if !hasList || len(list) < 3 || list[0] != '(' || list[len(list)-1] != ')' {
			return syntax("bad header field list")
		}
		u.Fields = strings.Fields(list[1 : len(list)-1])
		if len(u.Fields) == 0 || len(u.Fields) > 100 {
			return syntax("bad header field list")
		}
	default:
		return syntax("unknown section " + word)
	}
	return nil
}

// unescape undoes %XX escapes (RFC 3986 §2.1).
func unescape(s string) (string, error) {
	if strings.IndexByte(s, '%') < 0 {
		return s, nil
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b = append(b, s[i])
			continue
		}
		if i+2 >= len(s) || !isHex(s[i+1:i+3]) {
			return "", ErrSyntax
		}
		v, _ := strconv.ParseUint(s[i+1:i+3], 16, 8)
		b = append(b, byte(v))
		i += 2
	}
	return string(b), nil
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return s != ""
}

func isAtom(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return s != ""
}
