package mimeinfo

import (
	"strings"
	"testing"
)

// between returns the text of msg from the first occurrence of from up to (not
// including) the first occurrence of to after it.
func between(t *testing.T, msg, from, to string) string {
	t.Helper()
	i := strings.Index(msg, from)
	j := strings.Index(msg[i:], to)
	if i < 0 || j < 0 {
		t.Fatalf("markers %q %q not found", from, to)
	}
	return msg[i : i+j]
}

func TestSectionMixed(t *testing.T) {
	m := mixedMsg
	hdr := m[:strings.Index(m, "This is a multi-part")]
	fwdHeader := between(t, m, "From: Eve", "--inner\r\n")
	for _, tc := range []struct {
		path []int
		spec string
		want string
		ok   bool
	}{
		{nil, "", m, true},
		{nil, "HEADER", hdr, true},
		{nil, "TEXT", m[len(hdr):], true},
		{nil, "MIME", "", false},
		{[]int{1}, "", "Gr=FC=DFe,\r\nsee attached.", true},
		{[]int{1}, "MIME", "Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n", true},
		{[]int{1}, "HEADER", "", false},
		{[]int{1}, "TEXT", "", false},
		{[]int{1, 1}, "", "", false},
		{[]int{2}, "", "JVBERi0xLjQK\r\nJSVFT0YK", true},
		{[]int{3}, "", between(t, m, "From: Eve", "\r\n--outer=_1--"), true},
		{[]int{3}, "MIME", "Content-Type: message/rfc822\r\nContent-Disposition: inline\r\n\r\n", true},
		{[]int{3}, "HEADER", fwdHeader, true},
		{[]int{3}, "TEXT", between(t, m, "--inner\r\n", "\r\n--outer=_1--"), true},
		{[]int{3}, "HEADER.FIELDS", "From: Eve <eve@example.net>\r\nSubject: =?iso-8859-1?q?Caf=E9?=\r\n\r\n", true},
		{[]int{3, 1}, "", "plain inner", true},
		{[]int{3, 1}, "MIME", "\r\n", true},
		{[]int{3, 2}, "", "<b>inner</b>", true},
		{[]int{3, 2}, "MIME", "Content-Type: text/html\r\n\r\n", true},
		{[]int{3, 3}, "", "", false},
		{[]int{4}, "", "", false},
		{[]int{0}, "", "", false},
		{[]int{-1}, "", "", false},
		{[]int{1}, "BOGUS", "", false},
	} {
		var fields []string
		if tc.spec == "HEADER.FIELDS" {
			fields = []string{"subject", "FROM", "x-absent"}
		}
		got, ok := Section([]byte(m), tc.path, tc.spec, fields)
		if ok != tc.ok || string(got) != tc.want {
			t.Errorf("BODY[%v.%s] = %q, %v; want %q, %v", tc.path, tc.spec, got, ok, tc.want, tc.ok)
		}
	}
}

func TestSectionSinglePart(t *testing.T) {
	m := "Subject: s\r\nContent-Type: text/plain\r\n\r\nbody\r\n"
	for _, tc := range []struct {
		path []int
		spec string
		want string
		ok   bool
	}{
		{[]int{1}, "", "body\r\n", true},
		{[]int{1}, "MIME", "Subject: s\r\nContent-Type: text/plain\r\n\r\n", true},
		{[]int{2}, "", "", false},
		{[]int{1, 1}, "", "", false},
		{[]int{1}, "TEXT", "", false},
		{nil, "header.fields.not", "Content-Type: text/plain\r\n\r\n", true},
	} {
		got, ok := Section([]byte(m), tc.path, tc.spec, []string{"Subject"})
		if ok != tc.ok || string(got) != tc.want {
			t.Errorf("BODY[%v.%s] = %q, %v; want %q, %v", tc.path, tc.spec, got, ok, tc.want, tc.ok)
		}
	}
	// A top-level message/rfc822: part 1 is the encapsulated message and
	// 1.1 its body (RFC 3501 §6.4.5).
	m = "Content-Type: message/rfc822\r\n\r\nSubject: in\r\n\r\ninner body"
	for _, tc := range []struct {
		path []int
		spec string
		want string
	}{
		{[]int{1}, "", "Subject: in\r\n\r\ninner body"},
		{[]int{1}, "HEADER", "Subject: in\r\n\r\n"},
		{[]int{1}, "TEXT", "inner body"},
		{[]int{1, 1}, "", "inner body"},
		{[]int{1, 1}, "MIME", "Subject: in\r\n\r\n"},
	} {
		if got, ok := Section([]byte(m), tc.path, tc.spec, nil); !ok || string(got) != tc.want {
			t.Errorf("BODY[%v.%s] = %q, %v; want %q", tc.path, tc.spec, got, ok, tc.want)
		}
	}
}

func TestFilterHeader(t *testing.T) {
	h := "Received: from a\r\n\tby b\r\nSubject: one\r\nsubject: two\r\nX-Tail: t\r\n\r\n"
	for _, tc := range []struct {
		fields []string
		not    bool
		want   string
	}{
		{[]string{"SUBJECT"}, false, "Subject: one\r\nsubject: two\r\n\r\n"},
		{[]string{"received"}, false, "Received: from a\r\n\tby b\r\n\r\n"},
		{[]string{"received", "subject"}, true, "X-Tail: t\r\n\r\n"},
		{nil, false, "\r\n"},
		{nil, true, h},
		{[]string{"X-Tail"}, false, "X-Tail: t\r\n\r\n"},
		{[]string{"X-Tai"}, false, "\r\n"},
	} {
		if got := FilterHeader([]byte(h), tc.fields, tc.not); string(got) != tc.want {
			t.Errorf("FilterHeader(%v, not=%v) = %q, want %q", tc.fields, tc.not, got, tc.want)
		}
	}
	// A header block without its empty line, ending mid-field.
	if got := FilterHeader([]byte("A: 1\r\nB: 2"), []string{"b"}, false); string(got) != "B: 2\r\n\r\n" {
		t.Errorf("unterminated block: %q", got)
	}
	if got := FilterHeader(nil, []string{"b"}, true); string(got) != "\r\n" {
		t.Errorf("empty block: %q", got)
	}
}
