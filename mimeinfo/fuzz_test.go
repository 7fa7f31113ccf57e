package mimeinfo

import (
	"bytes"
	"strings"
	"testing"
)

var fuzzSeeds = []string{
	"",
	"\r\n",
	"Subject: x\r\n\r\nbody",
	"From: a\r\n",
	mixedMsg,
	"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n--b\r\nContent-Type: message/rfc822\r\n\r\n--b--",
	"Content-Type: multipart/mixed; boundary=b\r\n\r\n",
	"Content-Type: message/rfc822\r\n\r\nContent-Type: message/rfc822\r\n\r\nTo: g:;\r\n\r\n",
	"To: \"q\\\" (c (d) <a@b>, g: x@y;\r\nCc: =?utf-8?b?w6k=?= <@r:x@y>\r\n\r\n",
	"Content-Type: text/plain; a*0=\"x\"; a*1*=utf-8''%41\r\nContent-Disposition: attachment; filename=\"\x00\xff\"\r\nContent-Language: en de fr\r\n\r\n",
	"Subject: \xff\xfe\x00\r\n\tcont\r\nno colon\r\n \r\n\r\n",
	"Content-Type: multipart/digest; boundary=\"a b\"\r\n\r\n--a b \r\n\r\nx\r\n--a b--  \r\n",
}

// FuzzParse checks that Parse never panics and that its wire forms always
// parse back and satisfy the RFC 3501 grammar.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		info := Parse(msg)
		if err := checkInfo(info, len(msg)); err != nil {
			t.Fatalf("%v\nENVELOPE %q\nBODY %q\nBODYSTRUCTURE %q", err, info.Envelope, info.Body, info.BodyStructure)
		}
		if h, ok := Section(msg, nil, "HEADER", nil); !ok || len(h) != info.HeaderLen {
			t.Fatalf("BODY[HEADER] has %d octets, HeaderLen %d", len(h), info.HeaderLen)
		}
	})
}

// FuzzSection checks Section on arbitrary messages and paths: no panic, whole
// message for the empty path, and every raw section a piece of the message.
func FuzzSection(f *testing.F) {
	for i, s := range fuzzSeeds {
		f.Add([]byte(s), []byte{1, 2}, uint8(i))
		f.Add([]byte(s), []byte{3, 1}, uint8(i+1))
	}
	specs := []string{"", "HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT", "TEXT", "MIME"}
	f.Fuzz(func(t *testing.T, msg, rawPath []byte, spec uint8) {
		if len(rawPath) > 40 {
			rawPath = rawPath[:40]
		}
		path := make([]int, len(rawPath))
		for i, b := range rawPath {
			path[i] = int(b%8) - 1
		}
		specifier := specs[int(spec)%len(specs)]
		data, ok := Section(msg, path, specifier, []string{"Subject", "content-type"})
		if !ok {
			if data != nil {
				t.Fatalf("ok=false with data %q", data)
			}
			return
		}
		if len(path) == 0 && specifier == "" && !bytes.Equal(data, msg) {
			t.Fatalf("BODY[] differs from the message")
		}
		if strings.HasPrefix(specifier, "HEADER.FIELDS") {
			if !bytes.HasSuffix(data, []byte("\r\n")) {
				t.Fatalf("HEADER.FIELDS without final CRLF: %q", data)
			}
			return
		}
		if len(data) > 0 && !bytes.Contains(msg, data) {
			t.Fatalf("section %v %s is not part of the message", path, specifier)
		}
	})
}
