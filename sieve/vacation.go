package sieve

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"time"
)

// vacationStmt is vacation (RFC 5230 §4) with :seconds (RFC 6131).
type vacationStmt struct {
	pos       Pos
	period    time.Duration // 0: the default
	hasPeriod bool
	days      bool // the period came from :days
	subject   *str
	from      *str
	addresses strList
	mime      bool
	handle    *str
	reason    str
	autoID    string // the handle made from the arguments as written
}

func compileVacation(ck *checker, c *Command, a *args) (stmt, *Error) {
	s := &vacationStmt{pos: c.Pos, mime: a.has("mime")}
	if tv, ok := a.tags["days"]; ok {
		s.period, s.hasPeriod, s.days = clampDuration(tv.params[0].Num, 24*time.Hour), true, true
	}
	if tv, ok := a.tags["seconds"]; ok {
		s.period, s.hasPeriod = clampDuration(tv.params[0].Num, time.Second), true
	}
	opt := func(tag string) (*str, *Error) {
		tv, ok := a.tags[tag]
		if !ok {
			return nil, nil
		}
		v, err := ck.compileString(tv.params[0].Strings[0])
		return &v, err
	}
	var err *Error
	if s.subject, err = opt("subject"); err != nil {
		return nil, err
	}
	if s.from, err = opt("from"); err != nil {
		return nil, err
	}
	if s.from != nil && s.from.constant() {
		if _, ok := parseSieveAddress(s.from.lit); !ok {
			return nil, errorf(s.from.pos, "vacation: :from %s is not an address (RFC 5230 §4.3)", quote(s.from.lit))
		}
	}
	if s.handle, err = opt("handle"); err != nil {
		return nil, err
	}
	if tv, ok := a.tags["addresses"]; ok {
		if s.addresses, err = ck.compileList(tv.params[0]); err != nil {
			return nil, err
		}
	}
	if s.reason, err = ck.compileString(a.positional[0].Strings[0]); err != nil {
		return nil, err
	}
	// RFC 5230 §4.2: without :handle, the response is identified by
	// :subject, :from, :mime and the reason, before variables are
	// expanded. Each goes in with its length, so that no two different
	// sets of arguments run together into one.
	h := sha256.New()
	put := func(present bool, v string) {
		var n [9]byte
		if present {
			n[0] = 1
			binary.BigEndian.PutUint64(n[1:], uint64(len(v)))
		}
		h.Write(n[:])
		h.Write([]byte(v))
	}
	put(s.subject != nil, srcOf(s.subject))
	put(s.from != nil, srcOf(s.from))
	put(s.mime, "")
	put(true, s.reason.src)
	s.autoID = "auto:" + hex.EncodeToString(h.Sum(nil)[:16])
	return s, nil
}

func srcOf(s *str) string {
	if s == nil {
		return ""
	}
	return s.src
}

// clampDuration turns a count of units into a duration without overflow.
func clampDuration(n uint64, unit time.Duration) time.Duration {
	if n > uint64(1<<62)/uint64(unit) {
		return 1 << 62
	}
	return time.Duration(n) * unit
}

func (s *vacationStmt) exec(r *run) error {
	v := Vacation{Handle: s.autoID, MIME: s.mime}
	o := r.opts
	v.Period = o.VacationPeriod
	if s.hasPeriod {
		v.Period = s.period
	}
	// RFC 5230 §4.1: below the minimum the minimum is used, above the
	// maximum the maximum; :days is at least 1.
	low := o.VacationMinPeriod
	if s.days {
		low = max(low, 24*time.Hour)
	}
	v.Period = min(max(v.Period, low), o.VacationMaxPeriod)
	var err error
	if s.handle != nil {
		var h string
		if h, err = r.expand(s.handle); err != nil {
			return err
		}
		v.Handle = "handle:" + h
	}
	if s.subject != nil {
		if v.Subject, err = r.expand(s.subject); err != nil {
			return err
		}
	} else {
		v.Subject = defaultSubject(r.msg)
	}
	if s.from != nil {
		if v.FromHeader, err = r.expand(s.from); err != nil {
			return err
		}
		addr, ok := parseSieveAddress(v.FromHeader)
		if !ok {
			return r.errorf(s.pos, "vacation: :from %s is not an address (RFC 5230 §4.3)", quote(v.FromHeader))
		}
		v.From = addr
	}
	if v.Addresses, err = r.expandList(s.addresses); err != nil {
		return err
	}
	if v.Reason, err = r.expand(&s.reason); err != nil {
		return err
	}
	if s.mime {
		// RFC 5230 §5: MIME headers must be 7-bit.
		head := v.Reason
		if i := strings.Index(head, "\r\n\r\n"); i >= 0 {
			head = head[:i]
		}
		for i := 0; i < len(head); i++ {
			if head[i] >= 0x80 {
				return r.errorf(s.pos, "vacation :mime: the MIME header of the reason has 8-bit characters (RFC 5230 §5)")
			}
		}
	}
	return r.record(s.pos, v)
}

// defaultSubject is RFC 5230 §5.3's subject: "Auto: " and the original
// subject, or a fixed one when there is none.
func defaultSubject(m Message) string {
	subj := m.DecodedHeader("subject")
	if len(subj) == 0 || strings.TrimSpace(subj[0]) == "" {
		return "Automated reply"
	}
	return "Auto: " + subj[0]
}

func init() {
	commands["vacation"] = commandDef{ext: "vacation", fn: compileVacation, spec: argSpec{
		tags: []tagDef{
			{name: "days", group: "period", params: []argType{aNumber}},
			{name: "seconds", group: "period", params: []argType{aNumber}, ext: "vacation-seconds"},
			{name: "subject", params: []argType{aString}},
			{name: "from", params: []argType{aString}},
			{name: "addresses", params: []argType{aStringList}},
			{name: "mime"},
			{name: "handle", params: []argType{aString}},
		},
		positional: []argType{aString}, minPositional: 1,
	}}
}
