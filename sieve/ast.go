package sieve

// Command is one command or test of a parsed script (RFC 5228 §8.2):
//
//	command = identifier arguments (";" / block)
//	test    = identifier arguments
//
// A test has no block. Names and tags are in lower case, since they are
// case-insensitive (RFC 5228 §8.1).
type Command struct {
	Pos  Pos
	Name string
	Args []Arg
	// Tests are the test (one, TestList false) or the test list (TestList
	// true) that end the arguments, if any.
	Tests    []*Command
	TestList bool
	// Block is the block of a control command; HasBlock tells an empty
	// block from none.
	Block    []*Command
	HasBlock bool
}

// ArgKind tells what an argument is.
type ArgKind uint8

// The kinds of argument (RFC 5228 §8.2: argument = string-list / number / tag).
const (
	ArgString ArgKind = iota // a single string, without brackets
	ArgList                  // a bracketed string list
	ArgNumber
	ArgTag
)

func (k ArgKind) String() string {
	switch k {
	case ArgString:
		return "a string"
	case ArgList:
		return "a string list"
	case ArgNumber:
		return "a number"
	}
	return "a tag"
}

// Arg is one argument of a command or test.
type Arg struct {
	Pos  Pos
	Kind ArgKind
	// Strings holds the value of a string (one) or a string list, with
	// escapes and dot-stuffing undone. Encoded characters and variables
	// are left for the checker, which knows whether they are required.
	Strings []String
	Num     uint64 // a number with its quantifier applied
	Tag     string // a tag without its colon, in lower case
}

// String is one string of an argument.
type String struct {
	Pos   Pos
	Value string
}
