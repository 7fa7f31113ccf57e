package sieve

import (
	"strings"
	"unicode/utf8"
)

// The actions keep, fileinto, redirect and discard (RFC 5228 §4), reject
// and ereject (RFC 5429), with :copy (RFC 3894), :create (RFC 5490 §3.2)
// and :flags (RFC 5232 §3).

// record adds an action after checking the rules of RFC 5228 §2.10 and of
// the extensions: the action limit, reject alone (RFC 5429 §2.1), one
// vacation (RFC 5230 §4.7), the redirect limit (RFC 5228 §4.2), and one
// delivery per mailbox (§2.10.3: a second fileinto of a mailbox merges its
// flags into the first; keep is fileinto "INBOX").
func (r *run) record(p Pos, a Action) error {
	cancels := true
	switch a := a.(type) {
	case Keep, FileInto, Redirect:
		if r.rejected {
			return r.errorf(p, "%s cannot be used with reject or ereject (RFC 5429 §2.1)", actionName(a))
		}
		if dup, err := r.merge(p, a); dup || err != nil {
			return err
		}
		switch a := a.(type) {
		case FileInto:
			cancels = !a.Copy
		case Redirect:
			cancels = !a.Copy
		}
	case Reject:
		switch {
		case r.rejected:
			return r.errorf(p, "only one reject or ereject may be used (RFC 5429 §2.1)")
		case r.vacation:
			return r.errorf(p, "reject and ereject cannot be used with vacation (RFC 5230 §4.7)")
		}
		for _, prev := range r.actions {
			switch prev.(type) {
			case Keep, FileInto, Redirect:
				return r.errorf(p, "%s cannot be used with %s (RFC 5429 §2.1)", actionName(a), actionName(prev))
			}
		}
		r.rejected = true
	case Vacation:
		switch {
		case r.vacation:
			return r.errorf(p, "vacation may be used only once (RFC 5230 §4.7)")
		case r.rejected:
			return r.errorf(p, "vacation cannot be used with reject or ereject (RFC 5230 §4.7)")
		}
		r.vacation = true
		cancels = false
	case Discard:
		for _, prev := range r.actions {
			if _, ok := prev.(Discard); ok {
				r.implicitKeep = false
				return nil
			}
		}
	}
	r.nActions++
	if r.nActions > r.opts.MaxActions {
		return r.errorf(p, "more than %d actions for one message", r.opts.MaxActions)
	}
	r.actions = append(r.actions, a)
	if cancels {
		r.implicitKeep = false
	}
	return nil
}

// merge folds a delivery into an earlier one to the same place; dup is
// true when it did. It also counts distinct redirects.
func (r *run) merge(p Pos, a Action) (dup bool, err error) {
	if rd, ok := a.(Redirect); ok {
		for i, prev := range r.actions {
			if pr, ok := prev.(Redirect); ok && strings.EqualFold(pr.Address, rd.Address) {
				if !rd.Copy {
					pr.Copy = false
					r.actions[i] = pr
					r.implicitKeep = false
				}
				return true, nil
			}
		}
		r.redirects++
		if r.redirects > r.opts.MaxRedirects {
			return false, r.errorf(p, "more than %d redirects for one message ([sieve] max_redirects)", r.opts.MaxRedirects)
		}
		return false, nil
	}
	box, flags := deliveryTarget(a)
	for i, prev := range r.actions {
		pbox, _ := deliveryTarget(prev)
		if pbox == "" || !sameMailbox(pbox, box) {
			continue
		}
		switch pa := prev.(type) {
		case Keep:
			pa.Flags = mergeFlags(pa.Flags, flags)
			r.actions[i] = pa
		case FileInto:
			pa.Flags = mergeFlags(pa.Flags, flags)
			if fa, ok := a.(FileInto); ok {
				pa.Create = pa.Create || fa.Create
				pa.Copy = pa.Copy && fa.Copy
			} else {
				pa.Copy = false
			}
			r.actions[i] = pa
		}
		if fa, ok := a.(FileInto); !ok || !fa.Copy {
			r.implicitKeep = false
		}
		return true, nil
	}
	return false, nil
}

// deliveryTarget returns the mailbox a delivery action stores into.
func deliveryTarget(a Action) (mailbox string, flags []string) {
	switch a := a.(type) {
	case Keep:
		return "INBOX", a.Flags
	case FileInto:
		return a.Mailbox, a.Flags
	}
	return "", nil
}

// sameMailbox compares mailbox names; INBOX in any case is INBOX (RFC 3501
// §5.1).
func sameMailbox(a, b string) bool {
	if strings.EqualFold(a, "INBOX") && strings.EqualFold(b, "INBOX") {
		return true
	}
	return a == b
}

func actionName(a Action) string {
	switch a := a.(type) {
	case Keep:
		return "keep"
	case FileInto:
		return "fileinto"
	case Redirect:
		return "redirect"
	case Reject:
		if a.Extended {
			return "ereject"
		}
		return "reject"
	case Vacation:
		return "vacation"
	}
	return "discard"
}

// keepStmt is keep (RFC 5228 §4.3).
type keepStmt struct {
	pos   Pos
	flags *flagArg
}

func compileKeep(ck *checker, c *Command, a *args) (stmt, *Error) {
	f, err := ck.compileFlagsTag(a)
	return &keepStmt{pos: c.Pos, flags: f}, err
}

