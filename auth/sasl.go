package auth

import (
	"bytes"
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-sasl"
)

// The SASL mechanisms for password logins: PLAIN (RFC 4616) and LOGIN
// (draft-murchison-sasl-login). Each is a go-sasl sasl.Server for go-smtp's
// AUTH, IMAP AUTHENTICATE, POP3 AUTH and ManageSieve AUTHENTICATE.
//
// The protocol does the base64 framing, so a Server sees raw bytes. A Server
// checks the shape of what the client sent (lengths, separators, encoding)
// and then calls the CheckFunc exactly once. The CheckFunc's error is
// returned unchanged, not wrapped, because go-smtp and the IMAP server
// recognise their own error types (*smtp.SMTPError, *imap.Error) by type
// assertion to choose the reply code.

// Mechanisms are the SASL mechanisms offered for password logins.
var Mechanisms = []string{sasl.Plain, sasl.Login}

// ErrUnsupported is NewMechanism's error for a mechanism not offered.
var ErrUnsupported = errors.New("unsupported SASL mechanism; use PLAIN or LOGIN")

// NewMechanism returns the server side of the named mechanism (any case),
// which calls check with the username and password the client sent.
func NewMechanism(name string, check CheckFunc) (sasl.Server, error) {
	switch strings.ToUpper(name) {
	case sasl.Plain:
		return NewPlain(check), nil
	case sasl.Login:
		return NewLogin(check), nil
	}
	return nil, ErrUnsupported
}

// Malformed reports whether err is a mechanism's refusal of what the
// client sent, before any password check: its text is fit for the client.
func Malformed(err error) bool {
	return errors.Is(err, ErrMalformed) || errors.Is(err, ErrTooLong) || errors.Is(err, ErrAuthzid)
}

// MaxFieldLen caps each of the username, password and authorization
// identity, in bytes. RFC 4616 §2 asks servers to accept at least 255 octets;
// anything near this cap is an attack or a mistake, not a login.
const MaxFieldLen = 1024

// CheckFunc verifies a username and password for a mechanism. A nil error
// means the login succeeded.
type CheckFunc func(username, password string) error

// Errors for input refused before the CheckFunc is called. Their text is
// fit to show to the client.
var (
	// ErrMalformed: the response does not have the mechanism's shape, e.g. a
	// PLAIN message without exactly two NUL separators, an empty username or
	// password, a NUL inside a LOGIN field, or a username not in UTF-8.
	ErrMalformed = errors.New("sasl: malformed authentication response")

	// ErrTooLong: a field is longer than MaxFieldLen bytes.
	ErrTooLong = errors.New("sasl: username or password too long")

	// ErrAuthzid: PLAIN carried an authorization identity other than the
	// username. We do not support proxy authorization (RFC 4616 §2), so
	// a user may only act as themselves.
	ErrAuthzid = errors.New("sasl: authorization identity must be empty or equal to the username")
)

// checkUsername applies the rules shared by PLAIN and LOGIN.
func checkUsername(u []byte) error {
	switch {
	case len(u) > MaxFieldLen:
		return ErrTooLong
	case len(u) == 0, bytes.IndexByte(u, 0) >= 0, !utf8.Valid(u):
		return ErrMalformed
	}
	return nil
}

// checkPassword applies the rules shared by PLAIN and LOGIN. Passwords are
// not required to be UTF-8: they are compared as bytes against a hash.
func checkPassword(p []byte) error {
	switch {
	case len(p) > MaxFieldLen:
		return ErrTooLong
	case len(p) == 0, bytes.IndexByte(p, 0) >= 0:
		return ErrMalformed
	}
	return nil
}
