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

// One Tree serves every section of a message as Section does, and is not
// changed by serving them.
func TestTreeSections(t *testing.T) {
	msg := []byte(mixedMsg)
	tree := NewTree(msg)
	filter := NewHeaderFilter([]string{"subject", "FROM"}, false)
	for round := 0; round < 2; round++ {
		for _, path := range [][]int{nil, {1}, {2}, {3}, {3, 1}, {3, 2}, {4}} {
			for _, spec := range []string{"", "HEADER", "HEADER.FIELDS", "TEXT", "MIME"} {
				want, wok := Section(msg, path, spec, []string{"subject", "FROM"})
				got, ok := tree.Section(path, spec, filter)
				if ok != wok || string(got) != string(want) {
					t.Errorf("%v %s: got %q %v, want %q %v", path, spec, got, ok, want, wok)
				}
			}
		}
	}
	if HeaderLen(msg) != Parse(msg).HeaderLen {
		t.Errorf("HeaderLen %d, Parse %d", HeaderLen(msg), Parse(msg).HeaderLen)
	}
}

// A filter of many names costs a lookup per field and keeps the names'
// meaning: ASCII case ignored, white space around a name ignored.
func TestHeaderFilterManyNames(t *testing.T) {
	hdr := []byte("Subject: a\r\nX-Keep: b\r\n\tcont\r\nx-other: c\r\nNoColon\r\n\r\n")
	var names []string
	for i := 0; i < 5000; i++ {
		names = append(names, "X-Name-"+strings.Repeat("n", i%50))
	}
	names = append(names, " x-KEEP ", "nocolon")
	if got, want := string(NewHeaderFilter(names, false).Apply(hdr)), "X-Keep: b\r\n\tcont\r\nNoColon\r\n\r\n"; got != want {
		t.Errorf("HEADER.FIELDS: got %q, want %q", got, want)
	}
	if got, want := string(NewHeaderFilter(names, true).Apply(hdr)), "Subject: a\r\nx-other: c\r\n\r\n"; got != want {
		t.Errorf("HEADER.FIELDS.NOT: got %q, want %q", got, want)
	}
}

// naiveFilter is the definition HeaderFilter implements: a field is
// named in the list when a name equals it, or equals it once trimmed,
// ignoring ASCII case.
func naiveFilter(header []byte, names []string, not bool) []byte {
	eq := func(a []byte, b string) bool {
		return string(lowerASCIIBytes(nil, a)) == string(lowerASCIIBytes(nil, []byte(b)))
	}
	var out []byte
	eachField(header, func(fl fieldLine) {
		in := false
		for _, n := range names {
			if eq(fl.name, n) || eq(fl.name, strings.TrimSpace(n)) {
				in = true
			}
		}
		if in == not {
			return
		}
		out = append(out, fl.raw...)
		if fl.raw[len(fl.raw)-1] != '\n' {
			out = append(out, '\r', '\n')
		}
	})
	return append(out, '\r', '\n')
}

func FuzzHeaderFilter(f *testing.F) {
	f.Add([]byte("Subject: a\r\nX-Keep: b\r\n\tcont\r\nNoColon\r\n\r\n"), "subject\x00 x-keep\x00NOCOLON", false)
	f.Add([]byte("A: 1\nb : 2\r\n c\r\n\r\nbody"), "B\x00a ", true)
	f.Fuzz(func(t *testing.T, header []byte, names string, not bool) {
		list := strings.Split(names, "\x00")
		got := NewHeaderFilter(list, not).Apply(header)
		if want := naiveFilter(header, list, not); string(got) != string(want) {
			t.Fatalf("got %q, want %q", got, want)
		}
	})
}

func TestBinarySections(t *testing.T) {
	msg := "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\ncaf=C3=A9 =\r\nau lait\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAAEC/w==\r\n--b\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nbegin\r\n--b\r\nContent-Transfer-Encoding: 8bit\r\n\r\nplain\r\n--b--\r\n"
	tr := NewTree([]byte(msg))
	for _, tc := range []struct {
		path []int
		want string
		ok   bool
		err  error
	}{
		{[]int{1}, "café au lait", true, nil},
		{[]int{2}, "\x00\x01\x02\xff", true, nil},
		{[]int{3}, "", true, ErrUnknownCTE},
		{[]int{4}, "plain", true, nil},
		{[]int{5}, "", false, nil},
		{nil, msg, true, nil},
	} {
		data, ok, err := tr.Binary(tc.path)
		if string(data) != tc.want || ok != tc.ok || err != tc.err {
			t.Errorf("Binary(%v) = %q, %v, %v; want %q, %v, %v", tc.path, data, ok, err, tc.want, tc.ok, tc.err)
		}
	}
}
