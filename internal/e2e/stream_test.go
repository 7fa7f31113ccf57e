package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"postern/internal/testserver"
	"postern/storage"
)

// dialSlowReader connects with a small receive buffer, so that a client
// that stops reading holds the server in the middle of a large response
// instead of letting the kernel take it all.
func dialSlowReader(t *testing.T, addr string) *lineConn {
	t.Helper()
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 16<<10)
		})
		return errors.Join(err, serr)
	}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &lineConn{t: t, c: c, br: bufio.NewReader(c)}
}

// bigMessage is a message of about size bytes of numbered lines, none of
// which starts with a dot.
func bigMessage(tag string, size int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: a@remote.test\r\nSubject: %s\r\n\r\n", tag)
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, "%s line %08d %s\r\n", tag, i, strings.Repeat("x", 60))
	}
	return b.Bytes()
}

// A body that a client is reading stays readable until the stream ends,
// whatever happens meanwhile: another session expunges the message (its
// last reference), and a large message for another account is stored.
// The stalled reader then gets exactly the original bytes, and the body is
// deleted once the stream is done.
func TestBodyStreamOutlivesExpunge(t *testing.T) {
	for _, proto := range []string{"IMAP FETCH", "POP3 RETR"} {
		t.Run(proto, func(t *testing.T) {
			ts := testserver.Start(t, testserver.Options{})
			alice := ts.AddUser(t, "alice@example.test", "alice-pw")
			bob := ts.AddUser(t, "bob@example.test", "bob-pw")
			ctx := context.Background()
			orig := bigMessage("alice", 16<<20)
			res, err := ts.Store.Append(ctx, []storage.AppendItem{{AccountID: alice.ID, Body: storage.NewBody(orig)}})
			if err != nil {
				t.Fatal(err)
			}
			rows, err := ts.Store.FetchMessages(ctx, res[0].MailboxID, []uint32{res[0].UID}, storage.FetchWant{})
			if err != nil || len(rows) != 1 {
				t.Fatal(rows, err)
			}
			bodyID := rows[0].BodyID

			var reader *lineConn
			var size int
			if proto == "IMAP FETCH" {
				reader = dialSlowReader(t, ts.IMAPAddr)
				reader.expect("* OK")
				reader.send("l LOGIN alice@example.test alice-pw")
				reader.expect("l OK")
				reader.send("s SELECT INBOX")
				reader.expect("s OK")
				reader.send("f FETCH 1 BODY.PEEK[]")
				head := reader.expect("* 1 FETCH")
				i := strings.LastIndexByte(head[len(head)-1], '{')
				size, _ = strconv.Atoi(strings.TrimSuffix(head[len(head)-1][i+1:], "}"))
			} else {
				reader = dialSlowReader(t, ts.POP3Addr)
				reader.expect("+OK")
				reader.send("USER alice@example.test")
				reader.expect("+OK")
				reader.send("PASS alice-pw")
				reader.expect("+OK")
				reader.send("RETR 1")
				head := reader.expect("+OK")
				size, _ = strconv.Atoi(strings.Fields(head[0])[1])
			}
			if size != len(orig) {
				t.Fatalf("the server announces %d octets, the message has %d", size, len(orig))
			}
			got := make([]byte, 0, len(orig)+1024)
			got = reader.read(t, got, 64<<10)

			// The reader stalls; another session expunges the message.
			imap := imapLines(t, ts, "alice@example.test", "alice-pw")
			imap.send("s SELECT INBOX")
			imap.expect("s OK")
			imap.send("d STORE 1 +FLAGS.SILENT (\\Deleted)")
			imap.expect("d OK")
			imap.send("x EXPUNGE")
			imap.expect("x OK")
			if _, err := ts.Store.Append(ctx, []storage.AppendItem{{AccountID: bob.ID, Body: storage.NewBody(bigMessage("bob", 8<<20))}}); err != nil {
				t.Fatal(err)
			}

			if proto == "IMAP FETCH" {
				got = reader.read(t, got, len(orig)-len(got))
				reader.expect("f OK")
			} else {
				for {
					l, err := reader.line()
					if err != nil {
						t.Fatalf("RETR ended early after %d bytes: %v", len(got), err)
					}
					if l == "." {
						break
					}
					got = append(got, strings.TrimPrefix(l, ".")...)
					got = append(got, '\r', '\n')
				}
			}
			if !bytes.Equal(got, orig) {
				n := 0
				for n < len(got) && n < len(orig) && got[n] == orig[n] {
					n++
				}
				t.Fatalf("read %d bytes, want the %d of the original; they differ from byte %d: %q",
					len(got), len(orig), n, got[n:min(n+80, len(got))])
			}
			eventually(t, "the expunged body to be deleted after the stream", func() bool {
				_, err := ts.Store.OpenBody(ctx, bodyID)
				return errors.Is(err, storage.ErrNotFound)
			})
		})
	}
}

// read appends n more bytes from the connection to buf.
func (l *lineConn) read(t *testing.T, buf []byte, n int) []byte {
	t.Helper()
	l.c.SetReadDeadline(time.Now().Add(60 * time.Second))
	start := len(buf)
	buf = append(buf, make([]byte, n)...)
	if _, err := io.ReadFull(l.br, buf[start:]); err != nil {
		t.Fatalf("reading %d bytes: %v", n, err)
	}
	return buf
}
