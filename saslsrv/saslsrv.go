// Package saslsrv provides the SASL server mechanisms Postern offers for
// password logins: PLAIN (RFC 4616) and LOGIN (draft-murchison-sasl-login).
// Both return a go-sasl sasl.Server for go-smtp's AUTH and the IMAP and POP3
// AUTHENTICATE commands.
//
// The protocol does the base64 framing, so a Server sees raw bytes. A Server
// checks the shape of what the client sent (lengths, separators, encoding)
// and then calls the Authenticator exactly once. The Authenticator's error is
// returned unchanged, not wrapped, because go-smtp and the IMAP server
// recognise their own error types (*smtp.SMTPError, *imap.Error) by type
// assertion to choose the reply code.
package saslsrv

import (
	"bytes"
	"errors"
	"unicode/utf8"
)

// MaxFieldLen caps each of the username, password and authorization
// identity, in bytes. RFC 4616 §2 asks servers to accept at least 255 octets;
// anything near this cap is an attack or a mistake, not a login.
const MaxFieldLen = 1024

// Authenticator verifies a username and password. A nil error means the
// login succeeded. It is also the place for throttling (see authlimit).
type Authenticator func(username, password string) error

// Errors for input refused before the Authenticator is called. Their text is
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
