package sieve

import (
	"strings"
	"time"
)

// The duplicate test (RFC 7352): true when a message with the same ID
// (by default its Message-ID) went through the test before, within the
// period. The run only asks the DuplicateTracker; what to remember is in
// Result.Duplicates, for the caller to store once the message is
// delivered, so that a failed delivery leaves no trace (§3).

type dupState struct {
	tests int
	seen  map[string]bool
	marks []DuplicateMark
}

type duplicateTest struct {
	pos      Pos
	handle   *str
	header   *str // :header; nil with :uniqueid or neither
	uniqueID *str
	period   time.Duration
	last     bool
}

func compileDuplicate(ck *checker, c *Command, a *args) (cond, *Error) {
	t := &duplicateTest{pos: c.Pos, last: a.has("last")}
	opt := func(tag string) (*str, *Error) {
		tv, ok := a.tags[tag]
		if !ok {
			return nil, nil
		}
		v, err := ck.compileString(tv.params[0].Strings[0])
		return &v, err
	}
	var err *Error
	if t.handle, err = opt("handle"); err != nil {
		return nil, err
	}
	if t.header, err = opt("header"); err != nil {
		return nil, err
	}
	if t.uniqueID, err = opt("uniqueid"); err != nil {
		return nil, err
	}
	if tv, ok := a.tags["seconds"]; ok {
		t.period = clampDuration(tv.params[0].Num, time.Second)
	} else {
		t.period = -1
	}
	return t, nil
}

func (t *duplicateTest) eval(r *run) (bool, error) {
	st := &r.dup
	if st.tests++; st.tests > r.opts.MaxDuplicateTests {
		return false, r.errorf(t.pos, "duplicate: more than %d duplicate tests for one message", r.opts.MaxDuplicateTests)
	}
	handle, id := "", ""
	var err error
	if t.handle != nil {
		if handle, err = r.expand(t.handle); err != nil {
			return false, err
		}
	}
	switch {
	case t.uniqueID != nil:
		if id, err = r.expand(t.uniqueID); err != nil {
			return false, err
		}
	default:
		name := "message-id"
		if t.header != nil {
			if name, err = r.expand(t.header); err != nil {
				return false, err
			}
		}
		vals := r.msg.Header(name)
		if len(vals) == 0 || strings.TrimSpace(vals[0]) == "" {
			// Nothing to recognise the message by: it is no duplicate
			// and nothing is remembered (RFC 7352 §3.1).
			return false, nil
		}
		id = strings.TrimSpace(vals[0])
	}
	period := t.period
	if period < 0 {
		period = r.opts.DuplicatePeriod
	}
	period = min(period, r.opts.DuplicateMaxPeriod)
	key := handle + "\x00" + id
	if seen, ok := st.seen[key]; ok {
		// A second test of the same ID in one run answers the same.
		return seen, nil
	}
	seen := false
	if r.host.Duplicates != nil {
		if seen, err = r.host.Duplicates.Seen(r.ctx, handle, id, r.now); err != nil {
			return false, r.errorf(t.pos, "duplicate: %v", err)
		}
	}
	if st.seen == nil {
		st.seen = map[string]bool{}
	}
	st.seen[key] = seen
	// An ID seen before keeps its first expiry unless :last asks for the
	// period to count from this message (RFC 7352 §3.3).
	if !seen || t.last {
		st.marks = append(st.marks, DuplicateMark{Handle: handle, ID: id, Expires: r.now.Add(period), Refresh: t.last})
	}
	return seen, nil
}

func init() {
	tests["duplicate"] = testDef{ext: "duplicate", fn: compileDuplicate, spec: argSpec{
		tags: []tagDef{
			{name: "handle", params: []argType{aString}},
			{name: "header", group: "id", params: []argType{aString}},
			{name: "uniqueid", group: "id", params: []argType{aString}},
			{name: "seconds", params: []argType{aNumber}},
			{name: "last"},
		},
	}}
}
