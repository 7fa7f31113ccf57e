package wire

import (
	"strings"

	"github.com/emersion/go-imap/v2"
)

// FetchRequest is what a FETCH asks for. imap.FetchOptions carries most
// of it; the RFC822 forms and the non-extended BODY are kept apart because
// their responses are named differently (RFC 3501 §7.4.2).
type FetchRequest struct {
	imap.FetchOptions
	Body         bool // BODY (non-extensible BODYSTRUCTURE)
	RFC822       bool // RFC822 = BODY[], sets \Seen
	RFC822Header bool // RFC822.HEADER = BODY.PEEK[HEADER]
	RFC822Text   bool // RFC822.TEXT = BODY[TEXT], sets \Seen
}

// Limits of one FETCH. Each body section of each message is read and
// sent, a HEADER.FIELDS section filtered by each of its names; clients ask
// for a few sections of a dozen or two names (Thunderbird's list of
// header fields, a part or two of a message), far below these caps.
const (
	// maxFetchItems bounds the number of items in one FETCH.
	maxFetchItems = 100
	// MaxFetchSections bounds the BODY[section] items of one FETCH.
	MaxFetchSections = 100
	// MaxHeaderFieldNames bounds the names of all HEADER.FIELDS and
	// HEADER.FIELDS.NOT sections of one FETCH together.
	MaxHeaderFieldNames = 1000
)

// FetchItems reads the item list of FETCH (RFC 3501 §6.4.5, §9 fetch).
func (p *Parser) FetchItems() (*FetchRequest, error) {
	req := &FetchRequest{}
	f := fetchParser{p: p, req: req}
	b, err := p.Peek()
	if err != nil {
		return nil, err
	}
	if b == '(' {
		n := 0
		err := p.List(false, func() error {
			n++
			if n > maxFetchItems {
				return limitf("Too many FETCH items (at most %d)", maxFetchItems)
			}
			return f.att(false)
		})
		return req, err
	}
	return req, f.att(true)
}

// fetchParser reads the items of one FETCH and counts what is bounded
// per command.
type fetchParser struct {
	p     *Parser
	req   *FetchRequest
	names int // HEADER.FIELDS names so far
}

