package sieve

import (
	"context"
	"errors"
	"fmt"
	"time"

	"postern/mimeinfo"
)

// stmt is a compiled command; cond a compiled test.
type stmt interface {
	exec(r *run) error
}

type cond interface {
	eval(r *run) (bool, error)
}

// errStop ends the whole run (stop, RFC 5228 §3.3); errReturn ends the
// current script (return, RFC 6609 §3.3).
var (
	errStop   = errors.New("stop")
	errReturn = errors.New("return")
)

// Result is what a run decided.
type Result struct {
	// Actions are the actions to take, in order; the implicit keep, when
	// taken, is the last one. After an error it is only the implicit keep
	// (RFC 5228 §2.10.6), so that no mail is lost.
	Actions []Action
	// Duplicates are the IDs the duplicate test saw, to be recorded once
	// the message is delivered (RFC 7352 §3); empty after an error.
	Duplicates []DuplicateMark
	// Err is the run-time error that stopped the script, an *Error, or nil.
	Err error
	// Abandoned are the actions the script had taken before the error,
	// for the log; none of them is to be done.
	Abandoned []Action
	// Steps is the work the run used, in the units of Options.MaxSteps.
	Steps int
}

// DuplicateMark is an ID for the caller to remember for the duplicate
// test: until Expires, a later message with the same Handle and ID is a
// duplicate. Refresh (the :last argument, RFC 7352 §3.3) moves the
// expiry of an ID already remembered; without it the first expiry stays.
type DuplicateMark struct {
	Handle, ID string
	Expires    time.Time
	Refresh    bool
}

// run is the state of one run of a script.
type run struct {
	ctx  context.Context
	opts *Options
	msg  Message
	env  Envelope
	host *Host
	now  time.Time

	steps        int
	actions      []Action
	nActions     int
	implicitKeep bool
	redirects    int
	vacation     bool
	rejected     bool

	flags    []string // the internal flags variable of imap4flags (RFC 5232 §3)
	useFlags bool     // the script (or an included one) requires imap4flags

	scope     *scope
	globals   map[string]string
	addrCache map[string][][]mimeinfo.Address // for Messages that do not keep their addresses
	lowered   map[string]string               // values lower-cased for i;ascii-casemap
	script    *Script                         // the script running now, for error positions
	includes  includeState
	dup       dupState
}

// Run runs the script on a message. Run never fails: an error in the
// script is in Result.Err and the result is then the implicit keep. ctx
// is passed to the Host's services.
func (s *Script) Run(ctx context.Context, msg Message, env Envelope, host *Host) *Result {
	if host == nil {
		host = &Host{}
	}
	r := &run{
		ctx:          ctx,
		opts:         &s.opts,
		msg:          msg,
		env:          env,
		host:         host,
		implicitKeep: true,
		globals:      map[string]string{},
		script:       s,
	}
	if host.Now != nil {
		r.now = host.Now()
	} else {
		r.now = time.Now()
	}
	r.useFlags = s.requiresAny("imap4flags")
	err := r.runScript(s)
	if errors.Is(err, errStop) || errors.Is(err, errReturn) {
		err = nil
	}
	res := &Result{Steps: r.steps}
	if err != nil {
		res.Err = err
		res.Abandoned = r.actions
		res.Actions = []Action{Keep{Implicit: true}}
		return res
	}
	res.Actions = r.actions
	if r.implicitKeep {
		k := Keep{Implicit: true}
		if r.useFlags {
			k.Flags = append([]string{}, r.flags...)
		}
		res.Actions = append(res.Actions, k)
	}
	res.Duplicates = r.dup.marks
	return res
}

func (s *Script) requiresAny(ext string) bool {
	for _, e := range s.requires {
		if e == ext {
			return true
		}
	}
	return false
}

// runScript runs the statements of s in a fresh variable scope.
func (r *run) runScript(s *Script) error {
	outer, outerScript := r.scope, r.script
	r.scope, r.script = &scope{}, s
	defer func() { r.scope, r.script = outer, outerScript }()
	return r.block(s.body)
}

func (r *run) block(body []stmt) error {
	for _, st := range body {
		if err := r.step(1); err != nil {
			return err
		}
		if err := st.exec(r); err != nil {
			return err
		}
	}
	return nil
}

// step uses n units of the step budget.
func (r *run) step(n int) error {
	r.steps += n
	if r.steps > r.opts.MaxSteps {
		return &Error{Script: r.script.name, Msg: fmt.Sprintf("the script did more than the %d steps of work allowed for one message", r.opts.MaxSteps)}
	}
	return nil
}

// stepBytes charges the work of going through n octets.
func (r *run) stepBytes(n int) error { return r.step(n/64 + 1) }

// errorf makes a run-time error at p in the running script.
func (r *run) errorf(p Pos, format string, args ...any) error {
	return &Error{Pos: p, Script: r.script.name, Msg: fmt.Sprintf(format, args...)}
}

// ifStmt is an if with its elsif and else (RFC 5228 §3.1).
type ifStmt struct {
	conds    []cond
	bodies   [][]stmt
	elseBody []stmt
}

func (s *ifStmt) exec(r *run) error {
	for i, c := range s.conds {
		ok, err := c.eval(r)
		if err != nil {
			return err
		}
		if ok {
			return r.block(s.bodies[i])
		}
	}
	return r.block(s.elseBody)
}

// stopStmt ends the run (RFC 5228 §3.3).
type stopStmt struct{}

func (stopStmt) exec(*run) error { return errStop }

func init() {
	commands["stop"] = commandDef{fn: func(*checker, *Command, *args) (stmt, *Error) { return stopStmt{}, nil }}
}
