package sieve

// argType is the type of a positional argument or of a tag's parameter
// (RFC 5228 §2.6.4).
type argType uint8

const (
	aString     argType = iota // exactly one string
	aStringList                // a string list; a single string is a list of one (RFC 5228 §2.4.2.1)
	aNumber
)

func (t argType) String() string {
	switch t {
	case aString:
		return "a string"
	case aStringList:
		return "a string list"
	}
	return "a number"
}

func (t argType) accepts(k ArgKind) bool {
	switch t {
	case aString:
		return k == ArgString
	case aStringList:
		return k == ArgString || k == ArgList
	}
	return k == ArgNumber
}

// tagDef is a tagged argument a command accepts (RFC 5228 §2.6.2).
type tagDef struct {
	name   string
	group  string    // tags of one group exclude each other; "" is a group of its own
	params []argType // the values that follow the tag
	ext    string    // the capability the tag needs, "" for none
}

// The tag groups shared by many tests.
var (
	comparatorTag = tagDef{name: "comparator", group: "comparator", params: []argType{aString}}
	matchTags     = []tagDef{
		{name: "is", group: "match"},
		{name: "contains", group: "match"},
		{name: "matches", group: "match"},
		{name: "count", group: "match", params: []argType{aString}, ext: "relational"}, // RFC 5231 §3
		{name: "value", group: "match", params: []argType{aString}, ext: "relational"}, // RFC 5231 §3
	}
	addressPartTags = []tagDef{
		{name: "all", group: "addrpart"},
		{name: "localpart", group: "addrpart"},
		{name: "domain", group: "addrpart"},
		{name: "user", group: "addrpart", ext: "subaddress"},   // RFC 5233 §4
		{name: "detail", group: "addrpart", ext: "subaddress"}, // RFC 5233 §4
	}
	indexTags = []tagDef{ // RFC 5260 §6
		{name: "index", params: []argType{aNumber}, ext: "index"},
		{name: "last", ext: "index"},
	}
)

func tags(groups ...[]tagDef) []tagDef {
	var out []tagDef
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}

// argSpec describes the arguments of a command or test.
type argSpec struct {
	tags []tagDef
	// positional lists the positional arguments; when minPositional is
	// smaller than len(positional), the first ones may be left out (the
	// optional variable name of the imap4flags commands).
	positional    []argType
	minPositional int
}

// taggedValue is a tag as given, with its parameters.
type taggedValue struct {
	pos    Pos
	params []Arg
}

// args is a command's arguments sorted by the spec.
type args struct {
	tags       map[string]taggedValue
	positional []Arg
}

func (a *args) has(tag string) bool {
	_, ok := a.tags[tag]
	return ok
}

// matchArgs checks c's arguments against spec and the required
// capabilities: unknown tags, tags without their capability, repeated or
// conflicting tags, tags after positional arguments, and the number and
// types of positional arguments (RFC 5228 §2.6).
func (ck *checker) matchArgs(c *Command, what string, spec argSpec) (*args, *Error) {
	out := &args{tags: map[string]taggedValue{}}
	groups := map[string]string{}
	i := 0
	for i < len(c.Args) {
		a := c.Args[i]
		if a.Kind != ArgTag {
			out.positional = append(out.positional, a)
			i++
			continue
		}
		if len(out.positional) > 0 {
			return nil, errorf(a.Pos, "%s %q: tagged argument :%s after a positional argument", what, c.Name, a.Tag)
		}
		var def *tagDef
		for j := range spec.tags {
			if spec.tags[j].name == a.Tag {
				def = &spec.tags[j]
				break
			}
		}
		if def == nil || (def.ext != "" && !ck.has(def.ext)) {
			if def != nil {
				return nil, errorf(a.Pos, "%s %q: tag :%s needs require %q", what, c.Name, a.Tag, def.ext)
			}
			return nil, errorf(a.Pos, "%s %q has no tagged argument :%s", what, c.Name, a.Tag)
		}
		if _, dup := out.tags[a.Tag]; dup {
			return nil, errorf(a.Pos, "%s %q: tag :%s given twice", what, c.Name, a.Tag)
		}
		if def.group != "" {
			if other, ok := groups[def.group]; ok {
				return nil, errorf(a.Pos, "%s %q: tags :%s and :%s cannot be used together", what, c.Name, other, a.Tag)
			}
			groups[def.group] = a.Tag
		}
		i++
		tv := taggedValue{pos: a.Pos}
		for _, pt := range def.params {
			if i >= len(c.Args) || !pt.accepts(c.Args[i].Kind) {
				found := "nothing"
				if i < len(c.Args) {
					found = c.Args[i].Kind.String()
				}
				return nil, errorf(a.Pos, "%s %q: tag :%s must be followed by %s, found %s", what, c.Name, a.Tag, pt, found)
			}
			tv.params = append(tv.params, c.Args[i])
			i++
		}
		out.tags[a.Tag] = tv
	}
	n, max := len(out.positional), len(spec.positional)
	if n < spec.minPositional || n > max {
		want := plural(max, "argument")
		if spec.minPositional < max {
			want = plural(spec.minPositional, "") + "or " + plural(max, "argument")
		}
		return nil, errorf(c.Pos, "%s %q takes %s, found %d", what, c.Name, want, n)
	}
	types := spec.positional[max-n:]
	for j, a := range out.positional {
		if !types[j].accepts(a.Kind) {
			return nil, errorf(a.Pos, "%s %q: argument %d must be %s, found %s", what, c.Name, j+1, types[j], a.Kind)
		}
	}
	return out, nil
}

func plural(n int, noun string) string {
	if noun == "" {
		return itoa(n) + " "
	}
	if n == 1 {
		return "1 " + noun
	}
	return itoa(n) + " " + noun + "s"
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	neg := n < 0
	if neg {
		n = -n
	}
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

// noTests checks that c has no test or block it has no use for.
func noTests(c *Command, what string) *Error {
	if len(c.Tests) > 0 {
		return errorf(c.Tests[0].Pos, "%s %q takes no test", what, c.Name)
	}
	if c.HasBlock {
		return errorf(c.Pos, "%s %q takes no block", what, c.Name)
	}
	return nil
}

// lowerASCII lower-cases ASCII letters only, as i;ascii-casemap does
// (RFC 4790 §9.2.1); it returns s itself when there is nothing to change.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; c >= 'A' && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
