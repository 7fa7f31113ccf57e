package wire

import "strings"

// ListOptions are the options of an extended LIST (RFC 5258 §3): the
// selection options before the reference and the return options after
// the patterns.
type ListOptions struct {
	// Extended is set when the command used any extended syntax
	// (options or a list of patterns, RFC 5258 §3): the response then
	// follows RFC 5258 (\NonExistent, CHILDINFO).
	Extended bool

	SelectSubscribed, SelectRemote, SelectRecursive, SelectSpecialUse bool

	ReturnSubscribed, ReturnChildren, ReturnSpecialUse bool
	// ReturnStatus holds the STATUS items of RETURN (STATUS (...))
	// (RFC 5819), upper-cased; nil when not asked for.
	ReturnStatus []string
}

// Limits of one LIST: clients send one pattern, or a few (Thunderbird
// lists INBOX and the rest), and a handful of options.
const (
	MaxListPatterns = 64
	maxListOpts     = 16
)

// ListSelectOpts reads "(" [option *(SP option)] ")" SP when the command
// continues with "(" (RFC 5258 §3.1). Unknown options are refused (§3:
// "MUST respond ... with a BAD"), as is RECURSIVEMATCH without an option
// it can modify.
func (p *Parser) ListSelectOpts(o *ListOptions) error {
	if b, err := p.Peek(); err != nil || b != '(' {
		return err
	}
	o.Extended = true
	n := 0
	err := p.List(true, func() error {
		if n++; n > maxListOpts {
			return syntaxf("too many LIST selection options")
		}
		a, err := p.Atom()
		if err != nil {
			return err
		}
		switch strings.ToUpper(a) {
		case "SUBSCRIBED":
			o.SelectSubscribed = true
		case "REMOTE":
			o.SelectRemote = true
		case "RECURSIVEMATCH":
			o.SelectRecursive = true
		case "SPECIAL-USE":
			o.SelectSpecialUse = true // RFC 6154 §3
		default:
			return syntaxf("unknown LIST selection option %s", wireWord(a))
		}
		return nil
	})
	if err != nil {
		return err
	}
	if o.SelectRecursive && !o.SelectSubscribed && !o.SelectSpecialUse {
		return syntaxf("RECURSIVEMATCH needs another selection option (RFC 5258 §3.1)")
	}
	// A selection option implies its return option (§3.1, RFC 6154 §3).
	o.ReturnSubscribed = o.ReturnSubscribed || o.SelectSubscribed
	o.ReturnSpecialUse = o.ReturnSpecialUse || o.SelectSpecialUse
	return p.SP()
}

// ListPatterns reads one list-mailbox or "(" list-mailbox *(SP
// list-mailbox) ")" (RFC 5258 §6 mbox-or-pat).
func (p *Parser) ListPatterns(o *ListOptions) ([]string, error) {
	if b, err := p.Peek(); err != nil {
		return nil, err
	} else if b != '(' {
		pat, err := p.ListMailbox()
		return []string{pat}, err
	}
	o.Extended = true
	var pats []string
	err := p.List(false, func() error {
		if len(pats) >= MaxListPatterns {
			return limitf("Too many LIST patterns (at most %d)", MaxListPatterns)
		}
		pat, err := p.ListMailbox()
		pats = append(pats, pat)
		return err
	})
	return pats, err
}

// ListReturnOpts reads SP "RETURN" SP "(" [option *(SP option)] ")" if
// the command continues with it (RFC 5258 §3.2, RFC 5819 §2).
func (p *Parser) ListReturnOpts(o *ListOptions) error {
	if p.AtEOL() {
		return nil
	}
	if err := p.SP(); err != nil {
		return err
	}
	if ok, err := p.peekWord("RETURN "); err != nil {
		return err
	} else if !ok {
		return syntaxf("expected RETURN")
	}
	o.Extended = true
	n := 0
	return p.List(true, func() error {
		if n++; n > maxListOpts {
			return syntaxf("too many LIST return options")
		}
		a, err := p.Atom()
		if err != nil {
			return err
		}
		switch strings.ToUpper(a) {
		case "SUBSCRIBED":
			o.ReturnSubscribed = true
		case "CHILDREN":
			o.ReturnChildren = true
		case "SPECIAL-USE":
			o.ReturnSpecialUse = true
		case "STATUS":
			if err := p.SP(); err != nil {
				return err
			}
			items, err := p.StatusAtts()
			if err != nil {
				return err
			}
			o.ReturnStatus = items
		default:
			return syntaxf("unknown LIST return option %s", wireWord(a))
		}
		return nil
	})
}

// StatusAtts reads "(" status-att *(SP status-att) ")" (RFC 3501
// §6.3.10; DELETED and SIZE from RFC 9051 §6.3.11 and RFC 8438,
// APPENDLIMIT from RFC 7889 §4). Each item
// is kept once, upper-cased, in the order given.
func (p *Parser) StatusAtts() ([]string, error) {
	var items []string
	err := p.List(false, func() error {
		a, err := p.Atom()
		if err != nil {
			return err
		}
		a = strings.ToUpper(a)
		switch a {
		case "MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "DELETED", "SIZE", "APPENDLIMIT":
		default:
			return syntaxf("unknown STATUS item %s", wireWord(a))
		}
		for _, have := range items {
			if have == a {
				return nil
			}
		}
		items = append(items, a)
		return nil
	})
	return items, err
}

// CreateParams reads the optional parameters of CREATE (RFC 4466 §2.2):
// SP "(" param *(SP param) ")", of which Postern knows USE (RFC 6154 §3),
// whose attributes it returns. Other parameters are refused.
func (p *Parser) CreateParams() (use []string, err error) {
	if p.AtEOL() {
		return nil, nil
	}
	if err := p.SP(); err != nil {
		return nil, err
	}
	err = p.List(false, func() error {
		a, err := p.Atom()
		if err != nil {
			return err
		}
		if !strings.EqualFold(a, "USE") {
			return syntaxf("unknown CREATE parameter %s", wireWord(a))
		}
		if use != nil {
			return syntaxf("USE given twice")
		}
		if err := p.SP(); err != nil {
			return err
		}
		use = []string{}
		return p.List(false, func() error {
			if len(use) >= maxListOpts {
				return syntaxf("too many special-use attributes")
			}
			if err := p.Expect('\\', "a special-use attribute"); err != nil {
				return err
			}
			a, err := p.Atom()
			if err != nil {
				return err
			}
			use = append(use, `\`+a)
			return nil
		})
	})
	return use, err
}
