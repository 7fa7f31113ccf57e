// Package srs rewrites the envelope sender of forwarded mail with the Sender
// Rewriting Scheme, so that the forwarded message passes SPF as mail from our
// domain, and turns the rewritten address of a returning bounce back into the
// original sender's.
//
// The forms are those of the scheme's reference implementation (libsrs2):
//
//	SRS0=HHHHHH=TT=example.com=alice@forwarder.test
//	SRS1=HHHHHH=first.test==HHHH=TT=example.com=alice@forwarder.test
//
// TT is the day of the rewrite, modulo 1024, in two base32 characters; HHHHHH
// is a keyed hash (HMAC-SHA256 with the secret) of the rest, in base32. An
// address that was already rewritten by another forwarder (SRS0) becomes an
// SRS1 address that points back at that forwarder, so addresses do not grow
// with every hop. Hashes and timestamps are compared without regard to
// letter case, and the hash covers the lower-cased address, because some
// mail systems change the case of local parts.
//
// Differences from libsrs2: the hash is 6 base32 characters of HMAC-SHA256
// (30 bits) rather than 4 base64 characters of HMAC-SHA1, so addresses are
// verified only by us, which is all a forwarder needs.
package srs

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"strings"
	"time"

	"postern/mailaddr"
)

// DefaultMaxAge is how long a rewritten address is honoured: bounces come
// back within days (RFC 5321 §4.5.4.1 suggests giving up after 4-5 days).
const DefaultMaxAge = 21 * 24 * time.Hour

const (
	hashLen = 6
	day     = 24 * time.Hour
	// tsMod is the period of the two-character base32 day count.
	tsMod = 1024
)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// Errors of Reverse.
var (
	ErrNotSRS    = errors.New("srs: not a rewritten address")
	ErrMalformed = errors.New("srs: malformed rewritten address")
	ErrForged    = errors.New("srs: rewritten address with a wrong hash")
	ErrExpired   = errors.New("srs: rewritten address too old")
)

// ErrUnsupported is returned by Forward for a sender it cannot rewrite into
// a valid address: a quoted local part, a malformed domain.
var ErrUnsupported = errors.New("srs: sender cannot be rewritten (not a dot-atom local part at a domain)")

