package imapd

import (
	"strings"

	"github.com/emersion/go-imap/v2"

	"postern/imapd/internal/wire"
)

// state is a connection state of RFC 3501 §3, as a bit so that a command
// can name every state it is allowed in.
type state uint8

const (
	stateNotAuth state = 1 << iota
	stateAuth
	stateSelected
	stateLogout

	anyState     = stateNotAuth | stateAuth | stateSelected
	authOrSel    = stateAuth | stateSelected
	onlySelected = stateSelected
)

func (s state) String() string {
	switch s {
	case stateNotAuth:
		return "not authenticated"
	case stateAuth:
		return "authenticated"
	case stateSelected:
		return "selected"
	}
	return "logout"
}

// request is one command being carried out.
type request struct {
	tag  string
	name string // upper case, "UID FETCH" for UID commands
	uid  bool
	p    *wire.Parser
}

// end consumes the CRLF that ends the command. Handlers call it once all
// arguments are parsed and before they change anything, so a malformed
// command never has an effect.
func (r *request) end() error {
	if err := r.p.CRLF(); err != nil {
		return err
	}
	r.p.Ended = true
	return nil
}

// numSetArg parses the sequence set (or UID set, for UID commands) that
// FETCH, STORE, COPY and MOVE take first, with the spaces around it.
func (r *request) numSetArg() (imap.NumSet, error) {
	if err := r.p.SP(); err != nil {
		return nil, err
	}
	set, err := r.p.NumSet(r.uid)
	if err != nil {
		return nil, err
	}
	return set, r.p.SP()
}

// command is one entry of the command table.
type command struct {
	name   string
	states state
	// noExpunge marks FETCH, STORE and SEARCH: untagged EXPUNGE must not
	// be sent while they run (RFC 3501 §7.4.1). SELECT and EXAMINE carry it
	// too: clients take the count from their EXISTS when they complete, so
	// an expunge that raced with the opening waits for the next command.
	noExpunge bool
	handle    func(c *conn, r *request) error
}

var commands = map[string]*command{}

// register adds a command to the table; each cmd_*.go file calls it from
// init.
func register(cmd *command) {
	name := strings.ToUpper(cmd.name)
	if _, dup := commands[name]; dup {
		panic("imapd: command " + name + " registered twice")
	}
	commands[name] = cmd
}

// extraCaps are capabilities that files add with addCap; they are
// advertised after authentication (and before it, when preAuth is set).
var extraCaps []capability

type capability struct {
	name    string
	preAuth bool
}

func addCap(name string, preAuth bool) {
	extraCaps = append(extraCaps, capability{name, preAuth})
}
