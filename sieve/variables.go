package sieve

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// scope holds the variables of one script (RFC 5229 §3; each included
// script has its own, RFC 6609 §3.3).
type scope struct {
	vars  map[string]string
	match [10]string
}

// expand returns the value of s with its variables expanded (RFC 5229
// §3): an unset variable expands to the empty string.
func (r *run) expand(s *str) (string, error) {
	if s.parts == nil {
		return s.lit, nil
	}
	var b strings.Builder
	for _, p := range s.parts {
		if p.ref == nil {
			b.WriteString(p.lit)
		} else {
			b.WriteString(r.lookup(p.ref))
		}
		if b.Len() > r.opts.MaxExpansion {
			return "", r.errorf(s.pos, "string is longer than %d octets once its variables are expanded", r.opts.MaxExpansion)
		}
	}
	if err := r.stepBytes(b.Len()); err != nil {
		return "", err
	}
	return b.String(), nil
}

func (r *run) lookup(ref *varRef) string {
	switch {
	case ref.num >= 0:
		if ref.num < len(r.scope.match) {
			return r.scope.match[ref.num]
		}
		return ""
	case ref.global:
		return r.globals[ref.name]
	}
	return r.scope.vars[ref.name]
}

// expandList expands every string of a list.
func (r *run) expandList(l strList) ([]string, error) {
	out := make([]string, len(l))
	for i := range l {
		var err error
		if out[i], err = r.expand(&l[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// setMatchVars stores the match variables of a successful :matches.
func (r *run) setMatchVars(caps []string) {
	for i := range r.scope.match {
		r.scope.match[i] = ""
		if i < len(caps) {
			r.scope.match[i] = r.truncate(caps[i])
		}
	}
}

// truncate cuts a variable value to MaxVariableSize octets at a character
// boundary (RFC 5229 §6).
func (r *run) truncate(v string) string {
	max := r.opts.MaxVariableSize
	if len(v) <= max {
		return v
	}
	v = v[:max]
	for i := len(v) - 1; i >= 0 && i >= len(v)-utf8.UTFMax; i-- {
		if utf8.RuneStart(v[i]) {
			if !utf8.ValidString(v[i:]) {
				v = v[:i]
			}
			break
		}
	}
	return v
}

// setVar assigns a variable, local or global.
func (r *run) setVar(p Pos, name string, global bool, value string) error {
	m := r.scope.vars
	if global {
		m = r.globals
	}
	if m == nil {
		m = map[string]string{}
		r.scope.vars = m
	}
	if _, ok := m[name]; !ok && len(m) >= r.opts.MaxVariables {
		return r.errorf(p, "more than %d variables", r.opts.MaxVariables)
	}
	m[name] = r.truncate(value)
	return nil
}

// setStmt is "set" (RFC 5229 §4).
type setStmt struct {
	pos    Pos
	name   string
	global bool
	value  str
	mods   []string // modifiers in the order they apply
}

// modifierPrecedence orders the modifiers of RFC 5229 §4.1: higher first.
var modifierPrecedence = map[string]int{
	"lower": 40, "upper": 40, "lowerfirst": 30, "upperfirst": 30, "quotewildcard": 20, "length": 10,
}

func compileSet(ck *checker, c *Command, a *args) (stmt, *Error) {
	nameArg := a.positional[0].Strings[0]
	name := nameArg.Value
	st := &setStmt{pos: c.Pos}
	parts := strings.Split(name, ".")
	switch {
	case len(parts) == 1 && isIdentifier(name):
		st.name = strings.ToLower(name)
		st.global = ck.globals[st.name]
	case len(parts) == 2 && strings.EqualFold(parts[0], "global") && ck.has("include") && isIdentifier(parts[1]):
		st.name, st.global = strings.ToLower(parts[1]), true
	default:
		return nil, errorf(nameArg.Pos, "set: %s is not a variable name one may set (RFC 5229 §4)", quote(name))
	}
	var err *Error
	if st.value, err = ck.compileString(a.positional[1].Strings[0]); err != nil {
		return nil, err
	}
	for m := range modifierPrecedence {
		if a.has(m) {
			st.mods = append(st.mods, m)
		}
	}
	// Apply in order of precedence, highest first; ties are excluded by
	// the tag groups.
	for i := 1; i < len(st.mods); i++ {
		for j := i; j > 0 && modifierPrecedence[st.mods[j]] > modifierPrecedence[st.mods[j-1]]; j-- {
			st.mods[j], st.mods[j-1] = st.mods[j-1], st.mods[j]
		}
	}
	return st, nil
}

func (s *setStmt) exec(r *run) error {
	v, err := r.expand(&s.value)
	if err != nil {
		return err
	}
	for _, m := range s.mods {
		v = applyModifier(m, v)
	}
	return r.setVar(s.pos, s.name, s.global, v)
}

// applyModifier applies one modifier of RFC 5229 §4.1.
func applyModifier(m, v string) string {
	switch m {
	case "lower":
		return strings.ToLower(v)
	case "upper":
		return strings.ToUpper(v)
	case "lowerfirst", "upperfirst":
		r, n := utf8.DecodeRuneInString(v)
		if n == 0 {
			return v
		}
		if m == "lowerfirst" {
			r = unicode.ToLower(r)
		} else {
			r = unicode.ToUpper(r)
		}
		return string(r) + v[n:]
	case "quotewildcard":
		var b strings.Builder
		for i := 0; i < len(v); i++ {
			if c := v[i]; c == '*' || c == '?' || c == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(v[i])
		}
		return b.String()
	case "length":
		return strconv.Itoa(utf8.RuneCountInString(v))
	}
	return v
}

// stringTest is "string" (RFC 5229 §5).
type stringTest struct {
	source strList
	m      *matcher
}

func compileStringTest(ck *checker, c *Command, a *args) (cond, *Error) {
	src, err := ck.compileList(a.positional[0])
	if err != nil {
		return nil, err
	}
	m, err := ck.compileMatcher(a, a.positional[1])
	if err != nil {
		return nil, err
	}
	return &stringTest{source: src, m: m}, nil
}

func (t *stringTest) eval(r *run) (bool, error) {
	vals, err := r.expandList(t.source)
	if err != nil {
		return false, err
	}
	if t.m.kind == mCount {
		// The count of a string is 0 when it is empty, else 1 (RFC 5229 §5).
		n := 0
		for _, v := range vals {
			if v != "" {
				n++
			}
		}
		return r.matchCount(t.m, n)
	}
	return r.match(t.m, vals)
}

func init() {
	commands["set"] = commandDef{ext: "variables", fn: compileSet, spec: argSpec{
		tags: []tagDef{
			{name: "lower", group: "case"}, {name: "upper", group: "case"},
			{name: "lowerfirst", group: "first"}, {name: "upperfirst", group: "first"},
			{name: "quotewildcard"}, {name: "length"},
		},
		positional: []argType{aString, aString}, minPositional: 2,
	}}
	tests["string"] = testDef{ext: "variables", fn: compileStringTest, spec: argSpec{
		tags:       tags([]tagDef{comparatorTag}, matchTags),
		positional: []argType{aStringList, aStringList}, minPositional: 2,
	}}
}
