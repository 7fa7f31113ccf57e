package auth

import (
	"errors"
	"fmt"

	"github.com/emersion/go-sasl"
)

// exchange runs a client against a server the way a protocol does, without
// the base64 framing (which the protocol owns). With useIR the client's
// initial response goes with the command (SASL-IR, "AUTH PLAIN <b64>");
// without it the server speaks first and the initial response answers the
// first challenge, as clients without SASL-IR do. It returns the
// challenges the server sent and the server's final error.
func exchange(c sasl.Client, s sasl.Server, useIR bool) (challenges []string, err error) {
	_, ir, err := c.Start()
	if err != nil {
		return nil, fmt.Errorf("client start: %w", err)
	}
	var resp []byte
	pending := !useIR && ir != nil
	if useIR {
		resp = ir
	}
	for range 10 {
		ch, done, err := s.Next(resp)
		if err != nil {
			return challenges, err
		}
		if done {
			return challenges, nil
		}
		challenges = append(challenges, string(ch))
		if pending {
			resp, pending = ir, false
		} else if resp, err = c.Next(ch); err != nil {
			return challenges, fmt.Errorf("client next: %w", err)
		}
		if resp == nil {
			resp = []byte{} // a decoded line is never nil
		}
	}
	return challenges, errors.New("exchange did not finish in 10 steps")
}

// recorder is a CheckFunc that remembers its calls and accepts one
// user and password.
type recorder struct {
	user, pass string
	calls      []string
	fail       error // returned for a wrong password; errWrong if nil
}

var errWrong = errors.New("wrong username or password")

func (r *recorder) auth(username, password string) error {
	r.calls = append(r.calls, username+"\x00"+password)
	if username == r.user && password == r.pass {
		return nil
	}
	if r.fail != nil {
		return r.fail
	}
	return errWrong
}
