package mbox

import (
	"bytes"
	"net/mail"
	"strconv"
	"strings"
	"time"

	"postern/mailport"
)

// headerInfo is what the header fields of an mbox message say about how to
// import it. mbox has no place for flags outside the message, so writers put
// them in header fields: Status and X-Status (elm, mutt, UW-IMAP, Dovecot),
// X-Mozilla-Status and X-Mozilla-Keys (Thunderbird), X-Keywords (Dovecot),
// X-Gmail-Labels (Google Takeout).
type headerInfo struct {
	flags         []string
	labels        string // X-Gmail-Labels, raw
	hasLabels     bool
	contentLength int64 // -1: none
	received      time.Time
	date          time.Time
	expunged      bool // Thunderbird deleted it and has not compacted the folder yet
	pseudo        bool // UW-IMAP's folder-data message, not mail
}

// Thunderbird's X-Mozilla-Status bits (nsMsgMessageFlags).
const (
	mozRead      = 0x0001
	mozReplied   = 0x0002
	mozMarked    = 0x0004
	mozExpunged  = 0x0008
	mozForwarded = 0x1000
)

// parseHeader reads the fields it needs from a message header (as much of it
// as was kept: a header is read up to a bound). Fields it cannot parse are
// ignored: they are hints, the message is imported anyway.
func parseHeader(h []byte) headerInfo {
	hi := headerInfo{contentLength: -1}
	var subject string
	forEachField(h, func(name, value string) {
		switch strings.ToLower(name) {
		case "status":
			// R: read; O: old (seen by the mail reader, not read). RFC 4155 §2 leaves this to writers.
			if strings.ContainsRune(value, 'R') {
				hi.flags = append(hi.flags, mailport.Seen)
			}
		case "x-status":
			for _, c := range value {
				switch c {
				case 'A':
					hi.flags = append(hi.flags, mailport.Answered)
				case 'F':
					hi.flags = append(hi.flags, mailport.Flagged)
				case 'T':
					hi.flags = append(hi.flags, mailport.Draft)
				case 'D':
					hi.flags = append(hi.flags, mailport.Deleted)
				}
			}
		case "x-mozilla-status":
			v, err := strconv.ParseUint(strings.TrimSpace(value), 16, 32)
			if err != nil {
				return
			}
			for _, b := range []struct {
				bit  uint64
				flag string
			}{{mozRead, mailport.Seen}, {mozReplied, mailport.Answered}, {mozMarked, mailport.Flagged}, {mozForwarded, mailport.Forwarded}} {
				if v&b.bit != 0 {
					hi.flags = append(hi.flags, b.flag)
				}
			}
			hi.expunged = v&mozExpunged != 0
		case "x-mozilla-keys", "x-keywords":
			hi.flags = append(hi.flags, strings.FieldsFunc(value, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' })...)
		case "x-gmail-labels":
			hi.labels, hi.hasLabels = value, true
		case "content-length":
			if n, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64); err == nil && n >= 0 {
				hi.contentLength = n
			}
		case "received":
			// The first Received field is the last hop: when the message arrived.
			if hi.received.IsZero() {
				if i := strings.LastIndexByte(value, ';'); i >= 0 {
					if t, err := mail.ParseDate(strings.TrimSpace(value[i+1:])); err == nil {
						hi.received = t
					}
				}
			}
		case "date":
			if t, err := mail.ParseDate(strings.TrimSpace(value)); err == nil {
				hi.date = t
			}
		case "x-imap", "x-imapbase":
			hi.pseudo = true
		case "subject":
			subject = value
		}
	})
	// UW-IMAP and Pine keep folder data in a first message that is not mail.
	hi.pseudo = hi.pseudo && strings.Contains(subject, "FOLDER INTERNAL DATA")
	return hi
}

// forEachField calls fn for each header field, unfolded (RFC 5322 §2.2.3).
func forEachField(h []byte, fn func(name, value string)) {
	var name string
	var value []byte
	have := false
	flush := func() {
		if have {
			fn(name, string(value))
		}
		have = false
	}
	for len(h) > 0 {
		line := h
		if i := bytes.IndexByte(h, '\n'); i >= 0 {
			line, h = h[:i], h[i+1:]
		} else {
			h = nil
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			if have && len(value) < 64<<10 {
				value = append(value, ' ')
				value = append(value, bytes.TrimSpace(line)...)
			}
			continue
		}
		flush()
		i := bytes.IndexByte(line, ':')
		if i <= 0 {
			continue
		}
		name = string(bytes.TrimSpace(line[:i]))
		value = append(value[:0], bytes.TrimSpace(line[i+1:])...)
		have = true
	}
	flush()
}
