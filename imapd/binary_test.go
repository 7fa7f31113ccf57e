package imapd

import (
	"bytes"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
)

const binaryMessage = "From: a@example.test\r\nSubject: parts\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" +
	"--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\ncaf=C3=A9 =\r\nau lait\r\n" +
	"--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAAEC/w==\r\n" +
	"--b\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nbegin 644 x\r\n" +
	"--b--\r\n"

// FETCH BINARY, BINARY.PEEK and BINARY.SIZE (RFC 3516 §4.2): decoded
// parts, literal8 for what holds a NUL, \Seen only without PEEK, and
// UNKNOWN-CTE for an encoding that cannot be undone (§4.3).
func TestFetchBinary(t *testing.T) {
	e := newEnv(t, nil)
	e.deliver(t, "INBOX", binaryMessage)
	r := e.raw(t, true)
	r.send("s SELECT INBOX\r\n")
	r.expect("s OK")
	r.send("a FETCH 1 (BINARY.PEEK[1] BINARY.SIZE[1] BINARY.SIZE[2])\r\n")
	l := r.expect("a OK")
	if l[0] != "* 1 FETCH (BINARY[1] {13}" || l[1] != "café au lait BINARY.SIZE[1] 13 BINARY.SIZE[2] 4)" {
		t.Fatalf("BINARY.PEEK[1]: %q", l)
	}
	r.send("b FETCH 1 (BINARY.PEEK[2] BINARY.PEEK[1]<5.3>)\r\n")
	l = r.expect("b OK")
	if l[0] != "* 1 FETCH (BINARY[2] ~{4}" || l[1] != "\x00\x01\x02\xff BINARY[1]<5> {3}" || l[2] != " au)" {
		t.Fatalf("literal8: %q", l)
	}
	r.send("c FETCH 1 (FLAGS BINARY[3])\r\n")
	l = r.expect("c ")
	if len(l) != 1 || !strings.HasPrefix(l[0], "c NO [UNKNOWN-CTE] ") {
		t.Fatalf("x-uuencode: %q", l)
	}
	r.send("d FETCH 1 (FLAGS)\r\n")
	if l = r.expect("d OK"); strings.Contains(l[0], `\Seen`) {
		t.Fatalf("PEEK set \\Seen: %q", l)
	}
	r.send("e FETCH 1 (BINARY[] BINARY[9])\r\n")
	l = r.expect("e OK")
	if !strings.Contains(l[0], " BINARY[] {"+itoa(int64(len(binaryMessage)))+"}") || !strings.Contains(strings.Join(l, "\n"), `BINARY[9] {0}`) ||
		!strings.Contains(l[0], `FLAGS (\Seen`) {
		t.Fatalf("BINARY[]: %q", l)
	}
	for _, bad := range []string{"FETCH 1 BINARY[1.TEXT]", "FETCH 1 BINARY[0]", "FETCH 1 BINARY.SIZE[1]<0.5>", "FETCH 1 BINARY[1"} {
		r.send("f " + bad + "\r\n")
		r.expect("f BAD")
	}
}

// go-imap's client reads BINARY responses, literal8 included.
func TestFetchBinaryImapclient(t *testing.T) {
	e := newEnv(t, nil)
	e.deliver(t, "INBOX", binaryMessage)
	c := e.client(t, nil)
	if !c.Caps().Has(imap.CapBinary) {
		t.Fatal("no BINARY capability")
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	msgs, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{
		BinarySection:     []*imap.FetchItemBinarySection{{Part: []int{2}, Peek: true}},
		BinarySectionSize: []*imap.FetchItemBinarySectionSize{{Part: []int{1}}},
	}).Collect()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("FETCH: %v %v", msgs, err)
	}
	var got []byte
	for _, b := range msgs[0].BinarySection {
		if len(b.Section.Part) == 1 && b.Section.Part[0] == 2 {
			got = b.Bytes
		}
	}
	if !bytes.Equal(got, []byte{0, 1, 2, 0xff}) || len(msgs[0].BinarySectionSize) != 1 || msgs[0].BinarySectionSize[0].Size != 13 {
		t.Fatalf("BINARY: %q %+v", got, msgs[0].BinarySectionSize)
	}
}

// APPEND takes a literal8 and keeps its bytes (RFC 3516 §4.4); UTF8
// (literal8) needs ENABLE UTF8=ACCEPT, and without it an 8-bit header is
// refused (RFC 6855 §4).
func TestAppendLiteral8AndUTF8(t *testing.T) {
	e := newEnv(t, nil)
	r := e.raw(t, true)
	msg := "Subject: bin\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n\x00\x01\n\r\xff\r\n"
	r.send("a APPEND INBOX ~{" + itoa(int64(len(msg))) + "+}\r\n" + msg + "\r\n")
	r.expect("a OK [APPENDUID")
	r.send("s SELECT INBOX\r\nf FETCH 1 (RFC822.SIZE BINARY.PEEK[1])\r\n")
	r.expect("s OK")
	l := r.expect("f OK")
	if l[0] != "* 1 FETCH (RFC822.SIZE "+itoa(int64(len(msg)))+" BINARY[1] ~{7}" {
		t.Fatalf("after APPEND of a literal8: %q", l)
	}
	utf := "Subject: Grüße\r\nFrom: jörg@example.test\r\n\r\nHallo\r\n"
	r.send("b APPEND INBOX {" + itoa(int64(len(utf))) + "+}\r\n" + utf + "\r\n")
	if l = r.expect("b "); !strings.HasPrefix(l[len(l)-1], "b NO [CANNOT] ") {
		t.Fatalf("8-bit header without ENABLE: %q", l)
	}
	r.send("c APPEND INBOX UTF8 (~{" + itoa(int64(len(utf))) + "+}\r\n" + utf + ")\r\n")
	r.expect("c BAD")
	r.send("u UNSELECT\r\nn ENABLE UTF8=ACCEPT\r\n")
	if l = r.expect("n OK"); l[len(l)-2] != "* ENABLED UTF8=ACCEPT" {
		t.Fatalf("ENABLE: %q", l)
	}
	r.send("d APPEND INBOX (\\Seen) UTF8 (~{" + itoa(int64(len(utf))) + "+}\r\n" + utf + ")\r\n")
	r.expect("d OK [APPENDUID")
	r.send("s SELECT INBOX\r\nf FETCH 2 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])\r\n")
	r.expect("s OK")
	if l = r.expect("f OK"); l[1] != "Subject: Grüße" {
		t.Fatalf("UTF8 APPEND: %q", l)
	}
	// UTF-8 mailbox names, quoted, both ways; CHARSET is refused.
	r.send("g CREATE \"Entwürfe/Ölfässer\"\r\nh LIST \"\" \"Entw*\"\r\n")
	r.expect("g OK")
	if l = r.expect("h OK"); l[1] != `* LIST (\HasNoChildren) "/" "Entwürfe/Ölfässer"` {
		t.Fatalf("UTF-8 LIST: %q", l)
	}
	r.send("i SEARCH CHARSET UTF-8 ALL\r\nj CREATE \"bad \xff\"\r\n")
	r.expect("i BAD")
	r.expect("j BAD")
}
