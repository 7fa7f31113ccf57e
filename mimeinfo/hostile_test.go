package mimeinfo

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
)

const syntheticChild = `("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 0 0 NIL NIL NIL NIL)`

func TestEmptyMultipart(t *testing.T) {
	msg := "Content-Type: multipart/mixed; boundary=zz\r\n\r\nno parts at all\r\n"
	info := mustCheck(t, msg)
	want := "(" + syntheticChild + ` "MIXED" ("BOUNDARY" "zz") NIL NIL NIL)`
	if string(info.BodyStructure) != want {
		t.Errorf("BODYSTRUCTURE\n got %s\nwant %s", info.BodyStructure, want)
	}
	if d, ok := Section([]byte(msg), []int{1}, "", nil); !ok || len(d) != 0 {
		t.Errorf("BODY[1] of the synthetic part = %q, %v; want empty, true", d, ok)
	}
	// Only a close delimiter: still no parts.
	info = mustCheck(t, "Content-Type: multipart/mixed; boundary=zz\r\n\r\n--zz--\r\n")
	if !bytes.HasPrefix(info.BodyStructure, []byte("("+syntheticChild+" ")) {
		t.Errorf("close-only multipart: %s", info.BodyStructure)
	}
}

func TestMissingBoundary(t *testing.T) {
	for _, ct := range []string{"multipart/mixed", "multipart/mixed; boundary=", `multipart/mixed; boundary=""`, "multipart/mixed; charset=x"} {
		info := mustCheck(t, "Content-Type: "+ct+"\r\n\r\n--\r\nhello\r\n----\r\n")
		if !bytes.HasPrefix(info.Body, []byte(`(("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 0 0) "MIXED"`)) {
			t.Errorf("%s: BODY %s", ct, info.Body)
		}
	}
}

func TestBoundaryNeverCloses(t *testing.T) {
	msg := "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nfirst\r\n--b\r\n\r\nsecond, cut off"
	info := mustCheck(t, msg)
	bs := mustWire(t, info.BodyStructure)
	if len(bs.list) != 7 || bs.list[1].list[6].num() != len("second, cut off") {
		t.Errorf("BODYSTRUCTURE %s", info.BodyStructure)
	}
	if d, ok := Section([]byte(msg), []int{2}, "", nil); !ok || string(d) != "second, cut off" {
		t.Errorf("BODY[2] = %q, %v", d, ok)
	}
}

func TestDeepMultipartNesting(t *testing.T) {
	var sb strings.Builder
	for i := 0; i < 1000; i++ {
		sb.WriteString("Content-Type: multipart/mixed; boundary=b" + itoa(i) + "\r\n\r\n--b" + itoa(i) + "\r\n")
	}
	sb.WriteString("Content-Type: text/plain\r\n\r\ndeep\r\n")
	for i := 999; i >= 0; i-- {
		sb.WriteString("--b" + itoa(i) + "--\r\n")
	}
	msg := sb.String()
	info := mustCheck(t, msg)
	_, depth, _ := checkBody(mustWire(t, info.BodyStructure), true)
	if depth != maxDepth+1 {
		t.Errorf("structure depth %d, want %d", depth, maxDepth+1)
	}
	if !bytes.Contains(info.BodyStructure, []byte(`"APPLICATION" "OCTET-STREAM"`)) {
		t.Errorf("capped part not opaque: %.200s", info.BodyStructure)
	}
	path := make([]int, maxDepth)
	for i := range path {
		path[i] = 1
	}
	if _, ok := Section([]byte(msg), path, "", nil); !ok {
		t.Errorf("opaque leaf at the cap not addressable")
	}
	if _, ok := Section([]byte(msg), append(path, 1), "", nil); ok {
		t.Errorf("part below the cap addressable")
	}
}

func TestDeepMessageNesting(t *testing.T) {
	msg := strings.Repeat("Subject: s\r\nContent-Type: message/rfc822\r\n\r\n", 1000) + "Subject: bottom\r\n\r\nx"
	info := mustCheck(t, msg)
	if _, depth, _ := checkBody(mustWire(t, info.BodyStructure), true); depth != maxDepth+1 {
		t.Errorf("depth %d, want %d", depth, maxDepth+1)
	}
	if d, ok := Section([]byte(msg), []int{1, 1, 1}, "HEADER", nil); !ok || string(d) != "Subject: s\r\nContent-Type: message/rfc822\r\n\r\n" {
		t.Errorf("BODY[1.1.1.HEADER] = %q, %v", d, ok)
	}
}

func TestHugeHeader(t *testing.T) {
	msg := "Subject: early\r\nX-Junk: " + strings.Repeat("j", 2<<20) + "\r\nFrom: late@x.org\r\n\r\nbody\r\n"
	info := mustCheck(t, msg)
	if want := len(msg) - len("body\r\n"); info.HeaderLen != want {
		t.Errorf("HeaderLen %d, want %d", info.HeaderLen, want)
	}
	if info.Subject != "early" || info.From != "" {
		t.Errorf("fields past 1 MiB must be ignored: Subject %q From %q", info.Subject, info.From)
	}
	if d, ok := Section([]byte(msg), nil, "TEXT", nil); !ok || string(d) != "body\r\n" {
		t.Errorf("BODY[TEXT] = %q", d)
	}
	// One folded field that is itself 2 MiB.
	msg = "Subject: " + strings.Repeat("word\r\n ", 400000) + "\r\n\r\n"
	info = mustCheck(t, msg)
	if info.HeaderLen != len(msg) {
		t.Errorf("HeaderLen %d, want %d", info.HeaderLen, len(msg))
	}
}

