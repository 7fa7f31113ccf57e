package bayes

import (
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"postern/mimeinfo"
)

// Bounds of tokenization: the text of a long message says no more about
// spam after its first pages, and each token costs a store lookup.
const (
	maxText    = 64 << 10 // octets of decoded body text
	maxTokens  = 8192     // distinct tokens per message
	maxWord    = 40       // longer runs become one "long word" token
	minWord    = 2
	maxHeaders = 256 << 10 // octets of header block examined
)

// Token kinds, hashed in front of the word so that "viagra" in a Subject
// and in the body are different tokens.
const (
	kindBody    = 'b'
	kindSubject = 's'
	kindFrom    = 'f'
	kindAddr    = 'a' // a whole sender address or its domain
	kindReplyTo = 'r'
	kindMailer  = 'm'
	kindType    = 't'
	kindHeader  = 'h' // the presence of a header field name
	kindURL     = 'u'
	kindMsgID   = 'i'
	kindList    = 'l'
)

// Tokens returns the distinct tokens of a message, as hashes, sorted. msg is
// the whole message (the body may be cut short): its header fields that tell
// senders and mailers apart, and the words of its decoded text parts.
func Tokens(msg []byte) []uint64 {
	t := tokenizerPool.Get().(*tokenizer)
	defer tokenizerPool.Put(t)
	t.reset()
	t.message(msg)
	out := slices.Clone(t.out)
	slices.Sort(out)
	return out
}

// tokenizer collects distinct token hashes in an open-addressing set, which
// costs less than sorting the repeats away.
type tokenizer struct {
	out []uint64
	set []uint64 // 0 is an empty slot
	buf []byte
}

// setSize is a power of two, at least twice maxTokens.
const setSize = 4 * maxTokens

var tokenizerPool = sync.Pool{New: func() any { return &tokenizer{set: make([]uint64, setSize)} }}

func (t *tokenizer) reset() {
	if len(t.out) > 0 {
		clear(t.set)
	}
	t.out, t.buf = t.out[:0], t.buf[:0]
}

// add adds a token hash unless the set has it or is full.
func (t *tokenizer) add(h uint64) {
	if h == 0 {
		h = 1
	}
	for i := h & (setSize - 1); ; i = (i + 1) & (setSize - 1) {
		switch t.set[i] {
		case h:
			return
		case 0:
			if len(t.out) >= maxTokens {
				return
			}
			t.set[i] = h
			t.out = append(t.out, h)
			return
		}
	}
}

func (t *tokenizer) message(msg []byte) {
	hlen := mimeinfo.HeaderLen(msg)
	header := msg[:hlen]
	if len(header) > maxHeaders {
		header = header[:maxHeaders]
	}
	// DecodeHeader gives one "Name: value" line per field, unfolded and
	// with encoded words decoded (RFC 2047).
	for line := range strings.SplitSeq(mimeinfo.DecodeHeader(header), "\n") {
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		value = strings.TrimSpace(value)
		t.hash(kindHeader, strings.ToLower(name))
		switch strings.ToLower(name) {
		case "subject":
			Words(value, func(w string) { t.word(kindSubject, w) })
		case "from":
			Words(value, func(w string) { t.word(kindFrom, w) })
			t.addresses(kindAddr, value)
		case "reply-to":
			t.addresses(kindReplyTo, value)
		case "x-mailer", "user-agent":
			Words(value, func(w string) { t.word(kindMailer, w) })
		case "content-type":
			mt, _, _ := strings.Cut(value, ";")
			t.hash(kindType, strings.ToLower(strings.TrimSpace(mt)))
		case "message-id":
			if _, d, ok := strings.Cut(strings.Trim(value, "<> "), "@"); ok {
				t.hash(kindMsgID, strings.ToLower(d))
			}
		case "list-id":
			t.hash(kindList, strings.ToLower(value))
		}
	}
	text := mimeinfo.SearchText(msg, maxText)
	Words(text, func(w string) { t.word(kindBody, w) })
	t.urls(text)
}

// addresses adds each address of an address list and its domain.
func (t *tokenizer) addresses(kind byte, value string) {
	for _, a := range mimeinfo.AddressList(value) {
		if a.Host == "" {
			continue
		}
		host := strings.ToLower(a.Host)
		t.hash(kind, strings.ToLower(a.Mailbox)+"@"+host)
		t.hash(kind, host)
	}
}

