package sieve

import (
	"strings"
)

// The imap4flags extension (RFC 5232): setflag, addflag and removeflag
// change a flag variable, the internal one when no variable is named;
// hasflag tests one; keep and fileinto take :flags or the internal
// variable's value.

// flagArg is the :flags argument of keep and fileinto.
type flagArg struct{ list strList }

func (ck *checker) compileFlagsTag(a *args) (*flagArg, *Error) {
	tv, ok := a.tags["flags"]
	if !ok {
		return nil, nil
	}
	l, err := ck.compileList(tv.params[0])
	return &flagArg{l}, err
}

// actionFlags returns the flags of a keep or fileinto: :flags when given,
// else the internal variable (RFC 5232 §3); nil without imap4flags.
func (r *run) actionFlags(f *flagArg) ([]string, error) {
	if !r.useFlags {
		return nil, nil
	}
	if f == nil {
		return append([]string{}, r.flags...), nil
	}
	vals, err := r.expandList(f.list)
	if err != nil {
		return nil, err
	}
	return parseFlags(vals), nil
}

// systemFlags are the IMAP system flags a message may be stored with, in
// their usual spelling (RFC 3501 §2.3.2); \Recent is the server's own.
var systemFlags = map[string]string{
	`\seen`: `\Seen`, `\answered`: `\Answered`, `\flagged`: `\Flagged`, `\deleted`: `\Deleted`, `\draft`: `\Draft`,
}

// parseFlags splits flag strings at spaces and keeps each valid flag once
// (RFC 5232 §3: flags compare case-insensitively and a list has no
// repeats). A flag that is no IMAP flag (RFC 3501 §9 flag-keyword is an
// atom) is left out.
func parseFlags(vals []string) []string {
	out := []string{}
	for _, v := range vals {
		for _, f := range strings.Fields(v) {
			if strings.HasPrefix(f, `\`) {
				sys, ok := systemFlags[strings.ToLower(f)]
				if !ok {
					continue
				}
				f = sys
			} else if !isAtom(f) {
				continue
			}
			if !containsFold(out, f) {
				out = append(out, f)
			}
		}
	}
	return out
}

// isAtom reports whether s is an IMAP atom (RFC 3501 §9).
func isAtom(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`(){%*"\]`, c) >= 0 {
			return false
		}
	}
	return true
}

// flagStmt is setflag, addflag or removeflag (RFC 5232 §3.1-3.3).
type flagStmt struct {
	pos    Pos
	op     string
	varRef *str // the variable name; nil for the internal variable
	flags  strList
}

func compileFlagCmd(ck *checker, c *Command, a *args) (stmt, *Error) {
	s := &flagStmt{pos: c.Pos, op: c.Name}
	pos := a.positional
	if len(pos) == 2 {
		name, err := ck.compileString(pos[0].Strings[0])
		if err != nil {
			return nil, err
		}
		if name.constant() && !isIdentifier(name.lit) {
			return nil, errorf(name.pos, "%s: %s is not a variable name", c.Name, quote(name.lit))
		}
		s.varRef = &name
		pos = pos[1:]
	}
	var err *Error
	s.flags, err = ck.compileList(pos[0])
	return s, err
}

func (s *flagStmt) exec(r *run) error {
	vals, err := r.expandList(s.flags)
	if err != nil {
		return err
	}
	given := parseFlags(vals)
	var cur []string
	var name string
	if s.varRef == nil {
		cur = r.flags
	} else {
		if name, err = r.expand(s.varRef); err != nil {
			return err
		}
		if !isIdentifier(name) {
			return r.errorf(s.pos, "%s: %s is not a variable name", s.op, quote(name))
		}
		name = strings.ToLower(name)
		cur = parseFlags([]string{r.scope.vars[name]})
	}
	var next []string
	switch s.op {
	case "setflag":
		next = given
	case "addflag":
		next = mergeFlags(cur, given)
	case "removeflag":
		next = []string{}
		for _, f := range cur {
			if !containsFold(given, f) {
				next = append(next, f)
			}
		}
	}
	if s.varRef == nil {
		r.flags = next
		return nil
	}
	return r.setVar(s.pos, name, false, strings.Join(next, " "))
}

// hasflagTest is hasflag (RFC 5232 §4).
type hasflagTest struct {
	vars strList // nil: the internal variable
	m    *matcher
}

func compileHasflag(ck *checker, _ *Command, a *args) (cond, *Error) {
	t := &hasflagTest{}
	keys := a.positional[0]
	if len(a.positional) == 2 {
		var err *Error
		if t.vars, err = ck.compileList(a.positional[0]); err != nil {
			return nil, err
		}
		keys = a.positional[1]
	}
	var err *Error
	t.m, err = ck.compileMatcher(a, keys)
	return t, err
}

func (t *hasflagTest) eval(r *run) (bool, error) {
	var flags []string
	if t.vars == nil {
		flags = r.flags
	} else {
		names, err := r.expandList(t.vars)
		if err != nil {
			return false, err
		}
		for _, n := range names {
			flags = append(flags, parseFlags([]string{r.scope.vars[strings.ToLower(n)]})...)
		}
	}
	if t.m.kind == mCount {
		return r.matchCount(t.m, len(flags))
	}
	// The keys are flag lists too: "b A" is the keys "b" and "A" (RFC
	// 5232 §4).
	keys, err := r.expandKeys(t.m)
	if err != nil {
		return false, err
	}
	if keys == nil {
		keys = make([]string, len(t.m.keys))
		for i := range t.m.keys {
			keys[i] = t.m.keys[i].lit
		}
	}
	split := &matcher{kind: t.m.kind, rel: t.m.rel, cmp: t.m.cmp, vars: t.m.vars, consts: []string{}}
	for _, k := range keys {
		for _, f := range strings.Fields(k) {
			split.keys = append(split.keys, str{lit: f})
			split.consts = append(split.consts, f)
		}
	}
	if split.kind == mMatches {
		for _, k := range split.consts {
			split.globs = append(split.globs, compileGlob(k, split.cmp == cmpCasemap))
		}
	}
	return r.match(split, flags)
}

func init() {
	flagCmd := commandDef{ext: "imap4flags", fn: compileFlagCmd, spec: argSpec{
		positional: []argType{aString, aStringList}, minPositional: 1,
	}}
	commands["setflag"] = flagCmd
	commands["addflag"] = flagCmd
	commands["removeflag"] = flagCmd
	tests["hasflag"] = testDef{ext: "imap4flags", fn: compileHasflag, spec: argSpec{
		tags:       tags([]tagDef{comparatorTag}, matchTags),
		positional: []argType{aStringList, aStringList}, minPositional: 1,
	}}
}
