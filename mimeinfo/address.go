package mimeinfo

import "strings"

// address is one IMAP address structure (RFC 3501 §7.4.2): personal name,
// source route, mailbox and host. Empty strings are written as NIL. A group
// start has only mailbox (the group name); a group end has nothing.
type address struct {
	name, adl, mailbox, host string
	groupStart, groupEnd     bool
}

// Placeholders for a mailbox or host that the header left out, so that such an
// address is never mistaken for group syntax (host NIL) by a client.
const (
	missingMailbox = "MISSING_MAILBOX"
	missingDomain  = "MISSING_DOMAIN"
)

type tokKind uint8

const (
	tAtom    tokKind = iota // run of atom text (dots included)
	tQuoted                 // quoted-string; text is the unescaped content
	tComment                // comment; text is the content
	tLiteral                // domain-literal, raw with brackets
	tSpecial                // one of < > , : ; @
)

type token struct {
	kind tokKind
	text string // meaning depends on kind
	raw  string // the token as written
}

// tokenize splits an address-list header value into RFC 5322 §3.2 lexical
// tokens, leniently: an unterminated quote, comment or literal runs to the end.
// Comments nest at most 64 deep; deeper parentheses are taken as text.
func tokenize(s string) []token {
	var toks []token
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
		case c == '"':
			var sb strings.Builder
			j := i + 1
			for j < len(s) && s[j] != '"' {
				if s[j] == '\\' && j+1 < len(s) {
					j++
				}
				if s[j] != '\r' && s[j] != '\n' {
					sb.WriteByte(s[j])
				}
				j++
			}
			end := min(j+1, len(s))
			toks = append(toks, token{kind: tQuoted, text: sb.String(), raw: s[i:end]})
			i = end
		case c == '(':
			depth := 0
			j := i
			for j < len(s) {
				if s[j] == '\\' {
					j += 2
					continue
				}
				if s[j] == '(' && depth < 64 {
					depth++
				} else if s[j] == ')' {
					depth--
					if depth == 0 {
						break
					}
				}
				j++
			}
			j = min(j, len(s))
			end := min(j+1, len(s))
			inner := s[i+1 : j]
			toks = append(toks, token{kind: tComment, text: strings.TrimSpace(inner), raw: s[i:end]})
			i = end
		case c == '[':
			j := strings.IndexByte(s[i:], ']')
			end := len(s)
			if j >= 0 {
				end = i + j + 1
			}
			toks = append(toks, token{kind: tLiteral, text: s[i:end], raw: s[i:end]})
			i = end
		case c == '<' || c == '>' || c == ',' || c == ':' || c == ';' || c == '@':
			toks = append(toks, token{kind: tSpecial, text: s[i : i+1], raw: s[i : i+1]})
			i++
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\r\n\"()[<>,:;@", rune(s[j])) {
				j++
			}
			if j == i {
				j++ // a stray ')' stands for itself
			}
			toks = append(toks, token{kind: tAtom, text: s[i:j], raw: s[i:j]})
			i = j
		}
	}
	return toks
}

func isSpecial(t token, c byte) bool { return t.kind == tSpecial && t.text[0] == c }

// phrase joins the words of a display name with single spaces. Quoted strings
// lose their quotes; RFC 2047 encoded words stay as written (as Dovecot does).
func phrase(toks []token) string {
	var sb strings.Builder
	for _, t := range toks {
		if t.kind == tComment || t.kind == tSpecial {
			continue
		}
		if sb.Len() > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(t.text)
	}
	return sb.String()
}

// concat joins tokens as written without spaces, skipping comments; it builds
// local parts, domains and source routes.
func concat(toks []token) string {
	var sb strings.Builder
	for _, t := range toks {
		if t.kind != tComment {
			sb.WriteString(t.raw)
		}
	}
	return sb.String()
}

// firstComment returns the first comment's text; "a@b (Name)" uses it as the name.
func firstComment(toks []token) string {
	for _, t := range toks {
		if t.kind == tComment {
			return t.text
		}
	}
	return ""
}

// addrSpec splits local-part "@" domain at the last '@'.
func addrSpec(toks []token) (mailbox, host string) {
	at := -1
	for i, t := range toks {
		if isSpecial(t, '@') {
			at = i
		}
	}
	if at < 0 {
		return concat(toks), ""
	}
	return concat(toks[:at]), concat(toks[at+1:])
}

