package sieve

import (
	"fmt"
	"slices"
)

// Script is a checked script, ready to run. It is immutable and safe for
// concurrent runs.
type Script struct {
	name     string
	body     []stmt
	opts     Options
	requires []string
}

// Requires returns the capabilities the script requires, in order.
func (s *Script) Requires() []string { return slices.Clone(s.requires) }

// Compile parses a script and checks it (RFC 5228 §2.10.6 compile-time
// errors): unknown commands, tests, tags and comparators; extensions used
// without require or not supported; arguments of the wrong number or type;
// tags that conflict; require after other commands; elsif or else without
// if; and the rules of each extension. The error is an *Error with the
// position of what is wrong. opts may be nil for the defaults.
func Compile(src []byte, opts *Options) (*Script, error) {
	o := opts.withDefaults()
	s, err := compile(src, "", &o)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// compile is Compile for a script called name ("" for the main one).
func compile(src []byte, name string, o *Options) (*Script, *Error) {
	if len(src) > o.MaxScriptSize {
		return nil, &Error{Pos: Pos{1, 1}, Script: name, Msg: fmt.Sprintf("script is %d octets, more than the limit of %d", len(src), o.MaxScriptSize)}
	}
	cmds, err := Parse(src, o.MaxNesting)
	if err != nil {
		e := err.(*Error)
		e.Script = name
		return nil, e
	}
	ck := &checker{opts: o, req: map[string]bool{}, globals: map[string]bool{}}
	body, cerr := ck.block(cmds, true)
	if cerr != nil {
		cerr.Script = name
		return nil, cerr
	}
	return &Script{name: name, body: body, opts: *o, requires: ck.requires}, nil
}

// checker turns parsed commands into runnable statements.
type checker struct {
	opts     *Options
	req      map[string]bool
	requires []string
	globals  map[string]bool // variables declared global so far (RFC 6609 §3.3)
	started  bool            // a command other than require was seen
}

func (ck *checker) has(ext string) bool { return ck.req[ext] }

// require enables capabilities (RFC 5228 §3.2). Some imply others:
// spamtestplus adds :percent to spamtest (RFC 5235 §3.2), vacation-seconds
// adds :seconds to vacation (RFC 6131 §2).
func (ck *checker) require(c *Command, top bool) *Error {
	if !top || ck.started {
		return errorf(c.Pos, "require must come before any other command, at the top level")
	}
	a, err := ck.matchArgs(c, "command", argSpec{positional: []argType{aStringList}, minPositional: 1})
	if err != nil {
		return err
	}
	if err := noTests(c, "command"); err != nil {
		return err
	}
	for _, s := range a.positional[0].Strings {
		ext := s.Value
		if !ck.opts.enabled(ext) {
			return errorf(s.Pos, "unsupported extension %s", quote(ext))
		}
		ck.req[ext] = true
		ck.requires = append(ck.requires, ext)
		switch ext {
		case "spamtestplus":
			ck.req["spamtest"] = true
		case "vacation-seconds":
			ck.req["vacation"] = true
		}
	}
	return nil
}

// block compiles the commands of one block (top: of the script itself).
func (ck *checker) block(cmds []*Command, top bool) ([]stmt, *Error) {
	var out []stmt
	var chain *ifStmt
	for _, c := range cmds {
		if c.Name == "require" {
			if err := ck.require(c, top); err != nil {
				return nil, err
			}
			continue
		}
		ck.started = true
		switch c.Name {
		case "if":
			test, body, err := ck.conditional(c)
			if err != nil {
				return nil, err
			}
			chain = &ifStmt{conds: []cond{test}, bodies: [][]stmt{body}}
			out = append(out, chain)
			continue
		case "elsif":
			if chain == nil || chain.elseBody != nil {
				return nil, errorf(c.Pos, "elsif must follow if or elsif (RFC 5228 §3.1)")
			}
			test, body, err := ck.conditional(c)
			if err != nil {
				return nil, err
			}
			chain.conds = append(chain.conds, test)
			chain.bodies = append(chain.bodies, body)
			continue
		case "else":
			if chain == nil || chain.elseBody != nil {
				return nil, errorf(c.Pos, "else must follow if or elsif (RFC 5228 §3.1)")
			}
			if len(c.Args) > 0 || len(c.Tests) > 0 {
				return nil, errorf(c.Pos, "else takes no arguments, only a block")
			}
			if !c.HasBlock {
				return nil, errorf(c.Pos, "else needs a block")
			}
			body, err := ck.block(c.Block, false)
			if err != nil {
				return nil, err
			}
			if body == nil {
				body = []stmt{}
			}
			chain.elseBody = body
			chain = nil
			continue
		}
		chain = nil
		s, err := ck.command(c)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// conditional compiles the test and block of if and elsif.
func (ck *checker) conditional(c *Command) (cond, []stmt, *Error) {
	if len(c.Args) > 0 {
		return nil, nil, errorf(c.Args[0].Pos, "%s takes a test and a block, not %s", c.Name, c.Args[0].Kind)
	}
	if len(c.Tests) != 1 || c.TestList {
		return nil, nil, errorf(c.Pos, "%s takes exactly one test", c.Name)
	}
	if !c.HasBlock {
		return nil, nil, errorf(c.Pos, "%s needs a block", c.Name)
	}
	test, err := ck.test(c.Tests[0])
	if err != nil {
		return nil, nil, err
	}
	body, err := ck.block(c.Block, false)
	return test, body, err
}

// command compiles an action or a control command other than if.
func (ck *checker) command(c *Command) (stmt, *Error) {
	compile, ok := commands[c.Name]
	if !ok {
		if _, isTest := tests[c.Name]; isTest {
			return nil, errorf(c.Pos, "%q is a test, not a command", c.Name)
		}
		return nil, errorf(c.Pos, "unknown command %q", c.Name)
	}
	if compile.ext != "" && !ck.has(compile.ext) {
		return nil, errorf(c.Pos, "command %q needs require %q", c.Name, compile.ext)
	}
	if err := noTests(c, "command"); err != nil {
		return nil, err
	}
	a, err := ck.matchArgs(c, "command", compile.spec)
	if err != nil {
		return nil, err
	}
	return compile.fn(ck, c, a)
}

// test compiles a test.
func (ck *checker) test(c *Command) (cond, *Error) {
	compile, ok := tests[c.Name]
	if !ok {
		if _, isCmd := commands[c.Name]; isCmd || c.Name == "if" || c.Name == "require" {
			return nil, errorf(c.Pos, "%q is a command, not a test", c.Name)
		}
		return nil, errorf(c.Pos, "unknown test %q", c.Name)
	}
	if compile.ext != "" && !ck.has(compile.ext) && !(compile.ext2 != "" && ck.has(compile.ext2)) {
		return nil, errorf(c.Pos, "test %q needs require %q", c.Name, compile.ext)
	}
	switch compile.tests {
	case 0:
		if len(c.Tests) > 0 {
			return nil, errorf(c.Tests[0].Pos, "test %q takes no test", c.Name)
		}
	case 1:
		if len(c.Tests) != 1 || c.TestList {
			return nil, errorf(c.Pos, "test %q takes exactly one test", c.Name)
		}
	case 2:
		if !c.TestList {
			return nil, errorf(c.Pos, "test %q takes a test list in parentheses", c.Name)
		}
	}
	a, err := ck.matchArgs(c, "test", compile.spec)
	if err != nil {
		return nil, err
	}
	return compile.fn(ck, c, a)
}

// commandDef and testDef tie a name to its arguments and compiler.
type commandDef struct {
	ext  string
	spec argSpec
	fn   func(*checker, *Command, *args) (stmt, *Error)
}

type testDef struct {
	ext, ext2 string // either capability enables the test
	tests     int    // 0: none, 1: one test, 2: a test list
	spec      argSpec
	fn        func(*checker, *Command, *args) (cond, *Error)
}

// commands and tests are filled in by the init functions of the files
// that compile them.
var (
	commands = map[string]commandDef{}
	tests    = map[string]testDef{}
)