func isFetchNameChar(b byte) bool {
	return (b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z') || (b >= '0' && b <= '9') || b == '.'
}

func (f *fetchParser) att(macros bool) error {
	p, req := f.p, f.req
	name, err := p.readWhile(isFetchNameChar, "a FETCH item")
	if err != nil {
		return err
	}
	name = strings.ToUpper(name)
	o := &req.FetchOptions
	switch name {
	case "ALL", "FAST", "FULL":
		if !macros {
			return syntaxf("the %s macro cannot be used in a list", name)
		}
		// RFC 3501 §6.4.5: the macros.
		o.Flags, o.InternalDate, o.RFC822Size = true, true, true
		if name != "FAST" {
			o.Envelope = true
		}
		if name == "FULL" {
			req.Body = true
		}
	case "ENVELOPE":
		o.Envelope = true
	case "FLAGS":
		o.Flags = true
	case "INTERNALDATE":
		o.InternalDate = true
	case "RFC822.SIZE":
		o.RFC822Size = true
	case "UID":
		o.UID = true
	case "RFC822":
		req.RFC822 = true
	case "RFC822.HEADER":
		req.RFC822Header = true
	case "RFC822.TEXT":
		req.RFC822Text = true
	case "BODYSTRUCTURE":
		o.BodyStructure = &imap.FetchItemBodyStructure{Extended: true}
	case "BODY", "BODY.PEEK":
		b, err := p.Peek()
		if err != nil {
			return err
		}
		if b != '[' {
			if name == "BODY.PEEK" {
				return syntaxf("BODY.PEEK needs a section")
			}
			req.Body = true
			return nil
		}
		if len(o.BodySection)+len(o.BinarySection)+len(o.BinarySectionSize) >= MaxFetchSections {
			return limitf("Too many body sections in one FETCH (at most %d)", MaxFetchSections)
		}
		sec, err := f.section()
		if err != nil {
			return err
		}
		sec.Peek = name == "BODY.PEEK"
		o.BodySection = append(o.BodySection, sec)
	case "BINARY", "BINARY.PEEK", "BINARY.SIZE":
		// RFC 3516 §4.2 (RFC 9051 §6.4.5).
		if len(o.BodySection)+len(o.BinarySection)+len(o.BinarySectionSize) >= MaxFetchSections {
			return limitf("Too many body sections in one FETCH (at most %d)", MaxFetchSections)
		}
		part, err := f.binaryPart()
		if err != nil {
			return err
		}
		if name == "BINARY.SIZE" {
			o.BinarySectionSize = append(o.BinarySectionSize, &imap.FetchItemBinarySectionSize{Part: part})
			return nil
		}
		partial, err := f.partial()
		if err != nil {
			return err
		}
		o.BinarySection = append(o.BinarySection, &imap.FetchItemBinarySection{Part: part, Partial: partial, Peek: name == "BINARY.PEEK"})
	default:
		return syntaxf("unknown FETCH item %q", name)
	}
	return nil
}

// maxSectionDepth bounds a part path like 1.2.3.
const maxSectionDepth = 64

// section reads "[" section-spec "]" ["<" offset "." size ">"].
func (f *fetchParser) section() (*imap.FetchItemBodySection, error) {
	p := f.p
	if err := p.Expect('[', "'['"); err != nil {
		return nil, err
	}
	sec := &imap.FetchItemBodySection{}
	for {
		b, err := p.Peek()
		if err != nil {
			return nil, err
		}
		if b == ']' {
			break
		}
		if b >= '0' && b <= '9' {
			if sec.Specifier != "" {
				return nil, syntaxf("part number after a section text")
			}
			n, err := p.Number()
			if err != nil || n == 0 || n > 1<<20 {
				return nil, syntaxf("bad section part number")
			}
			if len(sec.Part) >= maxSectionDepth {
				return nil, syntaxf("section part path too deep")
			}
			sec.Part = append(sec.Part, int(n))
			if b, err := p.Peek(); err != nil {
				return nil, err
			} else if b == '.' {
				p.R.ReadByte()
				continue
			} else if b != ']' {
				return nil, syntaxf("bad section")
			}
			continue
		}
		word, err := p.readWhile(func(b byte) bool {
			return (b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z') || b == '.'
		}, "a section")
		if err != nil {
			return nil, err
		}
		word = strings.ToUpper(word)
		switch word {
		case "HEADER":
			sec.Specifier = imap.PartSpecifierHeader
		case "TEXT":
			sec.Specifier = imap.PartSpecifierText
		case "MIME":
			if len(sec.Part) == 0 {
				return nil, syntaxf("MIME needs a part number")
			}
			sec.Specifier = imap.PartSpecifierMIME
		case "HEADER.FIELDS", "HEADER.FIELDS.NOT":
			sec.Specifier = imap.PartSpecifierHeader
			if err := p.SP(); err != nil {
				return nil, err
			}
			var fields []string
			if err := p.List(false, func() error {
				if f.names++; f.names > MaxHeaderFieldNames {
					return limitf("Too many header field names in one FETCH (at most %d)", MaxHeaderFieldNames)
				}
				name, err := p.AString()
				fields = append(fields, name)
				return err
			}); err != nil {
				return nil, err
			}
			if word == "HEADER.FIELDS" {
				sec.HeaderFields = fields
			} else {
				sec.HeaderFieldsNot = fields
			}
		default:
			return nil, syntaxf("unknown section %q", word)
		}
		if b, err := p.Peek(); err != nil {
			return nil, err
		} else if b != ']' {
			return nil, syntaxf("expected ']'")
		}
	}
	p.R.ReadByte() // ']'
	partial, err := f.partial()
	sec.Partial = partial
	return sec, err
}

// partial reads an optional "<" offset "." size ">".
func (f *fetchParser) partial() (*imap.SectionPartial, error) {
	p := f.p
	if b, err := p.Peek(); err != nil || b != '<' {
		return nil, nil
	}
	p.R.ReadByte()
	off, err := p.Number()
	if err != nil {
		return nil, err
	}
	if err := p.Expect('.', "'.' in a partial range"); err != nil {
		return nil, err
	}
	size, err := p.Number()
	if err != nil {
		return nil, err
	}
	if size == 0 {
		return nil, syntaxf("partial size must be > 0")
	}
	if err := p.Expect('>', "'>'"); err != nil {
		return nil, err
	}
	return &imap.SectionPartial{Offset: int64(off), Size: int64(size)}, nil
}

// binaryPart reads "[" [section-part] "]" of BINARY (RFC 3516 §4.2):
// part numbers only.
func (f *fetchParser) binaryPart() ([]int, error) {
	p := f.p
	if err := p.Expect('[', "'[' after BINARY"); err != nil {
		return nil, err
	}
	var part []int
	for {
		b, err := p.Peek()
		if err != nil {
			return nil, err
		}
		if b == ']' {
			p.R.ReadByte()
			return part, nil
		}
		if len(part) > 0 {
			if err := p.Expect('.', "'.' or ']' in a BINARY section"); err != nil {
				return nil, err
			}
		}
		n, err := p.Number()
		if err != nil || n == 0 || n > 1<<20 {
			return nil, syntaxf("bad BINARY section part number")
		}
		if len(part) >= maxSectionDepth {
			return nil, syntaxf("section part path too deep")
		}
		part = append(part, int(n))
	}
}