// parseAddressList parses an address-list (RFC 5322 §3.4, with the obsolete
// forms of §4.4) into IMAP address structures. It never fails: junk is skipped,
// a missing mailbox or host is filled with a placeholder, and an open group is
// closed at the end. Work and output are linear in len(s).
func parseAddressList(s string) []address { return parseAddresses(s, true) }

// parseAddresses is parseAddressList; fill selects the placeholders for a
// missing mailbox or host, which AddressList leaves empty instead.
func parseAddresses(s string, fill bool) []address {
	toks := tokenize(s)
	var out []address
	inGroup := false
	emit := func(name, adl, mailbox, host string) {
		if name == "" && mailbox == "" && host == "" {
			return
		}
		if fill && mailbox == "" {
			mailbox = missingMailbox
		}
		if fill && host == "" {
			host = missingDomain
		}
		out = append(out, address{name: name, adl: adl, mailbox: mailbox, host: host})
	}
	i := 0
	for i < len(toks) {
		j := i
		for j < len(toks) && !(toks[j].kind == tSpecial && strings.ContainsAny(toks[j].text, "<:,;@>")) {
			j++
		}
		stop := byte(0)
		if j < len(toks) {
			stop = toks[j].text[0]
		}
		switch stop {
		case '<':
			name := phrase(toks[i:j])
			k := j + 1
			for k < len(toks) && !isSpecial(toks[k], '>') {
				k++
			}
			inner := toks[j+1 : k]
			adl := ""
			// obs-route: "@a,@b:" before the addr-spec (RFC 5322 §4.4).
			for r := len(inner) - 1; r >= 0; r-- {
				if isSpecial(inner[r], ':') {
					adl = concat(inner[:r])
					inner = inner[r+1:]
					break
				}
			}
			mailbox, host := addrSpec(inner)
			if fill && name == "" && mailbox == "" && host == "" {
				// "<>" names nobody; keep it visible rather than drop the field.
				mailbox = missingMailbox
			}
			emit(name, adl, mailbox, host)
			// Skip whatever trails the angle address up to the next separator.
			for k < len(toks) && !isSpecial(toks[k], ',') && !isSpecial(toks[k], ';') {
				k++
			}
			i = k
		case '@':
			k := j + 1
			for k < len(toks) && !isSpecial(toks[k], ',') && !isSpecial(toks[k], ';') && !isSpecial(toks[k], '<') {
				k++
			}
			mailbox, host := addrSpec(toks[i:k])
			emit(firstComment(toks[i:k]), "", mailbox, host)
			i = k
		case ':':
			if inGroup {
				// A colon inside a group is junk: skip to the next separator.
				k := j + 1
				for k < len(toks) && !isSpecial(toks[k], ',') && !isSpecial(toks[k], ';') {
					k++
				}
				i = k
				continue
			}
			out = append(out, address{mailbox: phrase(toks[i:j]), groupStart: true})
			inGroup = true
			i = j + 1
		default: // ',', ';', '>' or the end: a bare word without '@', if any
			if word := concat(toks[i:j]); word != "" {
				emit(firstComment(toks[i:j]), "", word, "")
			}
			if stop == ';' && inGroup {
				out = append(out, address{groupEnd: true})
				inGroup = false
			}
			i = j + 1
		}
	}
	if inGroup {
		out = append(out, address{groupEnd: true})
	}
	return out
}

// appendAddressList writes an address list (RFC 3501 §7.4.2), NIL when absent
// or empty.
func appendAddressList(b []byte, v hval) []byte {
	if !v.ok {
		return append(b, "NIL"...)
	}
	addrs := parseAddressList(v.v)
	if len(addrs) == 0 {
		return append(b, "NIL"...)
	}
	b = append(b, '(')
	for _, a := range addrs {
		switch {
		case a.groupEnd:
			b = append(b, "(NIL NIL NIL NIL)"...)
		case a.groupStart:
			b = append(b, "(NIL NIL "...)
			b = appendString(b, a.mailbox)
			b = append(b, " NIL)"...)
		default:
			b = append(b, '(')
			b = appendNonEmpty(b, a.name)
			b = append(b, ' ')
			b = appendNonEmpty(b, a.adl)
			b = append(b, ' ')
			b = appendString(b, a.mailbox)
			b = append(b, ' ')
			b = appendString(b, a.host)
			b = append(b, ')')
		}
	}
	return append(b, ')')
}
