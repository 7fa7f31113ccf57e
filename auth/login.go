package auth

import (
	"github.com/emersion/go-sasl"
)

// The LOGIN mechanism's prompts. go-sasl's LOGIN client, like most clients,
// checks for this exact "Password:" text.
var (
	usernameChallenge = []byte("Username:")
	passwordChallenge = []byte("Password:")
)

type loginState int

const (
	loginStart loginState = iota
	loginWantUsername
	loginWantPassword
	loginDone
)

// NewLogin returns a server for the LOGIN mechanism
// (draft-murchison-sasl-login), which Outlook and older clients use instead
// of PLAIN. The server prompts "Username:", then "Password:". An initial
// response (SMTP "AUTH LOGIN <base64 username>", or IMAP SASL-IR) is taken
// as the username and skips the first prompt.
func NewLogin(auth CheckFunc) sasl.Server {
	return &loginServer{auth: auth}
}

type loginServer struct {
	auth     CheckFunc
	state    loginState
	username string
}

func (s *loginServer) Next(response []byte) ([]byte, bool, error) {
	switch s.state {
	case loginStart:
		if response == nil {
			s.state = loginWantUsername
			return usernameChallenge, false, nil
		}
		return s.takeUsername(response)
	case loginWantUsername:
		return s.takeUsername(response)
	case loginWantPassword:
		s.state = loginDone
		if err := checkPassword(response); err != nil {
			return nil, true, err
		}
		return nil, true, s.auth(s.username, string(response))
	default:
		return nil, true, sasl.ErrUnexpectedClientResponse
	}
}

func (s *loginServer) takeUsername(u []byte) ([]byte, bool, error) {
	if err := checkUsername(u); err != nil {
		s.state = loginDone
		return nil, true, err
	}
	s.username = string(u)
	s.state = loginWantPassword
	return passwordChallenge, false, nil
}
