package e2e

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"postern/internal/testserver"
)

// The whole server bounds what one IMAP command may ask for: a SEARCH of
// 64 KiB literal keys is refused once its literals pass 256 KiB, the rest
// of it is dropped unread as commands, and go-imap's client gets
// BAD [LIMIT] for a SEARCH of too many keys while its session goes on.
func TestIMAPCommandBounds(t *testing.T) {
	ts := testserver.Start(t, testserver.Options{})
	ts.AddUser(t, "alice@example.test", "alice-pw")
	sendMX(t, ts, "bob@example.net", []string{"alice@example.test"},
		"From: bob@example.net\r\nTo: alice@example.test\r\nSubject: hello\r\n\r\nneedle in the body\r\n")

	c, err := net.Dial("tcp", ts.IMAPAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	expect := func(prefix string) string {
		t.Helper()
		for {
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			l, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("waiting for %q: %v", prefix, err)
			}
			if strings.HasPrefix(l, prefix) {
				return l
			}
		}
	}
	send := func(s string) {
		t.Helper()
		c.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	expect("* OK")
	send("l LOGIN alice@example.test alice-pw\r\ns SELECT INBOX\r\n")
	expect("s OK")
	w := bufio.NewWriterSize(c, 256<<10)
	payload := "x1 CREATE Victim\r\n" + strings.Repeat("k", 64<<10-len("x1 CREATE Victim\r\n"))
	w.WriteString("a SEARCH")
	for i := 0; i < 64; i++ {
		fmt.Fprintf(w, " BODY {%d+}\r\n", len(payload))
		w.WriteString(payload)
	}
	w.WriteString("\r\nb LIST \"\" Victim\r\n")
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if l := expect("a "); !strings.HasPrefix(l, "a BAD [LIMIT]") {
		t.Fatalf("SEARCH of 4 MiB of literals: %q", l)
	}
	if l := expect("b "); !strings.HasPrefix(l, "b OK") {
		t.Fatalf("LIST after the refused SEARCH: %q", l)
	}

	client := imapLogin(t, ts, "alice@example.test", "alice-pw", nil)
	if _, err := client.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	var crit imap.SearchCriteria
	for i := 0; i < 1001; i++ {
		crit.Body = append(crit.Body, fmt.Sprintf("word%d", i))
	}
	_, err = client.Search(&crit, nil).Wait()
	var ie *imap.Error
	if !errors.As(err, &ie) || ie.Type != imap.StatusResponseTypeBad || ie.Code != imap.ResponseCodeLimit {
		t.Fatalf("SEARCH of 1,001 keys: %v", err)
	}
	data, err := client.Search(&imap.SearchCriteria{Body: []string{"NEEDLE"}}, nil).Wait()
	if err != nil || len(data.AllSeqNums()) != 1 {
		t.Fatalf("SEARCH after the refused one: %v %v", data, err)
	}
	mbs, err := client.List("", "Victim", nil).Collect()
	if err != nil || len(mbs) != 0 {
		t.Fatalf("bytes of a refused literal were run as a command: %v %v", mbs, err)
	}
}