func (s *keepStmt) exec(r *run) error {
	flags, err := r.actionFlags(s.flags)
	if err != nil {
		return err
	}
	return r.record(s.pos, Keep{Flags: flags})
}

// fileintoStmt is fileinto (RFC 5228 §4.1).
type fileintoStmt struct {
	pos          Pos
	mailbox      str
	flags        *flagArg
	copy, create bool
}

func compileFileinto(ck *checker, c *Command, a *args) (stmt, *Error) {
	s := &fileintoStmt{pos: c.Pos, copy: a.has("copy"), create: a.has("create")}
	var err *Error
	if s.mailbox, err = ck.compileString(a.positional[0].Strings[0]); err != nil {
		return nil, err
	}
	if s.mailbox.constant() {
		if msg := checkMailboxName(s.mailbox.lit); msg != "" {
			return nil, errorf(s.mailbox.pos, "fileinto: %s", msg)
		}
	}
	s.flags, err = ck.compileFlagsTag(a)
	return s, err
}

// checkMailboxName refuses names no store can hold (RFC 5228 §4.1 lets
// invalid names be errors).
func checkMailboxName(name string) string {
	switch {
	case name == "":
		return "the mailbox name is empty"
	case !utf8.ValidString(name):
		return "the mailbox name " + quote(name) + " is not UTF-8"
	case len(name) > 1000:
		return "the mailbox name is too long"
	}
	for _, c := range name {
		if c < 0x20 || c == 0x7f {
			return "the mailbox name " + quote(name) + " has control characters"
		}
	}
	return ""
}

func (s *fileintoStmt) exec(r *run) error {
	box, err := r.expand(&s.mailbox)
	if err != nil {
		return err
	}
	if msg := checkMailboxName(box); msg != "" {
		return r.errorf(s.pos, "fileinto: %s", msg)
	}
	flags, err := r.actionFlags(s.flags)
	if err != nil {
		return err
	}
	return r.record(s.pos, FileInto{Mailbox: box, Flags: flags, Create: s.create, Copy: s.copy})
}

// redirectStmt is redirect (RFC 5228 §4.2).
type redirectStmt struct {
	pos  Pos
	addr str
	copy bool
}

func compileRedirect(ck *checker, c *Command, a *args) (stmt, *Error) {
	s := &redirectStmt{pos: c.Pos, copy: a.has("copy")}
	var err *Error
	if s.addr, err = ck.compileString(a.positional[0].Strings[0]); err != nil {
		return nil, err
	}
	if s.addr.constant() {
		if _, ok := parseSieveAddress(s.addr.lit); !ok {
			return nil, errorf(s.addr.pos, "redirect: %s is not an address (RFC 5228 §2.4.2.3)", quote(s.addr.lit))
		}
	}
	return s, nil
}

func (s *redirectStmt) exec(r *run) error {
	v, err := r.expand(&s.addr)
	if err != nil {
		return err
	}
	addr, ok := parseSieveAddress(v)
	if !ok {
		return r.errorf(s.pos, "redirect: %s is not an address (RFC 5228 §2.4.2.3)", quote(v))
	}
	return r.record(s.pos, Redirect{Address: addr, Copy: s.copy})
}

// discardStmt is discard (RFC 5228 §4.4).
type discardStmt struct{ pos Pos }

func (s discardStmt) exec(r *run) error { return r.record(s.pos, Discard{}) }

// rejectStmt is reject or ereject (RFC 5429 §2.1, §2.2).
type rejectStmt struct {
	pos      Pos
	reason   str
	extended bool
}

func compileReject(ck *checker, c *Command, a *args) (stmt, *Error) {
	reason, err := ck.compileString(a.positional[0].Strings[0])
	return &rejectStmt{pos: c.Pos, reason: reason, extended: c.Name == "ereject"}, err
}

func (s *rejectStmt) exec(r *run) error {
	reason, err := r.expand(&s.reason)
	if err != nil {
		return err
	}
	return r.record(s.pos, Reject{Reason: reason, Extended: s.extended})
}

func init() {
	flagsTag := tagDef{name: "flags", params: []argType{aStringList}, ext: "imap4flags"}
	copyTag := tagDef{name: "copy", ext: "copy"}
	one := []argType{aString}
	commands["keep"] = commandDef{fn: compileKeep, spec: argSpec{tags: []tagDef{flagsTag}}}
	commands["fileinto"] = commandDef{ext: "fileinto", fn: compileFileinto, spec: argSpec{
		tags:       []tagDef{flagsTag, copyTag, {name: "create", ext: "mailbox"}},
		positional: one, minPositional: 1,
	}}
	commands["redirect"] = commandDef{fn: compileRedirect, spec: argSpec{tags: []tagDef{copyTag}, positional: one, minPositional: 1}}
	commands["discard"] = commandDef{fn: func(_ *checker, c *Command, _ *args) (stmt, *Error) { return discardStmt{c.Pos}, nil }}
	commands["reject"] = commandDef{ext: "reject", fn: compileReject, spec: argSpec{positional: one, minPositional: 1}}
	commands["ereject"] = commandDef{ext: "ereject", fn: compileReject, spec: argSpec{positional: one, minPositional: 1}}
}
