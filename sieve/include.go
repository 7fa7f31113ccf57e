package sieve

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// The include extension (RFC 6609): include, return and global.

// MaxScriptNameLength caps a script name in octets.
const MaxScriptNameLength = 255

// ValidScriptName reports whether name may name a script: not empty, UTF-8,
// without the characters RFC 5804 §1.6 forbids (controls, U+2028, U+2029),
// and without "/", so that a name can never reach outside the user's
// scripts.
func ValidScriptName(name string) bool {
	if name == "" || len(name) > MaxScriptNameLength || !utf8.ValidString(name) {
		return false
	}
	for _, c := range name {
		if c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x2028 || c == 0x2029 || c == '/' {
			return false
		}
	}
	return true
}

type includeState struct {
	count int
	stack []string
	done  map[string]bool
	cache map[string]*Script
}

// includeStmt is include (RFC 6609 §3.2). The script name is taken as
// written: variables are not expanded in it, so that every script a
// script can include is known from its text.
type includeStmt struct {
	pos      Pos
	loc      Location
	name     string
	once     bool
	optional bool
}

func compileInclude(ck *checker, c *Command, a *args) (stmt, *Error) {
	s := &includeStmt{pos: c.Pos, once: a.has("once"), optional: a.has("optional")}
	if a.has("global") {
		s.loc = Global
	}
	arg := a.positional[0].Strings[0]
	if !ValidScriptName(arg.Value) {
		return nil, errorf(arg.Pos, "include: %s is not a script name", quote(arg.Value))
	}
	s.name = arg.Value
	return s, nil
}

func (s *includeStmt) label() string {
	if s.loc == Global {
		return "global script " + quote(s.name)
	}
	return "personal script " + quote(s.name)
}

func (s *includeStmt) exec(r *run) error {
	st := &r.includes
	key := s.label()
	if s.once && st.done[key] {
		return nil
	}
	for _, k := range st.stack {
		if k == key {
			return r.errorf(s.pos, "include: %s includes itself (%s -> %s)", key, strings.Join(st.stack, " -> "), key)
		}
	}
	if len(st.stack) >= r.opts.MaxIncludeDepth {
		return r.errorf(s.pos, "include: includes nested more than %d deep", r.opts.MaxIncludeDepth)
	}
	if st.count++; st.count > r.opts.MaxIncludes {
		return r.errorf(s.pos, "include: more than %d includes for one message", r.opts.MaxIncludes)
	}
	script := st.cache[key]
	if script == nil {
		if r.host.Scripts == nil {
			if s.optional {
				return nil
			}
			return r.errorf(s.pos, "include: %s: scripts cannot be included here", key)
		}
		src, err := r.host.Scripts.LoadScript(r.ctx, s.loc, s.name)
		if errors.Is(err, ErrNoScript) {
			if s.optional {
				return nil // RFC 6609 §3.2: a missing optional script is no error
			}
			return r.errorf(s.pos, "include: %s does not exist", key)
		}
		if err != nil {
			return r.errorf(s.pos, "include: %s: %v", key, err)
		}
		if err := r.step(len(src)/64 + 1); err != nil {
			return err
		}
		compiled, cerr := compile(src, key, r.opts)
		if cerr != nil {
			return cerr
		}
		script = compiled
		if st.cache == nil {
			st.cache = map[string]*Script{}
		}
		st.cache[key] = script
	}
	if st.done == nil {
		st.done = map[string]bool{}
	}
	st.done[key] = true
	if script.requiresAny("imap4flags") {
		r.useFlags = true
	}
	st.stack = append(st.stack, key)
	err := r.runScript(script)
	st.stack = st.stack[:len(st.stack)-1]
	if errors.Is(err, errReturn) {
		return nil
	}
	return err
}

// returnStmt is return (RFC 6609 §3.3): it ends the current script; in
// the main script it is stop.
type returnStmt struct{}

func (returnStmt) exec(*run) error { return errReturn }

// globalStmt is global (RFC 6609 §3.3): it makes the names refer to the
// global variables in the rest of the script. It does nothing when run.
type globalStmt struct{}

func (globalStmt) exec(*run) error { return nil }

func compileGlobal(ck *checker, _ *Command, a *args) (stmt, *Error) {
	for _, s := range a.positional[0].Strings {
		if !isIdentifier(s.Value) {
			return nil, errorf(s.Pos, "global: %s is not a variable name", quote(s.Value))
		}
		ck.globals[strings.ToLower(s.Value)] = true
	}
	return globalStmt{}, nil
}

func init() {
	commands["include"] = commandDef{ext: "include", fn: compileInclude, spec: argSpec{
		tags: []tagDef{
			{name: "personal", group: "location"}, {name: "global", group: "location"},
			{name: "once"}, {name: "optional"},
		},
		positional: []argType{aString}, minPositional: 1,
	}}
	commands["return"] = commandDef{ext: "include", fn: func(*checker, *Command, *args) (stmt, *Error) { return returnStmt{}, nil }}
	commands["global"] = commandDef{ext: "include", fn: func(ck *checker, c *Command, a *args) (stmt, *Error) {
		if !ck.has("variables") {
			return nil, errorf(c.Pos, "global needs require \"variables\" (RFC 6609 §3.3)")
		}
		return compileGlobal(ck, c, a)
	}, spec: argSpec{positional: []argType{aStringList}, minPositional: 1}}
}
