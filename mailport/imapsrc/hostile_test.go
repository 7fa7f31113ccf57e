package imapsrc

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"postern/mailport"
	"postern/tlsutil"
)

// liar is an IMAP server that lies: Dovecot never does, so these cases are
// scripted. It serves one INBOX (UIDVALIDITY 7) of four messages:
//
//	UID 1: RFC822.SIZE 10, but a literal of 1000 octets (allowed: the literal counts)
//	UID 2: RFC822.SIZE 10, then a literal of 2,000,000 octets, above the limit
//	UID 3: 500 octets; on the second connection the literal stops after 100
//	UID 4: RFC822.SIZE 5,000,000: must not be asked for at all
type liar struct {
	ln   net.Listener
	mu   sync.Mutex
	conn int
	errs []string
}

func startLiar(t *testing.T) (*liar, *tls.Config) {
	srvTLS, err := tlsutil.Load("", "", t.TempDir(), "localhost")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", srvTLS)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	l := &liar{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			l.mu.Lock()
			l.conn++
			n := l.conn
			l.mu.Unlock()
			go l.serve(c, n)
		}
	}()
	leaf, _ := x509.ParseCertificate(srvTLS.Certificates[0].Certificate[0])
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return l, &tls.Config{RootCAs: pool, ServerName: "localhost"}
}

func (l *liar) fail(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errs = append(l.errs, fmt.Sprintf(format, args...))
}

var liarSizes = map[int]int{1: 10, 2: 10, 3: 500, 4: 5000000}

func (l *liar) serve(c net.Conn, n int) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Minute))
	r := bufio.NewReader(c)
	w := bufio.NewWriter(c)
	defer w.Flush()
	fmt.Fprintf(w, "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] liar ready\r\n")
	w.Flush()
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		tag, cmd := f[0], strings.ToUpper(f[1])
		if cmd == "UID" && len(f) > 2 {
			cmd += " " + strings.ToUpper(f[2])
		}
		switch cmd {
		case "CAPABILITY":
			fmt.Fprintf(w, "* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n%s OK done\r\n", tag)
		case "LOGIN":
			fmt.Fprintf(w, "%s OK logged in\r\n", tag)
		case "LIST":
			fmt.Fprintf(w, "* LIST () \"/\" INBOX\r\n%s OK done\r\n", tag)
		case "EXAMINE", "SELECT":
			fmt.Fprintf(w, "* 4 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n* OK [UIDNEXT 5] ok\r\n%s OK [READ-ONLY] done\r\n", tag)
		case "UID SEARCH":
			fmt.Fprintf(w, "* SEARCH 1 2 3 4\r\n%s OK done\r\n", tag)
		case "UID FETCH":
			uids := parseSet(f[3])
			if !strings.Contains(strings.ToUpper(line), "BODY.PEEK[]") {
				for _, u := range uids {
					fmt.Fprintf(w, "* %d FETCH (UID %d FLAGS (\\Seen) INTERNALDATE \"01-Jan-2020 00:00:00 +0000\" RFC822.SIZE %d)\r\n", u, u, liarSizes[u])
				}
				fmt.Fprintf(w, "%s OK done\r\n", tag)
				break
			}
			for _, u := range uids {
				switch {
				case u == 1:
					fmt.Fprintf(w, "* 1 FETCH (UID 1 BODY[] {1000}\r\n%s)\r\n", strings.Repeat("1", 1000))
				case u == 2:
					fmt.Fprintf(w, "* 2 FETCH (UID 2 BODY[] {2000000}\r\n%s", strings.Repeat("2", 1000))
					w.Flush()
					// The client hangs up rather than reading on.
					io.Copy(io.Discard, r)
					return
				case u == 3 && n == 2:
					fmt.Fprintf(w, "* 3 FETCH (UID 3 BODY[] {500}\r\n%s", strings.Repeat("3", 100))
					return
				case u == 3:
					fmt.Fprintf(w, "* 3 FETCH (UID 3 BODY[] {500}\r\n%s)\r\n", strings.Repeat("3", 500))
				default:
					l.fail("body of UID %d asked for", u)
				}
			}
			fmt.Fprintf(w, "%s OK done\r\n", tag)
		case "LOGOUT":
			fmt.Fprintf(w, "* BYE\r\n%s OK bye\r\n", tag)
			return
		default:
			fmt.Fprintf(w, "%s BAD %s\r\n", tag, cmd)
		}
		w.Flush()
	}
}

func parseSet(s string) []int {
	var out []int
	for _, part := range strings.Split(s, ",") {
		lo, hi, ok := strings.Cut(part, ":")
		a, _ := strconv.Atoi(lo)
		b := a
		if ok {
			b, _ = strconv.Atoi(hi)
		}
		for i := a; i <= b && i > 0; i++ {
			out = append(out, i)
		}
	}
	return out
}

func TestLyingServer(t *testing.T) {
	l, tc := startLiar(t)
	r, err := ParseURL("imaps://me@" + l.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(context.Background(), r, &Options{Password: "x", TLSConfig: tc, MaxMessageSize: 1 << 20,
		Sleep: func(ctx context.Context, d time.Duration) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var got, probs []string
	for {
		m, err := s.Next(context.Background())
		if err == io.EOF {
			break
		}
		var p *mailport.Problem
		if errors.As(err, &p) {
			probs = append(probs, err.Error())
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(m.Body)
		if err != nil {
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("a short literal: %v", err)
			}
			continue
		}
		got = append(got, fmt.Sprintf("%s %d %d", m.Key[strings.LastIndexByte(m.Key, '=')+1:], m.Size, len(b)))
	}
	if strings.Join(got, ",") != "1 1000 1000,3 500 500" {
		t.Fatalf("got %q", got)
	}
	if len(probs) != 2 || !strings.Contains(probs[0], "5000000 octets") || !strings.Contains(probs[1], "2000000 octets after announcing 10") {
		t.Fatalf("problems %q", probs)
	}
	if st := s.State().Mailboxes["INBOX"]; st.LastUID != 4 || st.UIDValidity != 7 {
		t.Fatalf("state %+v", st)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.errs) > 0 || l.conn != 3 {
		t.Fatalf("server saw %q on %d connections (want 3)", l.errs, l.conn)
	}
}

func TestParseURL(t *testing.T) {
	for in, want := range map[string]string{
		"imaps://alice@mail.example.com":             "true alice mail.example.com:993 ",
		"imap://alice@Mail.Example.com:1143":         "false alice mail.example.com:1143 ",
		"imaps://alice@example.com@imap.example.com": "true alice@example.com imap.example.com:993 ",
		"imaps://bob%40x.org@h/Archive/2020":         "true bob@x.org h:993 Archive/2020",
	} {
		r, err := ParseURL(in)
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if got := fmt.Sprintf("%v %s %s %s", r.TLS, r.User, r.Addr, r.Mailbox); got != want {
			t.Errorf("%s: %q, want %q", in, got, want)
		}
	}
	for _, bad := range []string{"pop3://a@h", "imaps://h", "imaps://a:secret@h", "imaps://a@h:99999", "imaps://a@", "imaps://a@h?x=1"} {
		if _, err := ParseURL(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	r, _ := ParseURL("imaps://a@H")
	if k := r.Key("Sent/2020", 5, 9); k != "imap://a@h/Sent%2F2020;UIDVALIDITY=5/;UID=9" {
		t.Fatalf("key %q", k)
	}
}