// urls adds the host of every http(s) URL in text, and its last two labels.
func (t *tokenizer) urls(text string) {
	for {
		i := strings.Index(text, "://")
		if i < 0 {
			return
		}
		text = text[i+3:]
		end := strings.IndexAny(text, "/?#:@ \t\r\n\"'<>)]")
		if end < 0 {
			end = len(text)
		}
		host := strings.ToLower(strings.TrimSuffix(text[:end], "."))
		if host == "" || len(host) > 253 {
			continue
		}
		t.hash(kindURL, host)
		if j := strings.LastIndexByte(host, '.'); j > 0 {
			if k := strings.LastIndexByte(host[:j], '.'); k >= 0 {
				t.hash(kindURL, host[k+1:])
			}
		}
	}
}

// word adds one word, lower-cased; an over-long word is reduced to its
// first character and length class, as SpamBayes does, since long runs are
// encoded data or hashes that never repeat.
func (t *tokenizer) word(kind byte, w string) {
	if len(w) < minWord {
		return
	}
	if len(w) > maxWord {
		t.buf = append(t.buf[:0], "long:"...)
		c := w[0]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		t.buf = append(t.buf, c, byte('0'+min(len(w)/20, 9)))
		t.hashBytes(kind, t.buf)
		return
	}
	// Lower-case and hash in one pass: the same hash as hashBytes of
	// the lower-cased word.
	h := (fnvOffset ^ uint64(kind)) * fnvPrime
	for i := 0; i < len(w); {
		c := w[i]
		if c < utf8.RuneSelf {
			h = (h ^ uint64(lower[c])) * fnvPrime
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(w[i:])
		var enc [utf8.UTFMax]byte
		for _, b := range utf8.AppendRune(enc[:0], unicode.ToLower(r)) {
			h = (h ^ uint64(b)) * fnvPrime
		}
		i += n
	}
	t.add(h)
}

// lower maps ASCII bytes to lower case.
var lower = func() (l [utf8.RuneSelf]byte) {
	for c := range l {
		l[c] = byte(c)
		if 'A' <= c && c <= 'Z' {
			l[c] += 'a' - 'A'
		}
	}
	return l
}()

func (t *tokenizer) hash(kind byte, s string) {
	h := fnvOffset
	h = (h ^ uint64(kind)) * fnvPrime
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * fnvPrime
	}
	t.add(h)
}

func (t *tokenizer) hashBytes(kind byte, b []byte) {
	h := fnvOffset
	h = (h ^ uint64(kind)) * fnvPrime
	for _, c := range b {
		h = (h ^ uint64(c)) * fnvPrime
	}
	t.add(h)
}

// FNV-1a, 64 bits: stable across runs and versions, as stored counts need.
const (
	fnvOffset uint64 = 14695981039346656037
	fnvPrime  uint64 = 1099511628211
)

// Words calls fn for every word of s: a run of letters and digits, with
// the inner punctuation of words such as "don't", "e-mail", "3.50" and
// "$100" kept, and the punctuation around it dropped. Invalid UTF-8 separates
// words.
func Words(s string, fn func(w string)) {
	start := -1
	for i := 0; i < len(s); {
		c := s[i]
		var word bool
		n := 1
		if c < utf8.RuneSelf {
			word = asciiWord[c]
		} else {
			var r rune
			r, n = utf8.DecodeRuneInString(s[i:])
			word = r != utf8.RuneError && (unicode.IsLetter(r) || unicode.IsDigit(r))
		}
		if word {
			if start < 0 {
				start = i
			}
		} else if start >= 0 && !(c < utf8.RuneSelf && asciiInner[c] && i+1 < len(s) && startsWord(s[i+1:])) {
			fn(s[start:i])
			start = -1
		}
		i += n
	}
	if start >= 0 {
		fn(s[start:])
	}
}

// startsWord reports whether s begins with a letter or digit.
func startsWord(s string) bool {
	if s[0] < utf8.RuneSelf {
		return asciiWord[s[0]]
	}
	r, _ := utf8.DecodeRuneInString(s)
	return r != utf8.RuneError && (unicode.IsLetter(r) || unicode.IsDigit(r))
}

var asciiWord, asciiInner [utf8.RuneSelf]bool

func init() {
	for c := 0; c < utf8.RuneSelf; c++ {
		asciiWord[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '$'
	}
	for _, c := range []byte("'-.,_%&") {
		asciiInner[c] = true
	}
}
