package auth

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-sasl"
)

// promptClient answers the LOGIN prompts by their text, as clients that do
// not send an initial response do.
type promptClient struct{ user, pass string }

func (c *promptClient) Start() (string, []byte, error) { return sasl.Login, nil, nil }

func (c *promptClient) Next(ch []byte) ([]byte, error) {
	switch string(ch) {
	case "Username:":
		return []byte(c.user), nil
	case "Password:":
		return []byte(c.pass), nil
	}
	return nil, sasl.ErrUnexpectedServerChallenge
}

func TestLoginExchange(t *testing.T) {
	cases := []struct {
		name   string
		client sasl.Client
		useIR  bool
		want   []string
	}{
		{"go-sasl client, initial response", sasl.NewLoginClient("alice", "s3cret pass"), true, []string{"Password:"}},
		{"go-sasl client, IR after first prompt", sasl.NewLoginClient("alice", "s3cret pass"), false, []string{"Username:", "Password:"}},
		{"prompted client", &promptClient{"alice", "s3cret pass"}, false, []string{"Username:", "Password:"}},
	}
	for _, tc := range cases {
		r := &recorder{user: "alice", pass: "s3cret pass"}
		ch, err := exchange(tc.client, NewLogin(r.auth), tc.useIR)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !slices.Equal(ch, tc.want) {
			t.Fatalf("%s: challenges %q, want %q", tc.name, ch, tc.want)
		}
		if len(r.calls) != 1 || r.calls[0] != "alice\x00s3cret pass" {
			t.Fatalf("%s: authenticator calls %q", tc.name, r.calls)
		}
	}
}

func TestLoginWrongPasswordPropagated(t *testing.T) {
	want := &smtpLikeError{code: 535}
	r := &recorder{user: "alice", pass: "secret", fail: want}
	_, err := exchange(sasl.NewLoginClient("alice", "guess"), NewLogin(r.auth), true)
	if got, ok := err.(*smtpLikeError); !ok || got != want {
		t.Fatalf("error %#v, want the authenticator's error value unchanged", err)
	}
}

func TestLoginHostileInput(t *testing.T) {
	long := strings.Repeat("x", MaxFieldLen+1)
	cases := []struct {
		name       string
		user, pass string // sent after the prompts, no initial response
		want       error
		wantPrompt bool // the password prompt is reached
	}{
		{"empty username", "", "secret", ErrMalformed, false},
		{"NUL in username", "al\x00ice", "secret", ErrMalformed, false},
		{"username not UTF-8", "\xc3\x28", "secret", ErrMalformed, false},
		{"long username", long, "secret", ErrTooLong, false},
		{"empty password", "alice", "", ErrMalformed, true},
		{"NUL in password", "alice", "sec\x00ret", ErrMalformed, true},
		{"long password", "alice", long, ErrTooLong, true},
		{"huge password", "alice", strings.Repeat("y", 1<<20), ErrTooLong, true},
	}
	for _, tc := range cases {
		r := &recorder{user: "alice", pass: "secret"}
		s := NewLogin(r.auth)
		if ch, done, err := s.Next(nil); string(ch) != "Username:" || done || err != nil {
			t.Fatalf("%s: start = %q %v %v", tc.name, ch, done, err)
		}
		ch, done, err := s.Next([]byte(tc.user))
		if tc.wantPrompt {
			if string(ch) != "Password:" || done || err != nil {
				t.Fatalf("%s: after username = %q %v %v", tc.name, ch, done, err)
			}
			_, done, err = s.Next([]byte(tc.pass))
		}
		if !errors.Is(err, tc.want) || !done {
			t.Errorf("%s: done=%v err=%v, want %v", tc.name, done, err, tc.want)
		}
		if len(r.calls) != 0 {
			t.Errorf("%s: authenticator called with %q", tc.name, r.calls)
		}
		if _, _, err := s.Next([]byte("more")); !errors.Is(err, sasl.ErrUnexpectedClientResponse) {
			t.Errorf("%s: input after failure: %v", tc.name, err)
		}
	}

	// An empty initial response is an empty username, not a missing one.
	r := &recorder{user: "alice", pass: "secret"}
	if _, _, err := NewLogin(r.auth).Next([]byte{}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("empty initial response: %v, want ErrMalformed", err)
	}
	// Garbage as an initial response is just a username that will not log in.
	r = &recorder{user: "alice", pass: "secret"}
	if _, err := exchange(sasl.NewLoginClient("\x01garbage\x7f", "secret"), NewLogin(r.auth), true); err != errWrong {
		t.Fatalf("garbage username: %v, want the authenticator's error", err)
	}
}

func TestLoginWrongState(t *testing.T) {
	r := &recorder{user: "alice", pass: "secret"}
	s := NewLogin(r.auth)
	if _, err := exchange(sasl.NewLoginClient("alice", "secret"), s, true); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Next([]byte("alice")); !errors.Is(err, sasl.ErrUnexpectedClientResponse) {
		t.Fatalf("response after done: %v", err)
	}
	if len(r.calls) != 1 {
		t.Fatalf("authenticator calls %q", r.calls)
	}
}

func FuzzLogin(f *testing.F) {
	f.Add(true, []byte("alice"), []byte("secret"))
	f.Add(false, []byte("alice"), []byte("secret"))
	f.Add(true, []byte{}, []byte("x"))
	f.Add(false, []byte("a\x00b"), []byte("\xff"))
	f.Fuzz(func(t *testing.T, useIR bool, user, pass []byte) {
		calls := 0
		s := NewLogin(func(u, p string) error {
			calls++
			if u != string(user) || p != string(pass) {
				t.Fatalf("authenticator got %q/%q, sent %q/%q", u, p, user, pass)
			}
			return nil
		})
		if !useIR {
			if ch, done, err := s.Next(nil); string(ch) != "Username:" || done || err != nil {
				t.Fatalf("start = %q %v %v", ch, done, err)
			}
		}
		ch, done, err := s.Next(user)
		userOK := checkUsername(user) == nil
		if userOK != (err == nil) {
			t.Fatalf("username %q: err %v", user, err)
		}
		if !userOK {
			if !done || calls != 0 {
				t.Fatalf("refused username: done=%v calls=%d", done, calls)
			}
			return
		}
		if string(ch) != "Password:" || done {
			t.Fatalf("after username: %q %v", ch, done)
		}
		_, done, err = s.Next(pass)
		passOK := checkPassword(pass) == nil
		if !done || passOK != (err == nil) || (passOK && calls != 1) || (!passOK && calls != 0) {
			t.Fatalf("password %q: done=%v err=%v calls=%d", pass, done, err, calls)
		}
	})
}
