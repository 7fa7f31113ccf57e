package mimeinfo

import "strings"

// BaseSubject returns the base subject of a subject already decoded to
// UTF-8 (RFC 5256 §2.1): what SORT and THREAD compare, with the artifacts
// of replies, forwards and mailing lists taken off. replyOrForward reports
// whether the extraction removed a subj-refwd, a "(fwd)" subj-trailer, or
// a subj-fwd-hdr and subj-fwd-trl: whether THREAD counts the message as a
// reply or a forward (RFC 5256 §3, REFERENCES step 4).
//
// The steps and their numbers are the RFC's; every literal is compared
// without regard to ASCII case, as ABNF strings are (RFC 5234 §2.3).
func BaseSubject(subject string) (base string, replyOrForward bool) {
	// (1) Tabs and continuations to space, runs of spaces to one.
	s := collapseSpace(subject)
	for {
		// (2) subj-trailer: "(fwd)" / WSP, at the end, as often as found.
		for {
			switch {
			case strings.HasSuffix(s, " "):
				s = s[:len(s)-1]
			case len(s) >= 5 && strings.EqualFold(s[len(s)-5:], "(fwd)"):
				s = s[:len(s)-5]
				replyOrForward = true
			default:
				goto leaders
			}
		}
	leaders:
		// (3), (4) and (5): subj-leaders, then a subj-blob that leaves a
		// non-empty subj-base, until neither is found.
		for {
			if rest, ok := cutLeader(s); ok {
				if rest != s && !strings.HasPrefix(s, " ") {
					replyOrForward = true // a subj-refwd went, not only WSP
				}
				s = rest
				continue
			}
			if n := blobLen(s); n > 0 && hasNonSpace(s[n:]) {
				s = s[n:]
				continue
			}
			break
		}
		// (6) "[fwd:" ... "]": take the wrapper off and start again.
		if len(s) >= 6 && strings.EqualFold(s[:5], "[fwd:") && s[len(s)-1] == ']' {
			s = s[5 : len(s)-1]
			replyOrForward = true
			continue
		}
		// (7)
		return s, replyOrForward
	}
}

// collapseSpace turns tabs, CR and LF into spaces and runs of spaces into
// one.
func collapseSpace(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\t' || c == '\r' || c == '\n' {
			c = ' '
		}
		if c == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		b.WriteByte(c)
	}
	return b.String()
}

// cutLeader removes one subj-leader from the front of s:
//
//	subj-leader = (*subj-blob subj-refwd) / WSP
//	subj-refwd  = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":"
func cutLeader(s string) (string, bool) {
	if strings.HasPrefix(s, " ") {
		return s[1:], true
	}
	i := 0
	for {
		n := blobLen(s[i:])
		if n == 0 {
			break
		}
		i += n
	}
	switch {
	case hasPrefixFold(s[i:], "fwd"):
		i += 3
	case hasPrefixFold(s[i:], "fw"), hasPrefixFold(s[i:], "re"):
		i += 2
	default:
		return s, false
	}
	for i < len(s) && s[i] == ' ' {
		i++
	}
	i += blobLen(s[i:])
	if i < len(s) && s[i] == ':' {
		return s[i+1:], true
	}
	return s, false
}

// blobLen returns the length of the subj-blob at the start of s, 0 if
// there is none:
//
//	subj-blob = "[" *BLOBCHAR "]" *WSP   ; BLOBCHAR: not "[" or "]"
func blobLen(s string) int {
	if !strings.HasPrefix(s, "[") {
		return 0
	}
	end := strings.IndexAny(s[1:], "[]")
	if end < 0 || s[1+end] != ']' {
		return 0
	}
	i := end + 2
	for i < len(s) && s[i] == ' ' {
		i++
	}
	return i
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

func hasNonSpace(s string) bool { return strings.Trim(s, " ") != "" }
