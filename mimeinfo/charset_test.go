package mimeinfo

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// charsetCases are octets in a charset with the text they stand for, written
// out by hand from the charsets' tables rather than produced by an encoder.
var charsetCases = []struct {
	charset, octets, text string
}{
	{"utf-8", "gr\xc3\xbc\xc3\x9fe", "grüße"},
	{"ISO-8859-1", "gr\xfc\xdfe", "grüße"},
	{"latin1", "gr\xfc\xdfe", "grüße"},
	{"iso-8859-1", "\x93q\x94", "“q”"}, // C1 octets under a Latin-1 label are windows-1252
	{"iso-8859-15", "\xa4 5", "€ 5"},
	{"windows-1252", "\x80 5 \x93q\x94", "€ 5 “q”"},
	{"cp1252", "\x80", "€"},
	{"iso-8859-2", "\xb3\xf3d\xbc", "łódź"},
	{"ISO-8859-7", "\xd9", "Ω"},
	{"windows-1251", "\xcf\xf0\xe8\xe2\xe5\xf2", "Привет"},
	{"cp1251", "\xcf\xf0\xe8\xe2\xe5\xf2", "Привет"},
	{"koi8-r", "\xf0\xd2\xc9\xd7\xc5\xd4", "Привет"},
	{"iso-2022-jp", "\x1b$BF|K\\8l\x1b(B", "日本語"},
	{"shift_jis", "\x93\xfa\x96\x7b\x8c\xea", "日本語"},
	{"x-sjis", "\x93\xfa\x96\x7b\x8c\xea", "日本語"},
	{"euc-jp", "\xc6\xfc\xcb\xdc\xb8\xec", "日本語"},
	{"euc-kr", "\xc7\xd1\xb1\xb9\xbe\xee", "한국어"},
	{"ks_c_5601-1987", "\xc7\xd1\xb1\xb9\xbe\xee", "한국어"},
	{"gb2312", "\xd6\xd0\xce\xc4", "中文"},
	{"GBK", "\xd6\xd0\xce\xc4", "中文"},
	{"gb18030", "\xd6\xd0\xce\xc4", "中文"},
	{"big5", "\xa4\xa4\xa4\xe5", "中文"},
	{"utf-16", "\x00H\x00\xe9", "Hé"},         // big-endian without a BOM (RFC 2781 §4.3)
	{"UTF-16", "\xff\xfeH\x00\xe9\x00", "Hé"}, // the BOM says little-endian
	{"utf-16le", "H\x00\xe9\x00", "Hé"},
	{"utf-16be", "\x00H\x00\xe9", "Hé"},
	{`"windows-1251"`, "\xcf", "П"}, // quoted as some mailers write it
	{" KOI8-R ", "\xf0", "П"},
	{"x-unknown-charset", "abc \xff", "abc \uFFFD"}, // octets kept, made valid
	{"us-ascii", "plain", "plain"},
	{"us-ascii", "caf\xc3\xa9", "café"},     // mislabelled UTF-8 is kept
	{"", "caf\xe9", "café"},                 // and 8-bit octets under no label read as windows-1252
	{"utf-8", "bad \xff\xfe", "bad \uFFFD"}, // a run of bad octets is one U+FFFD
	{"iso-2022-kr", "abc", "abc"},           // WHATWG "replacement": keep the octets instead
}

func TestDecodeCharset(t *testing.T) {
	for _, tc := range charsetCases {
		got := string(decodeCharset([]byte(tc.octets), tc.charset, 1<<20))
		if got != tc.text {
			t.Errorf("%s %q: got %q, want %q", tc.charset, tc.octets, got, tc.text)
		}
	}
}

func TestDecodeCharsetLimit(t *testing.T) {
	for _, tc := range charsetCases {
		full := string(decodeCharset([]byte(tc.octets), tc.charset, 1<<20))
		for limit := 0; limit <= len(full)+1; limit++ {
			got := decodeCharset([]byte(tc.octets), tc.charset, limit)
			if len(got) > limit || !utf8.Valid(got) || !strings.HasPrefix(full, string(got)) {
				t.Errorf("%s limit %d: %q is not a valid prefix of %q", tc.charset, limit, got, full)
			}
			// The cut loses less than one character.
			if len(full)-len(got) >= utf8.UTFMax && len(got) < limit-utf8.UTFMax {
				t.Errorf("%s limit %d: only %q of %q", tc.charset, limit, got, full)
			}
		}
	}
}

