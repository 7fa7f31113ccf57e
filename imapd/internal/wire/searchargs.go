package wire

import (
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
)

// Limits of one SEARCH. RFC 3501 sets none, but every key is evaluated
// against every message of the mailbox, so the cost of a SEARCH grows
// with its keys. Clients send a handful (a quick filter ORs three or four
// fields, a saved search a few dozen keys); these caps are far above that.
const (
	// MaxSearchKeys bounds the keys of one SEARCH, counting NOT and OR
	// (parentheses only group).
	MaxSearchKeys = 1000
	// maxSearchDepth bounds the nesting of NOT, OR and parentheses, so
	// that a hostile SEARCH cannot exhaust the stack: a client's OR of
	// several fields nests a few levels.
	maxSearchDepth = 32
)

// BadCharsetError is a SEARCH CHARSET other than US-ASCII or UTF-8; the
// answer is NO [BADCHARSET] (RFC 3501 §6.4.4).
type BadCharsetError struct{ Charset string }

func (e *BadCharsetError) Error() string { return "unsupported charset " + e.Charset }

// SearchCriteria reads [CHARSET astring SP] search-key *(SP search-key)
// up to the end of the line (RFC 3501 §6.4.4). The keys are ANDed.
func (p *Parser) SearchCriteria(uid bool) (*imap.SearchCriteria, error) {
	c := &imap.SearchCriteria{}
	keys := 0
	first := true
	for {
		if !first {
			if p.AtEOL() {
				return c, nil
			}
			if err := p.SP(); err != nil {
				return nil, err
			}
		}
		if first {
			// CHARSET may only come first.
			if ok, err := p.peekWord("CHARSET "); err != nil {
				return nil, err
			} else if ok {
				if p.NoCharset {
					// RFC 6855 §3: after ENABLE UTF8=ACCEPT a client
					// sends no charset; one that does conflicts.
					return nil, syntaxf("CHARSET is not allowed after ENABLE UTF8=ACCEPT")
				}
				cs, err := p.AString()
				if err != nil {
					return nil, err
				}
				if u := strings.ToUpper(cs); u != "UTF-8" && u != "US-ASCII" {
					return nil, &BadCharsetError{Charset: cs}
				}
				if err := p.SP(); err != nil {
					return nil, err
				}
			}
		}
		first = false
		if err := p.searchKey(c, 0, &keys); err != nil {
			return nil, err
		}
	}
}

// peekWord consumes word (case-insensitively) if the line continues with
// it. It only waits for more input while what has arrived is a prefix of
// word, so it never blocks on a short final line.
func (p *Parser) peekWord(word string) (bool, error) {
	r := p.R
	for {
		avail := r.buf[r.r:r.w]
		n := len(avail)
		if n > len(word) {
			n = len(word)
		}
		if !strings.EqualFold(string(avail[:n]), word[:n]) {
			return false, nil
		}
		if n == len(word) {
			break
		}
		if err := r.fill(); err != nil {
			return false, err
		}
	}
	for range word {
		if _, err := r.ReadByte(); err != nil {
			return false, err
		}
	}
	return true, nil
}