func TestHeaderLineWithoutColon(t *testing.T) {
	msg := "From: a@b.c\r\nthis line has no colon\r\nSubject: still parsed\r\n\r\nbody"
	info := mustCheck(t, msg)
	if info.Subject != "still parsed" || info.From != "a@b.c" {
		t.Errorf("Subject %q From %q", info.Subject, info.From)
	}
	got := FilterHeader([]byte(msg[:info.HeaderLen]), []string{"subject"}, true)
	if string(got) != "From: a@b.c\r\nthis line has no colon\r\n\r\n" {
		t.Errorf("HEADER.FIELDS.NOT = %q", got)
	}
}

func TestNULBytes(t *testing.T) {
	msg := "Subject: a\x00b\r\nFrom: \"N\x00ul\" <n@x\x00.org>\r\nContent-Type: text/plain; name=\"a\x00\"\r\n\r\nbody\x00\r\n"
	info := mustCheck(t, msg)
	for _, b := range [][]byte{info.Envelope, info.Body, info.BodyStructure} {
		if bytes.IndexByte(b, 0) >= 0 {
			t.Errorf("NUL on the wire: %q", b)
		}
	}
	if info.Subject != "ab" {
		t.Errorf("Subject %q", info.Subject)
	}
}

func TestTruncatedMessages(t *testing.T) {
	for n := 0; n <= len(mixedMsg); n++ {
		msg := mixedMsg[:n]
		info := Parse([]byte(msg))
		if err := checkInfo(info, n); err != nil {
			t.Fatalf("truncated at %d: %v", n, err)
		}
		for _, p := range [][]int{nil, {1}, {2}, {3}, {3, 1}, {3, 2}} {
			for _, spec := range []string{"", "HEADER", "TEXT", "MIME", "HEADER.FIELDS"} {
				if d, ok := Section([]byte(msg), p, spec, []string{"From"}); ok && spec != "HEADER.FIELDS" && !strings.Contains(msg, string(d)) {
					t.Fatalf("truncated at %d: section %v %s not a slice of the message", n, p, spec)
				}
			}
		}
	}
}

func TestBrokenContentType(t *testing.T) {
	for _, ct := range []string{"", "text", "/plain", "text/", "te xt/plain", "multipart/mixed boundary=x", "text/plain/extra", ";;;"} {
		info := mustCheck(t, "Content-Type: "+ct+"\r\n\r\nbody\r\n")
		if want := `("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 6 1)`; string(info.Body) != want {
			t.Errorf("Content-Type %q: BODY %s", ct, info.Body)
		}
	}
	info := mustCheck(t, "Content-Type: text/plain; junk; =x; a=\"unterminated\r\n\r\n")
	if !bytes.HasPrefix(info.Body, []byte(`("TEXT" "PLAIN" ("A" "unterminated")`)) {
		t.Errorf("lenient params: %s", info.Body)
	}
}

func TestPartCountCap(t *testing.T) {
	var sb strings.Builder
	sb.WriteString("Content-Type: multipart/mixed; boundary=b\r\n\r\n")
	for i := 0; i < maxParts+500; i++ {
		sb.WriteString("--b\r\n\r\nx\r\n")
	}
	sb.WriteString("--b--\r\n")
	info := mustCheck(t, sb.String())
	parts, _, err := checkBody(mustWire(t, info.BodyStructure), true)
	if err != nil || parts >= maxParts {
		t.Errorf("parts %d (cap %d), %v", parts, maxParts, err)
	}
}

func TestDigestDefaultsAndGroupWire(t *testing.T) {
	msg := crlf("To: undisclosed-recipients:;",
		"Content-Type: multipart/digest; boundary=d", "",
		"--d", "", "Subject: one", "", "1", "--d--", "")
	info := mustCheck(t, msg)
	if !bytes.Contains(info.Envelope, []byte(`((NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL))`)) {
		t.Errorf("group on the wire: %s", info.Envelope)
	}
	want := `(("MESSAGE" "RFC822" NIL NIL NIL "7BIT" 17 (NIL "one" NIL NIL NIL NIL NIL NIL NIL NIL) ` +
		`("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 1 0) 2) "DIGEST")`
	if string(info.Body) != want {
		t.Errorf("BODY\n got %s\nwant %s", info.Body, want)
	}
}

func TestBareLF(t *testing.T) {
	msg := "Subject: lf\nContent-Type: multipart/mixed; boundary=b\n\n--b\n\none\n--b--\n"
	info := mustCheck(t, msg)
	if info.HeaderLen != strings.Index(msg, "--b") || info.Subject != "lf" {
		t.Errorf("HeaderLen %d Subject %q", info.HeaderLen, info.Subject)
	}
	if d, ok := Section([]byte(msg), []int{1}, "", nil); !ok || string(d) != "one" {
		t.Errorf("BODY[1] = %q %v", d, ok)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
