package maildir

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"

	"postern/mailport"
)

// Keywords is a folder's dovecot-keywords file: keyword number N (0-25) is
// the letter 'a'+N in message file names. The file has one "N keyword" per
// line (Dovecot's Maildir documentation, "dovecot-keywords").
type Keywords struct {
	names [26]string
	added bool // Index gave out a number since the file was written
}

// maxKeywordsFile bounds the file read: 26 keywords of 200 octets fit.
const maxKeywordsFile = 64 << 10

// ParseKeywords reads a dovecot-keywords file. Lines that are not a number
// 0-25 and a valid keyword are ignored.
func ParseKeywords(r io.Reader) (*Keywords, error) {
	kw := &Keywords{}
	sc := bufio.NewScanner(io.LimitReader(r, maxKeywordsFile))
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		num, name, ok := strings.Cut(line, " ")
		n, err := strconv.Atoi(num)
		if !ok || err != nil || n < 0 || n >= len(kw.names) || !mailport.IsKeyword(name) {
			continue
		}
		kw.names[n] = name
	}
	return kw, sc.Err()
}

// Name returns keyword number n, or "" if there is none. A nil Keywords has none.
func (kw *Keywords) Name(n int) string {
	if kw == nil || n < 0 || n >= len(kw.names) {
		return ""
	}
	return kw.names[n]
}

// Index returns the number of a keyword (case-insensitive), giving it the
// first free number if it has none; ok is false when all 26 are taken or
// the name is not a keyword.
func (kw *Keywords) Index(name string) (n int, ok bool) {
	if !mailport.IsKeyword(name) {
		return 0, false
	}
	free := -1
	for i, k := range kw.names {
		if strings.EqualFold(k, name) {
			return i, true
		}
		if k == "" && free < 0 {
			free = i
		}
	}
	if free < 0 {
		return 0, false
	}
	kw.names[free] = name
	kw.added = true
	return free, true
}

// Bytes returns the file's contents.
func (kw *Keywords) Bytes() []byte {
	var b bytes.Buffer
	for i, k := range kw.names {
		if k != "" {
			fmt.Fprintf(&b, "%d %s\n", i, k)
		}
	}
	return b.Bytes()
}
