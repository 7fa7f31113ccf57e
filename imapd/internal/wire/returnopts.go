package wire

import "strings"

// SearchReturn is the RETURN part of an extended SEARCH (RFC 4466 §2.6,
// RFC 4731 §3.1): what the ESEARCH response carries. A SEARCH without
// RETURN has a nil *SearchReturn.
type SearchReturn struct {
	Min, Max, All, Count bool // RFC 4731 §3.1
	Save                 bool // RFC 5182 §2.4
	Update, Context      bool // RFC 5267 §4.2, §4.3
	// Partial is the range of result positions asked for (RFC 5267 §4.4),
	// low first; nil when not asked for.
	Partial *[2]uint32
}

// maxReturnOpts bounds the options of one RETURN list: there are seven
// kinds, each allowed once.
const maxReturnOpts = 8

// SearchReturnOpts reads "RETURN (" [option *(SP option)] ")" SP if the
// command continues with it, and returns nil otherwise. An empty list
// means ALL (RFC 4731 §3.1). Unknown options, repeated ones, and ALL with
// PARTIAL (RFC 5267 §4.4) are syntax errors.
func (p *Parser) SearchReturnOpts() (*SearchReturn, error) {
	ok, err := p.peekWord("RETURN ")
	if err != nil || !ok {
		return nil, err
	}
	ret := &SearchReturn{}
	seen := map[string]bool{}
	err = p.List(true, func() error {
		name, err := p.Atom()
		if err != nil {
			return syntaxf("expected a SEARCH return option")
		}
		name = strings.ToUpper(name)
		if seen[name] {
			return syntaxf("SEARCH return option %s given twice", wireWord(name))
		}
		seen[name] = true
		if len(seen) > maxReturnOpts {
			return syntaxf("too many SEARCH return options")
		}
		switch name {
		case "MIN":
			ret.Min = true
		case "MAX":
			ret.Max = true
		case "ALL":
			ret.All = true
		case "COUNT":
			ret.Count = true
		case "SAVE":
			ret.Save = true
		case "UPDATE":
			ret.Update = true
		case "CONTEXT":
			ret.Context = true
		case "PARTIAL":
			if err := p.SP(); err != nil {
				return err
			}
			lo, hi, err := p.partialRange()
			if err != nil {
				return err
			}
			ret.Partial = &[2]uint32{lo, hi}
		default:
			return syntaxf("unknown SEARCH return option %s", wireWord(name))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if ret.All && ret.Partial != nil {
		return nil, syntaxf("ALL and PARTIAL cannot both be asked for")
	}
	if !ret.Min && !ret.Max && !ret.Count && !ret.Save && !ret.Update && !ret.Context && ret.Partial == nil {
		ret.All = true // RETURN () is RETURN (ALL)
	}
	return ret, p.SP()
}

// partialRange reads nz-number ":" nz-number; 500:400 is 400:500
// (RFC 5267 §5).
func (p *Parser) partialRange() (lo, hi uint32, err error) {
	if lo, err = p.Number(); err != nil {
		return 0, 0, err
	}
	if err = p.Expect(':', "':' in a PARTIAL range"); err != nil {
		return 0, 0, err
	}
	if hi, err = p.Number(); err != nil {
		return 0, 0, err
	}
	if lo == 0 || hi == 0 {
		return 0, 0, syntaxf("PARTIAL range positions start at 1")
	}
	if lo > hi {
		lo, hi = hi, lo
	}
	return lo, hi, nil
}

// wireWord keeps a client's word short and printable for an error text.
func wireWord(s string) string {
	if len(s) > 32 {
		s = s[:32]
	}
	return s
}

// QuotedList reads 1*(SP quoted) to the end of the command: the tags of
// CANCELUPDATE (RFC 5267 §5).
func (p *Parser) QuotedList(max int) ([]string, error) {
	var out []string
	for !p.AtEOL() {
		if err := p.SP(); err != nil {
			return nil, err
		}
		s, err := p.Quoted()
		if err != nil {
			return nil, err
		}
		if len(out) >= max {
			return nil, limitf("Too many arguments (at most %d)", max)
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, syntaxf("expected a quoted tag")
	}
	return out, nil
}
