package auth

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/emersion/go-sasl"
)

func TestPlainExchange(t *testing.T) {
	for _, useIR := range []bool{true, false} {
		r := &recorder{user: "alice@example.org", pass: "pässwörd \x01 x"}
		ch, err := exchange(sasl.NewPlainClient("", r.user, r.pass), NewPlain(r.auth), useIR)
		if err != nil {
			t.Fatalf("useIR=%v: %v", useIR, err)
		}
		wantCh := 0
		if !useIR {
			wantCh = 1 // RFC 4616 §2: an empty challenge asks for the message
		}
		if len(ch) != wantCh || (wantCh == 1 && ch[0] != "") {
			t.Fatalf("useIR=%v: challenges %q", useIR, ch)
		}
		if len(r.calls) != 1 || r.calls[0] != r.user+"\x00"+r.pass {
			t.Fatalf("useIR=%v: authenticator calls %q", useIR, r.calls)
		}
	}
}

func TestPlainAuthzid(t *testing.T) {
	r := &recorder{user: "alice", pass: "secret"}
	if _, err := exchange(sasl.NewPlainClient("alice", "alice", "secret"), NewPlain(r.auth), true); err != nil {
		t.Fatalf("authzid equal to username refused: %v", err)
	}

	r = &recorder{user: "alice", pass: "secret"}
	_, err := exchange(sasl.NewPlainClient("bob", "alice", "secret"), NewPlain(r.auth), true)
	if !errors.Is(err, ErrAuthzid) {
		t.Fatalf("authzid bob for alice: %v, want ErrAuthzid", err)
	}
	if len(r.calls) != 0 {
		t.Fatalf("authenticator called despite a foreign authzid: %q", r.calls)
	}
}

// smtpLikeError stands in for a protocol's own error type, which the
// protocol finds by type assertion, so it must arrive unwrapped.
type smtpLikeError struct{ code int }

func (e *smtpLikeError) Error() string { return "535 authentication failed" }

func TestPlainWrongPasswordPropagated(t *testing.T) {
	want := &smtpLikeError{code: 535}
	r := &recorder{user: "alice", pass: "secret", fail: want}
	_, err := exchange(sasl.NewPlainClient("", "alice", "guess"), NewPlain(r.auth), true)
	if got, ok := err.(*smtpLikeError); !ok || got != want {
		t.Fatalf("error %#v, want the authenticator's error value unchanged", err)
	}
	if len(r.calls) != 1 {
		t.Fatalf("authenticator calls %q", r.calls)
	}
}

func TestPlainHostileInput(t *testing.T) {
	long := strings.Repeat("a", MaxFieldLen+1)
	cases := []struct {
		name string
		msg  string
		want error
	}{
		{"empty", "", ErrMalformed},
		{"garbage", "garbage", ErrMalformed},
		{"one NUL", "alice\x00secret", ErrMalformed},
		{"three NULs", "\x00alice\x00sec\x00ret", ErrMalformed},
		{"only NULs", "\x00\x00", ErrMalformed},
		{"empty username", "\x00\x00secret", ErrMalformed},
		{"empty password", "\x00alice\x00", ErrMalformed},
		{"username not UTF-8", "\x00al\xffice\x00secret", ErrMalformed},
		{"long username", "\x00" + long + "\x00secret", ErrTooLong},
		{"long password", "\x00alice\x00" + long, ErrTooLong},
		{"long authzid", long + "\x00alice\x00secret", ErrTooLong},
		{"huge", strings.Repeat("\x00", 1<<20), ErrTooLong},
		{"foreign authzid", "root\x00alice\x00secret", ErrAuthzid},
	}
	for _, tc := range cases {
		r := &recorder{user: "alice", pass: "secret"}
		_, done, err := NewPlain(r.auth).Next([]byte(tc.msg))
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: err %v, want %v", tc.name, err, tc.want)
		}
		if !done {
			t.Errorf("%s: exchange not finished after a refused message", tc.name)
		}
		if len(r.calls) != 0 {
			t.Errorf("%s: authenticator called with %q", tc.name, r.calls)
		}
	}

	// Fields at exactly the cap are accepted.
	max := strings.Repeat("b", MaxFieldLen)
	r := &recorder{user: max, pass: max}
	if _, _, err := NewPlain(r.auth).Next([]byte(max + "\x00" + max + "\x00" + max)); err != nil {
		t.Fatalf("fields of %d bytes refused: %v", MaxFieldLen, err)
	}
}

func TestPlainWrongState(t *testing.T) {
	r := &recorder{user: "alice", pass: "secret"}
	s := NewPlain(r.auth)
	if _, done, err := s.Next([]byte("\x00alice\x00secret")); err != nil || !done {
		t.Fatalf("login: done=%v err=%v", done, err)
	}
	if _, _, err := s.Next([]byte("\x00alice\x00secret")); !errors.Is(err, sasl.ErrUnexpectedClientResponse) {
		t.Fatalf("second message: %v, want ErrUnexpectedClientResponse", err)
	}
	if _, _, err := s.Next(nil); !errors.Is(err, sasl.ErrUnexpectedClientResponse) {
		t.Fatalf("nil after done: %v", err)
	}

	// Empty challenge, then an empty reply.
	s = NewPlain(r.auth)
	if ch, done, err := s.Next(nil); err != nil || done || len(ch) != 0 {
		t.Fatalf("first Next(nil) = %q, %v, %v", ch, done, err)
	}
	if _, _, err := s.Next(nil); !errors.Is(err, ErrMalformed) {
		t.Fatalf("nil reply to the challenge: %v, want ErrMalformed", err)
	}
	if len(r.calls) != 1 {
		t.Fatalf("authenticator calls %q", r.calls)
	}
}

func FuzzPlain(f *testing.F) {
	f.Add([]byte("\x00alice\x00secret"))
	f.Add([]byte("alice\x00alice\x00secret"))
	f.Add([]byte("bob\x00alice\x00secret"))
	f.Add([]byte(""))
	f.Add([]byte("\x00\x00"))
	f.Add([]byte("\x00\xff\xfe\x00x"))
	f.Add(bytes.Repeat([]byte("a"), MaxFieldLen+10))
	f.Fuzz(func(t *testing.T, msg []byte) {
		var gotUser, gotPass string
		calls := 0
		s := NewPlain(func(u, p string) error {
			calls++
			gotUser, gotPass = u, p
			return nil
		})
		_, done, err := s.Next(msg)
		if !done {
			t.Fatalf("not done after a message (err %v)", err)
		}
		parts := bytes.Split(msg, []byte{0})
		valid := len(parts) == 3 &&
			len(parts[0]) <= MaxFieldLen &&
			len(parts[1]) > 0 && len(parts[1]) <= MaxFieldLen && utf8.Valid(parts[1]) &&
			len(parts[2]) > 0 && len(parts[2]) <= MaxFieldLen &&
			(len(parts[0]) == 0 || bytes.Equal(parts[0], parts[1]))
		if valid != (err == nil) {
			t.Fatalf("valid=%v but err=%v", valid, err)
		}
		if valid && (calls != 1 || gotUser != string(parts[1]) || gotPass != string(parts[2])) {
			t.Fatalf("authenticator got %q/%q in %d calls", gotUser, gotPass, calls)
		}
		if !valid && calls != 0 {
			t.Fatalf("authenticator called for invalid input")
		}
	})
}