// searchKey reads one search-key into c; keys counts the keys of the
// whole SEARCH.
func (p *Parser) searchKey(c *imap.SearchCriteria, depth int, keys *int) error {
	if depth > maxSearchDepth {
		return limitf("Search keys are nested too deeply (at most %d levels)", maxSearchDepth)
	}
	b, err := p.Peek()
	if err != nil {
		return err
	}
	if b == '(' {
		return p.List(false, func() error { return p.searchKey(c, depth+1, keys) })
	}
	if *keys++; *keys > MaxSearchKeys {
		return limitf("Too many search keys (at most %d)", MaxSearchKeys)
	}
	if (b >= '0' && b <= '9') || b == '*' || b == '$' {
		set, err := p.NumSet(false)
		if err != nil {
			return err
		}
		switch set := set.(type) {
		case imap.SeqSet:
			c.SeqNum = append(c.SeqNum, set)
		case imap.UIDSet:
			// "$" names the saved result, which is kept as UIDs.
			c.UID = append(c.UID, set)
		}
		return nil
	}
	key, err := p.Atom()
	if err != nil {
		return syntaxf("expected a search key")
	}
	key = strings.ToUpper(key)
	arg := func() error { return p.SP() }
	str := func() (string, error) {
		if err := arg(); err != nil {
			return "", err
		}
		return p.AString()
	}
	date := func() (time.Time, error) {
		if err := arg(); err != nil {
			return time.Time{}, err
		}
		return p.Date()
	}
	switch key {
	case "ALL":
	case "ANSWERED", "DELETED", "DRAFT", "FLAGGED", "SEEN", "RECENT":
		c.Flag = append(c.Flag, CanonicalFlag(`\`+key))
	case "UNANSWERED", "UNDELETED", "UNDRAFT", "UNFLAGGED", "UNSEEN":
		c.NotFlag = append(c.NotFlag, CanonicalFlag(`\`+key[2:]))
	case "NEW":
		c.Flag = append(c.Flag, "\\Recent")
		c.NotFlag = append(c.NotFlag, imap.FlagSeen)
	case "OLD":
		c.NotFlag = append(c.NotFlag, "\\Recent")
	case "KEYWORD", "UNKEYWORD":
		if err := arg(); err != nil {
			return err
		}
		f, err := p.Flag()
		if err != nil {
			return err
		}
		if key == "KEYWORD" {
			c.Flag = append(c.Flag, f)
		} else {
			c.NotFlag = append(c.NotFlag, f)
		}
	case "BCC", "CC", "FROM", "SUBJECT", "TO":
		s, err := str()
		if err != nil {
			return err
		}
		c.Header = append(c.Header, imap.SearchCriteriaHeaderField{Key: headerName(key), Value: s})
	case "HEADER":
		name, err := str()
		if err != nil {
			return err
		}
		v, err := str()
		if err != nil {
			return err
		}
		c.Header = append(c.Header, imap.SearchCriteriaHeaderField{Key: name, Value: v})
	case "BODY", "TEXT":
		s, err := str()
		if err != nil {
			return err
		}
		if key == "BODY" {
			c.Body = append(c.Body, s)
		} else {
			c.Text = append(c.Text, s)
		}
	case "BEFORE", "ON", "SINCE", "SENTBEFORE", "SENTON", "SENTSINCE":
		t, err := date()
		if err != nil {
			return err
		}
		var d imap.SearchCriteria
		switch key {
		case "BEFORE":
			d.Before = t
		case "ON":
			d.Since, d.Before = t, t.AddDate(0, 0, 1)
		case "SINCE":
			d.Since = t
		case "SENTBEFORE":
			d.SentBefore = t
		case "SENTON":
			d.SentSince, d.SentBefore = t, t.AddDate(0, 0, 1)
		case "SENTSINCE":
			d.SentSince = t
		}
		c.And(&d)
	case "LARGER", "SMALLER":
		if err := arg(); err != nil {
			return err
		}
		n, err := p.Number64()
		if err != nil {
			return err
		}
		var d imap.SearchCriteria
		if key == "LARGER" {
			d.Larger = n
		} else {
			if n == 0 {
				// Nothing is smaller than 0 bytes; keep the criterion
				// distinguishable from "no limit".
				d.Not = []imap.SearchCriteria{{}}
			}
			d.Smaller = n
		}
		c.And(&d)
	case "UID":
		if err := arg(); err != nil {
			return err
		}
		set, err := p.NumSet(true)
		if err != nil {
			return err
		}
		c.UID = append(c.UID, set.(imap.UIDSet))
	case "NOT":
		if err := arg(); err != nil {
			return err
		}
		var n imap.SearchCriteria
		if err := p.searchKey(&n, depth+1, keys); err != nil {
			return err
		}
		c.Not = append(c.Not, n)
	case "OR":
		var pair [2]imap.SearchCriteria
		for i := range pair {
			if err := arg(); err != nil {
				return err
			}
			if err := p.searchKey(&pair[i], depth+1, keys); err != nil {
				return err
			}
		}
		c.Or = append(c.Or, pair)
	default:
		return syntaxf("unknown search key %q", key)
	}
	return nil
}

func headerName(key string) string {
	switch key {
	case "BCC":
		return "Bcc"
	case "CC":
		return "Cc"
	case "FROM":
		return "From"
	case "SUBJECT":
		return "Subject"
	}
	return "To"
}