// RFC 2047 encoded words in charsets the standard library does not know.
func TestEncodedWordCharsets(t *testing.T) {
	for _, tc := range []struct{ raw, decoded string }{
		{"=?windows-1251?B?z/Do4uXy?=", "Привет"},
		{"=?KOI8-R?Q?=F0=D2=C9=D7=C5=D4?=", "Привет"},
		{"=?ISO-2022-JP?B?GyRCRnxLXDhsGyhC?=", "日本語"},
		{"=?shift_jis?B?k/qWe4zq?=", "日本語"},
		{"=?euc-kr?B?x9Gxub7u?=", "한국어"},
		{"=?gb2312?B?1tDOxA==?=", "中文"},
		{"=?big5?B?pKSk5Q==?=", "中文"},
		{"=?iso-8859-15?q?=A4?=", "€"},
		{"=?windows-1252?q?=80_5?=", "€ 5"},
		{"=?utf-16?b?AEgA6Q==?=", "Hé"},
		{"=?x-unknown?q?abc=FF?=", "abc\uFFFD"},
		{"=?iso-8859-2?q?=B3=F3d=BC?= =?utf-8?q?_ok?=", "łódź ok"},
	} {
		if got := decodeHeader(tc.raw); got != tc.decoded {
			t.Errorf("%s: got %q, want %q", tc.raw, got, tc.decoded)
		}
	}
}

func TestTransferDecoders(t *testing.T) {
	for _, tc := range []struct{ mech, in, out string }{
		{"BASE64", "aGVsbG8gd29ybGQ=", "hello world"},
		{"BASE64", "aGVs\r\nbG8g\r\nd29y bGQ", "hello world"},                         // line breaks, spaces, no padding
		{"BASE64", "aGVsbA==aGVsbA==", "hellhell"},                                    // concatenated pieces
		{"BASE64", "a*G!V(s)b{G}8", "hello"},                                          // junk ignored
		{"BASE64", "", ""},                                                            //
		{"BASE64", "====", ""},                                                        //
		{"QUOTED-PRINTABLE", "gr=C3=BC=c3=9fe", "grüße"},                              // lower-case hex accepted
		{"QUOTED-PRINTABLE", "soft=\r\nbreak= \t\r\nhere=\nend=", "softbreakhereend"}, // soft breaks, with padding
		{"QUOTED-PRINTABLE", "a=ZZ b=4 c=\r", "a=ZZ b=4 c=\r"},                        // broken escapes kept
		{"QUOTED-PRINTABLE", "line\r\nnext", "line\r\nnext"},                          //
		{"7BIT", "as is =41", "as is =41"},                                            //
		{"X-UUENCODE", "as is", "as is"},                                              //
	} {
		if got := string(decodeTransfer([]byte(tc.in), tc.mech, 1<<20)); got != tc.out {
			t.Errorf("%s %q: got %q, want %q", tc.mech, tc.in, got, tc.out)
		}
		for limit := 0; limit < len(tc.out); limit++ {
			if got := string(decodeTransfer([]byte(tc.in), tc.mech, limit)); got != tc.out[:limit] {
				t.Errorf("%s %q limit %d: got %q", tc.mech, tc.in, limit, got)
			}
		}
	}
}

func TestStripHTML(t *testing.T) {
	for _, tc := range []struct{ in, out string }{
		{"<p>Hello <b>World</b></p>", " Hello World "},
		{"wo<b>rd</b>", "word"},
		{"one<br>two<BR/>three", "one two three"},
		{"a &amp; b &lt;c&gt; &quot;d&quot; e&nbsp;f &#233;t&#xE9; &#x1F600;", `a & b <c> "d" e f été 😀`},
		{"&unknown; &amp &#; &#xZZ; &#0; &#99999999;", "&unknown; &amp &#; &#xZZ; \uFFFD \uFFFD"},
		{"<style>p { color: red }</style>visible<script>var hidden = 1;</SCRIPT>", "visible"},
		{"<!-- a > b -->after", "after"},
		{"a < b and c<3", "a < b and c<3"},
		{"cut <a href=", "cut "},
		{"<!-- never closed", ""},
		{"<script>never closed", ""},
	} {
		if got := stripHTML(tc.in); got != tc.out {
			t.Errorf("%q: got %q, want %q", tc.in, got, tc.out)
		}
	}
}