// Rewriter rewrites senders for one forwarding domain.
type Rewriter struct {
	// Domain is the domain of rewritten addresses: ours, with an SPF record
	// that covers the forwarding server.
	Domain string
	// Secrets are the hash keys: the first makes new addresses, any of them
	// verifies a returning one, so that a secret can be rotated.
	Secrets [][]byte
	// MaxAge is how long a rewritten address is honoured. Default DefaultMaxAge.
	MaxAge time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Forward returns the envelope sender to use when forwarding mail from
// sender. The null sender stays null; an address of Domain is kept.
func (r *Rewriter) Forward(sender string) (string, error) {
	if sender == "" {
		return "", nil
	}
	local, domain, ok := mailaddr.Split(sender)
	if !ok {
		return "", ErrUnsupported
	}
	if strings.EqualFold(strings.TrimSuffix(domain, "."), r.Domain) {
		return sender, nil
	}
	if !mailaddr.IsDotAtom(local) || !mailaddr.ValidDomain(domain) {
		return "", ErrUnsupported
	}
	switch tag(local) {
	case "SRS0":
		// Another forwarder's address: point back at it (SRS1).
		opaque := local[4:]
		return "SRS1=" + r.hash(0, domain, opaque) + "=" + domain + "=" + opaque + "@" + r.Domain, nil
	case "SRS1":
		// Keep the first forwarder; only the hash and our domain change.
		_, first, opaque, err := splitSRS1(local)
		if err != nil {
			return "", err
		}
		return "SRS1=" + r.hash(0, first, opaque) + "=" + first + "=" + opaque + "@" + r.Domain, nil
	}
	ts := timestamp(r.now())
	return "SRS0=" + r.hash(0, ts, domain, local) + "=" + ts + "=" + domain + "=" + local + "@" + r.Domain, nil
}

// Reverse returns where a bounce sent to a rewritten address goes: the
// original sender for an SRS0 address, the first forwarder's SRS0 address
// for an SRS1 one. ErrNotSRS says addr is an ordinary address; ErrForged,
// ErrExpired and ErrMalformed that it must be refused.
func (r *Rewriter) Reverse(addr string) (string, error) {
	local, _, ok := mailaddr.Split(addr)
	if !ok {
		return "", ErrNotSRS
	}
	switch tag(local) {
	case "SRS0":
		parts := strings.SplitN(local[5:], "=", 4)
		if len(parts) != 4 || parts[0] == "" || len(parts[1]) != 2 || parts[2] == "" || parts[3] == "" {
			return "", ErrMalformed
		}
		h, ts, domain, orig := parts[0], parts[1], parts[2], parts[3]
		if !r.verify(h, ts, domain, orig) {
			return "", ErrForged
		}
		if err := r.checkAge(ts); err != nil {
			return "", err
		}
		return orig + "@" + domain, nil
	case "SRS1":
		h, first, opaque, err := splitSRS1(local)
		if err != nil {
			return "", err
		}
		if !r.verify(h, first, opaque) {
			return "", ErrForged
		}
		return "SRS0" + opaque + "@" + first, nil
	}
	return "", ErrNotSRS
}

// IsSRS reports whether addr has the form of a rewritten address.
func IsSRS(addr string) bool {
	local, _, ok := mailaddr.Split(addr)
	return ok && tag(local) != ""
}

// tag returns "SRS0" or "SRS1" when local starts with one of them followed by
// a separator ('=', '+' or '-'), in any letter case; "" otherwise.
func tag(local string) string {
	if len(local) < 5 || !strings.ContainsRune("=+-", rune(local[4])) {
		return ""
	}
	switch t := strings.ToUpper(local[:4]); t {
	case "SRS0", "SRS1":
		return t
	}
	return ""
}

// splitSRS1 splits the local part of an SRS1 address into hash, first
// forwarder and the opaque rest of the SRS0 address, which begins with its
// separator.
func splitSRS1(local string) (h, first, opaque string, err error) {
	h, rest, ok := strings.Cut(local[5:], "=")
	if !ok || h == "" {
		return "", "", "", ErrMalformed
	}
	first, opaque, ok = strings.Cut(rest, "=")
	if !ok || first == "" || len(opaque) < 2 || !strings.ContainsRune("=+-", rune(opaque[0])) {
		return "", "", "", ErrMalformed
	}
	return h, first, opaque, nil
}

// hash returns the base32 hash of parts with secret number i, lower case.
func (r *Rewriter) hash(i int, parts ...string) string {
	m := hmac.New(sha256.New, r.Secrets[i])
	for _, p := range parts {
		m.Write([]byte(strings.ToLower(p)))
		m.Write([]byte{0})
	}
	return strings.ToLower(b32.EncodeToString(m.Sum(nil))[:hashLen])
}

func (r *Rewriter) verify(h string, parts ...string) bool {
	if len(h) != hashLen {
		return false
	}
	h = strings.ToLower(h)
	for i := range r.Secrets {
		if subtle.ConstantTimeCompare([]byte(h), []byte(r.hash(i, parts...))) == 1 {
			return true
		}
	}
	return false
}

func (r *Rewriter) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// timestamp is the day of t modulo 1024 in two base32 characters.
func timestamp(t time.Time) string {
	d := int(t.Unix()/int64(day/time.Second)) % tsMod
	const alphabet = "abcdefghijklmnopqrstuvwxyz234567"
	return string([]byte{alphabet[d>>5], alphabet[d&31]})
}

// checkAge accepts a timestamp no older than MaxAge, or one day ahead (a
// clock that runs fast elsewhere in a cluster).
func (r *Rewriter) checkAge(ts string) error {
	v := 0
	for i := 0; i < 2; i++ {
		c := ts[i] | 0x20 // lower case
		switch {
		case 'a' <= c && c <= 'z':
			v = v<<5 | int(c-'a')
		case '2' <= ts[i] && ts[i] <= '7':
			v = v<<5 | int(ts[i]-'2'+26)
		default:
			return ErrMalformed
		}
	}
	today := int(r.now().Unix()/int64(day/time.Second)) % tsMod
	age := (today - v + tsMod) % tsMod
	maxAge := r.MaxAge
	if maxAge <= 0 {
		maxAge = DefaultMaxAge
	}
	if age > int(maxAge/day) && age != tsMod-1 {
		return ErrExpired
	}
	return nil
}
