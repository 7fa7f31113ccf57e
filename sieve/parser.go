package sieve

// Parse parses a script by the grammar of RFC 5228 §8.2 into its commands.
// It checks syntax only: command names, arguments and require are the
// checker's (Compile). Blocks, test lists and tests given to tests nest at
// most maxNesting deep (DefaultMaxNesting when 0), so that hostile input
// cannot exhaust the stack. Every error is an *Error with its position.
func Parse(src []byte, maxNesting int) ([]*Command, error) {
	if maxNesting <= 0 {
		maxNesting = DefaultMaxNesting
	}
	p := &parser{lx: newLexer(src), maxDepth: maxNesting}
	if err := p.advance(); err != nil {
		return nil, err
	}
	cmds, err := p.commands()
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tEOF {
		return nil, errorf(p.tok.pos, "unexpected %s: a \"}\" without a matching \"{\"", p.tok.describe())
	}
	return cmds, nil
}

type parser struct {
	lx       *lexer
	tok      token
	depth    int
	maxDepth int
}

func (p *parser) advance() *Error {
	t, err := p.lx.next()
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

func (p *parser) isPunct(c string) bool { return p.tok.kind == tPunct && p.tok.text == c }

// enter counts one more level of nesting.
func (p *parser) enter(what string) *Error {
	p.depth++
	if p.depth > p.maxDepth {
		return errorf(p.tok.pos, "%s nested more than %d deep", what, p.maxDepth)
	}
	return nil
}

// commands = *command, up to "}" or the end.
func (p *parser) commands() ([]*Command, *Error) {
	var cmds []*Command
	for p.tok.kind != tEOF && !p.isPunct("}") {
		c, err := p.command()
		if err != nil {
			return nil, err
		}
		cmds = append(cmds, c)
	}
	return cmds, nil
}

// command = identifier arguments (";" / block)
func (p *parser) command() (*Command, *Error) {
	if p.tok.kind != tIdent {
		return nil, errorf(p.tok.pos, "expected a command, found %s", p.tok.describe())
	}
	c := &Command{Pos: p.tok.pos, Name: p.tok.text}
	if err := p.advance(); err != nil {
		return nil, err
	}
	if err := p.arguments(c); err != nil {
		return nil, err
	}
	switch {
	case p.isPunct(";"):
		return c, p.advance()
	case p.isPunct("{"):
		if err := p.enter("blocks"); err != nil {
			return nil, err
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		block, err := p.commands()
		if err != nil {
			return nil, err
		}
		if !p.isPunct("}") {
			return nil, errorf(c.Pos, "the block of %q is not closed with \"}\"", c.Name)
		}
		p.depth--
		c.Block, c.HasBlock = block, true
		return c, p.advance()
	}
	at := p.tok.pos
	if p.tok.kind == tEOF {
		at = c.Pos // the end of the script says little; the command says more
	}
	return nil, errorf(at, "expected \";\" or a block after the arguments of %q, found %s", c.Name, p.tok.describe())
}

// arguments = *argument [ test / test-list ]
func (p *parser) arguments(c *Command) *Error {
	for {
		switch {
		case p.tok.kind == tString:
			c.Args = append(c.Args, Arg{Pos: p.tok.pos, Kind: ArgString, Strings: []String{{p.tok.pos, p.tok.text}}})
		case p.tok.kind == tNumber:
			c.Args = append(c.Args, Arg{Pos: p.tok.pos, Kind: ArgNumber, Num: p.tok.num})
		case p.tok.kind == tTag:
			c.Args = append(c.Args, Arg{Pos: p.tok.pos, Kind: ArgTag, Tag: p.tok.text})
		case p.isPunct("["):
			a, err := p.stringList()
			if err != nil {
				return err
			}
			c.Args = append(c.Args, a)
			continue
		case p.tok.kind == tIdent:
			t, err := p.nestedTest()
			if err != nil {
				return err
			}
			c.Tests = []*Command{t}
			return nil
		case p.isPunct("("):
			return p.testList(c)
		default:
			return nil
		}
		if err := p.advance(); err != nil {
			return err
		}
	}
}

// stringList = "[" string *("," string) "]"
func (p *parser) stringList() (Arg, *Error) {
	a := Arg{Pos: p.tok.pos, Kind: ArgList}
	for {
		if err := p.advance(); err != nil {
			return a, err
		}
		if p.tok.kind != tString {
			return a, errorf(p.tok.pos, "expected a string in the string list, found %s", p.tok.describe())
		}
		a.Strings = append(a.Strings, String{p.tok.pos, p.tok.text})
		if err := p.advance(); err != nil {
			return a, err
		}
		switch {
		case p.isPunct("]"):
			return a, p.advance()
		case !p.isPunct(","):
			return a, errorf(p.tok.pos, "expected \",\" or \"]\" in the string list, found %s", p.tok.describe())
		}
	}
}

// nestedTest parses a test given as an argument, one level deeper.
func (p *parser) nestedTest() (*Command, *Error) {
	if err := p.enter("tests"); err != nil {
		return nil, err
	}
	t, err := p.test()
	p.depth--
	return t, err
}

// test = identifier arguments
func (p *parser) test() (*Command, *Error) {
	if p.tok.kind != tIdent {
		return nil, errorf(p.tok.pos, "expected a test, found %s", p.tok.describe())
	}
	t := &Command{Pos: p.tok.pos, Name: p.tok.text}
	if err := p.advance(); err != nil {
		return nil, err
	}
	return t, p.arguments(t)
}

// test-list = "(" test *("," test) ")"
func (p *parser) testList(c *Command) *Error {
	if err := p.enter("test lists"); err != nil {
		return err
	}
	c.TestList = true
	for {
		if err := p.advance(); err != nil {
			return err
		}
		t, err := p.test()
		if err != nil {
			return err
		}
		c.Tests = append(c.Tests, t)
		switch {
		case p.isPunct(")"):
			p.depth--
			return p.advance()
		case !p.isPunct(","):
			return errorf(p.tok.pos, "expected \",\" or \")\" in the test list of %q, found %s", c.Name, p.tok.describe())
		}
	}
}
