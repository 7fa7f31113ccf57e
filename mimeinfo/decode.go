package mimeinfo

import (
	"bytes"
	"io"
	"mime"
	"strings"
	"unicode/utf8"
)

// wordDecoder decodes RFC 2047 encoded words. The standard library knows UTF-8,
// US-ASCII and ISO-8859-1; windows-1252 and ISO-8859-15 (the usual Western
// mislabels) are added here; any other charset is passed through as octets and
// then made valid UTF-8, so a SEARCH still matches the ASCII in it.
var wordDecoder = &mime.WordDecoder{CharsetReader: charsetReader}

func charsetReader(charset string, input io.Reader) (io.Reader, error) {
	var table *[128]rune
	switch strings.ToLower(charset) {
	case "windows-1252", "cp1252", "x-cp1252":
		table = &cp1252
	case "iso-8859-15", "iso8859-15", "latin-9", "latin9":
		table = &latin9
	default:
		return input, nil
	}
	raw, err := io.ReadAll(input)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	for _, c := range raw {
		if c < 0x80 {
			out.WriteByte(c)
		} else {
			out.WriteRune(table[c-0x80])
		}
	}
	return &out, nil
}

// decodeHeader turns a raw header value into UTF-8 text for SEARCH: encoded
// words decoded, invalid UTF-8 replaced, NUL dropped.
func decodeHeader(v string) string {
	if strings.Contains(v, "=?") {
		if d, err := wordDecoder.DecodeHeader(v); err == nil {
			v = d
		}
	}
	if !utf8.ValidString(v) {
		v = strings.ToValidUTF8(v, "\uFFFD")
	}
	return dropNUL(v)
}

// cp1252 maps octets 0x80-0xFF of windows-1252 to Unicode; 0xA0-0xFF are Latin-1.
var cp1252 = func() (t [128]rune) {
	hi := [32]rune{
		0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
		0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0xFFFD, 0x017D, 0xFFFD,
		0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
		0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0xFFFD, 0x017E, 0x0178,
	}
	copy(t[:32], hi[:])
	for i := 32; i < 128; i++ {
		t[i] = rune(0x80 + i)
	}
	return t
}()

// latin9 is ISO-8859-15: Latin-1 with eight code points replaced.
var latin9 = func() (t [128]rune) {
	for i := range t {
		t[i] = rune(0x80 + i)
	}
	for c, r := range map[byte]rune{0xA4: 0x20AC, 0xA6: 0x0160, 0xA8: 0x0161, 0xB4: 0x017D,
		0xB8: 0x017E, 0xBC: 0x0152, 0xBD: 0x0153, 0xBE: 0x0178} {
		t[c-0x80] = r
	}
	return t
}()
