package auth

import (
	"bytes"

	"github.com/emersion/go-sasl"
)

// NewPlain returns a server for the PLAIN mechanism (RFC 4616). It uses
// go-sasl's PLAIN server for the exchange and adds what that leaves to us:
// bounded field lengths, empty fields refused (RFC 4616 §2: authcid and
// passwd are 1*SAFE), and an authorization identity other than the username
// refused with ErrAuthzid, since we do not support proxy authorization.
func NewPlain(auth CheckFunc) sasl.Server {
	s := &plainServer{}
	s.inner = sasl.NewPlainServer(func(authzid, username, password string) error {
		if len(authzid) > MaxFieldLen {
			return ErrTooLong
		}
		if err := checkUsername([]byte(username)); err != nil {
			return err
		}
		if err := checkPassword([]byte(password)); err != nil {
			return err
		}
		if authzid != "" && authzid != username {
			return ErrAuthzid
		}
		return auth(username, password)
	})
	return s
}

// plainServer screens the message before go-sasl splits it, so that
// malformed input gets ErrMalformed rather than go-sasl's untyped error, and
// an oversized message is refused before it is copied into strings.
type plainServer struct {
	inner      sasl.Server
	challenged bool // the empty challenge has been sent
	done       bool
}

// maxPlainLen is authzid NUL authcid NUL passwd with every field at the cap.
const maxPlainLen = 3*MaxFieldLen + 2

func (s *plainServer) Next(response []byte) ([]byte, bool, error) {
	if s.done {
		return nil, true, sasl.ErrUnexpectedClientResponse
	}
	if response == nil {
		if !s.challenged {
			// No initial response: RFC 4616 §2 has the server send an
			// empty challenge, to which the client sends the message.
			s.challenged = true
			return s.inner.Next(nil)
		}
		// After the challenge the protocol hands us the decoded line,
		// which is never nil; treat a nil as an empty message.
		response = []byte{}
	}
	s.done = true
	if len(response) > maxPlainLen {
		return nil, true, ErrTooLong
	}
	if bytes.Count(response, []byte{0}) != 2 {
		return nil, true, ErrMalformed
	}
	return s.inner.Next(response)
}
