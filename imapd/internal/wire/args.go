package wire

import (
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-imap/v2"

	"postern/mutf7"
)

// Flag reads a flag: "\" atom (a system flag) or a keyword atom
// (RFC 3501 §9 flag). System flags are returned in their canonical case.
func (p *Parser) Flag() (imap.Flag, error) {
	b, err := p.R.PeekByte()
	if err != nil {
		return "", err
	}
	if b == '\\' {
		p.R.ReadByte()
		if nb, err := p.R.PeekByte(); err == nil && nb == '*' {
			p.R.ReadByte()
			return imap.FlagWildcard, nil
		}
		a, err := p.Atom()
		if err != nil {
			return "", syntaxf("expected a flag name after '\\'")
		}
		return CanonicalFlag(`\` + a), nil
	}
	a, err := p.Atom()
	if err != nil {
		return "", syntaxf("expected a flag")
	}
	return imap.Flag(a), nil
}

// CanonicalFlag gives the standard spelling of a system flag; other
// flags are returned as they are.
func CanonicalFlag(f string) imap.Flag {
	for _, s := range []imap.Flag{imap.FlagSeen, imap.FlagAnswered, imap.FlagFlagged,
		imap.FlagDeleted, imap.FlagDraft, "\\Recent"} {
		if strings.EqualFold(string(s), f) {
			return s
		}
	}
	return imap.Flag(f)
}

// FlagList reads "(" [flag *(SP flag)] ")".
func (p *Parser) FlagList() ([]imap.Flag, error) {
	var flags []imap.Flag
	err := p.List(true, func() error {
		f, err := p.Flag()
		if err == nil && f == imap.FlagWildcard {
			return syntaxf(`\* is not a message flag`)
		}
		flags = append(flags, f)
		return err
	})
	return flags, err
}

// Flags reads a flag list or, as STORE allows, space-separated flags
// without parentheses (RFC 3501 §9 store-att-flags).
func (p *Parser) Flags() ([]imap.Flag, error) {
	if b, err := p.R.PeekByte(); err != nil {
		return nil, err
	} else if b == '(' {
		return p.FlagList()
	}
	var flags []imap.Flag
	for {
		f, err := p.Flag()
		if err != nil {
			return nil, err
		}
		if f == imap.FlagWildcard {
			return nil, syntaxf(`\* is not a message flag`)
		}
		flags = append(flags, f)
		if b, err := p.R.PeekByte(); err != nil || b != ' ' {
			return flags, err
		}
		p.R.ReadByte()
	}
}

var months = []string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// ParseDate parses date-text "d-Mon-yyyy" (RFC 3501 §9) as midnight UTC.
func ParseDate(s string) (time.Time, bool) {
	parts := strings.Split(s, "-")
	if len(parts) != 3 || len(parts[0]) < 1 || len(parts[0]) > 2 || len(parts[2]) != 4 {
		return time.Time{}, false
	}
	day, ok1 := atoi(parts[0])
	year, ok2 := atoi(parts[2])
	mon := 0
	for i, m := range months {
		if strings.EqualFold(m, parts[1]) {
			mon = i + 1
		}
	}
	if !ok1 || !ok2 || mon == 0 || day < 1 || day > 31 {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(mon), day, 0, 0, 0, 0, time.UTC)
	if t.Day() != day {
		return time.Time{}, false
	}
	return t, true
}

func atoi(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

// Date reads a search date: date-text, bare or quoted.
func (p *Parser) Date() (time.Time, error) {
	var s string
	var err error
	if b, e := p.R.PeekByte(); e != nil {
		return time.Time{}, e
	} else if b == '"' {
		s, err = p.Quoted()
	} else {
		s, err = p.Atom()
	}
	if err != nil {
		return time.Time{}, err
	}
	t, ok := ParseDate(s)
	if !ok {
		return time.Time{}, syntaxf("bad date %q (want d-Mon-yyyy)", s)
	}
	return t, nil
}

// ParseDateTime parses date-time "dd-Mon-yyyy hh:mm:ss +zzzz" where the
// day may be space-padded (RFC 3501 §9).
func ParseDateTime(s string) (time.Time, bool) {
	switch {
	case len(s) == 26 && s[0] == ' ':
		s = "0" + s[1:]
	case len(s) == 25:
		s = "0" + s
	}
	if len(s) != 26 || s[11] != ' ' || s[20] != ' ' {
		return time.Time{}, false
	}
	d, ok := ParseDate(s[:11])
	if !ok || s[2] != '-' {
		return time.Time{}, false
	}
	if s[14] != ':' || s[17] != ':' {
		return time.Time{}, false
	}
	hh, ok1 := atoi(s[12:14])
	mm, ok2 := atoi(s[15:17])
	ss, ok3 := atoi(s[18:20])
	zh, ok4 := atoi(s[22:24])
	zm, ok5 := atoi(s[24:26])
	sign := s[21]
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || hh > 23 || mm > 59 || ss > 60 || zm > 59 || (sign != '+' && sign != '-') {
		return time.Time{}, false
	}
	off := (zh*60 + zm) * 60
	if sign == '-' {
		off = -off
	}
	loc := time.FixedZone("", off)
	return time.Date(d.Year(), d.Month(), d.Day(), hh, mm, ss, 0, loc), true
}

// DateTime reads a quoted date-time.
func (p *Parser) DateTime() (time.Time, error) {
	s, err := p.Quoted()
	if err != nil {
		return time.Time{}, syntaxf("expected a quoted date-time")
	}
	t, ok := ParseDateTime(s)
	if !ok {
		return time.Time{}, syntaxf("bad date-time %q (want \"dd-Mon-yyyy hh:mm:ss +zzzz\")", s)
	}
	return t, nil
}

// Mailbox reads a mailbox name (astring) and decodes modified UTF-7
// (RFC 3501 §5.1.3), or, once the client has enabled UTF-8 (RFC 6855 §3,
// RFC 9051 §5.1), takes it as UTF-8. "INBOX" in any case is returned as
// "INBOX". A name that is not valid in its encoding gives a
// *MailboxNameError, which the server answers with NO: the command is well
// formed, the name is one no mailbox can have.
func (p *Parser) Mailbox() (string, error) {
	s, err := p.AString()
	if err != nil {
		return "", err
	}
	if p.UTF8 {
		if !utf8.ValidString(s) {
			return "", &MailboxNameError{Name: s, Msg: "Mailbox name is not valid UTF-8"}
		}
		if strings.EqualFold(s, "INBOX") {
			return "INBOX", nil
		}
		return s, nil
	}
	return DecodeMailbox(s)
}

// MailboxNameError is a mailbox name that cannot be decoded.
type MailboxNameError struct {
	Name string // as the client sent it
	Msg  string
}

func (e *MailboxNameError) Error() string { return e.Msg }

// DecodeMailbox turns a wire mailbox name in modified UTF-7 into UTF-8.
func DecodeMailbox(s string) (string, error) {
	name, err := mutf7.Decode(s)
	if err != nil {
		return "", &MailboxNameError{Name: s, Msg: "Mailbox name is not valid modified UTF-7"}
	}
	if strings.EqualFold(name, "INBOX") {
		return "INBOX", nil
	}
	return name, nil
}

// NumSet reads a sequence-set (RFC 3501 §9). "*" is stored as 0, as
// go-imap does. For UID commands the result is an imap.UIDSet.
//
// "$" is the saved result of the last SEARCH (RFC 5182 §2.1), returned as
// imap.SearchRes() for sequence numbers and UIDs alike: the caller
// resolves it.
func (p *Parser) NumSet(uid bool) (imap.NumSet, error) {
	if b, err := p.R.PeekByte(); err != nil {
		return nil, err
	} else if b == '$' {
		p.R.ReadByte()
		return imap.SearchRes(), nil
	}
	s, err := p.readWhile(func(b byte) bool {
		return (b >= '0' && b <= '9') || b == ':' || b == ',' || b == '*'
	}, "a sequence set")
	if err != nil {
		return nil, err
	}
	return ParseNumSet(s, uid)
}

// ParseNumSet parses the text of a sequence-set. Ranges are sorted before
// they are added, so a hostile set of many descending numbers costs
// O(n log n), not a quadratic number of insertions.
func ParseNumSet(s string, uid bool) (imap.NumSet, error) {
	var ranges []imap.SeqRange
	for _, r := range strings.Split(s, ",") {
		lo, hi, ok := strings.Cut(r, ":")
		a, err := seqNumber(lo)
		if err != nil {
			return nil, err
		}
		b := a
		if ok {
			if b, err = seqNumber(hi); err != nil {
				return nil, err
			}
		}
		// "*" (0) is the largest number: n:* and *:n are the same range.
		if a == 0 || (b != 0 && b < a) {
			a, b = b, a
		}
		ranges = append(ranges, imap.SeqRange{Start: a, Stop: b})
	}
	sort.Slice(ranges, func(i, j int) bool {
		ri, rj := ranges[i], ranges[j]
		if ri.Start != rj.Start {
			return ri.Start != 0 && (rj.Start == 0 || ri.Start < rj.Start)
		}
		return ri.Stop != 0 && (rj.Stop == 0 || ri.Stop < rj.Stop)
	})
	if uid {
		var uids imap.UIDSet
		for _, r := range ranges {
			uids.AddRange(imap.UID(r.Start), imap.UID(r.Stop))
		}
		return uids, nil
	}
	var seq imap.SeqSet
	for _, r := range ranges {
		seq.AddRange(r.Start, r.Stop)
	}
	return seq, nil
}

func seqNumber(s string) (uint32, error) {
	if s == "*" {
		return 0, nil
	}
	n, ok := atoi(s)
	if !ok && len(s) == 10 {
		var v uint64
		for i := 0; i < len(s); i++ {
			if s[i] < '0' || s[i] > '9' {
				return 0, syntaxf("bad sequence set")
			}
			v = v*10 + uint64(s[i]-'0')
		}
		if v <= 0xffffffff {
			n, ok = int(v), true
		}
	}
	if !ok || n == 0 {
		return 0, syntaxf("bad sequence set: %q is not a number > 0 or *", s)
	}
	return uint32(n), nil
}
