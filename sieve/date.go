package sieve

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"postern/mimeinfo"
)

// The date and currentdate tests (RFC 5260 §4, §5).

type dateTest struct {
	current  bool
	header   str
	part     string
	zone     *time.Location // :zone; nil for the local zone or :originalzone
	original bool           // :originalzone
	m        *matcher
	ix       index
}

// dateParts are the date-part names of RFC 5260 §4.2.
var dateParts = map[string]bool{
	"year": true, "month": true, "day": true, "date": true, "julian": true, "hour": true,
	"minute": true, "second": true, "time": true, "iso8601": true, "std11": true, "zone": true, "weekday": true,
}

// parseZone reads a :zone argument, "+hhmm" or "-hhmm" (RFC 5260 §4.1).
func parseZone(s string) (*time.Location, bool) {
	if len(s) != 5 || (s[0] != '+' && s[0] != '-') || !isNumber(s[1:]) {
		return nil, false
	}
	h, _ := strconv.Atoi(s[1:3])
	m, _ := strconv.Atoi(s[3:5])
	if h > 23 || m > 59 {
		return nil, false
	}
	off := (h*60 + m) * 60
	if s[0] == '-' {
		off = -off
	}
	return time.FixedZone(s, off), true
}

func compileDate(ck *checker, c *Command, a *args) (cond, *Error) {
	t := &dateTest{current: c.Name == "currentdate", original: a.has("originalzone")}
	if tv, ok := a.tags["zone"]; ok {
		s := tv.params[0].Strings[0]
		loc, ok := parseZone(s.Value)
		if !ok {
			return nil, errorf(s.Pos, "%s: :zone %s is not a time zone like \"+0100\" (RFC 5260 §4.1)", c.Name, quote(s.Value))
		}
		t.zone = loc
	}
	pos := a.positional
	var err *Error
	if !t.current {
		if t.header, err = ck.compileString(pos[0].Strings[0]); err != nil {
			return nil, err
		}
		pos = pos[1:]
		if t.ix, err = ck.compileIndex(c, a); err != nil {
			return nil, err
		}
	}
	part := pos[0].Strings[0]
	t.part = strings.ToLower(part.Value)
	if !dateParts[t.part] {
		return nil, errorf(part.Pos, "%s: unknown date part %s (RFC 5260 §4.2)", c.Name, quote(part.Value))
	}
	if t.m, err = ck.compileMatcher(a, pos[1]); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *dateTest) eval(r *run) (bool, error) {
	local := r.host.Location
	if local == nil {
		local = time.UTC
	}
	var dates []time.Time
	if t.current {
		dates = []time.Time{r.now}
	} else {
		name, err := r.expand(&t.header)
		if err != nil {
			return false, err
		}
		for _, v := range t.ix.pick(r.msg.Header(name)) {
			if strings.EqualFold(name, "received") {
				// The date of a Received field follows its last ";".
				if i := strings.LastIndexByte(v, ';'); i >= 0 {
					v = v[i+1:]
				}
			}
			if d, ok := mimeinfo.ParseDate(v); ok {
				dates = append(dates, d)
			}
		}
	}
	vals := make([]string, 0, len(dates))
	for _, d := range dates {
		switch {
		case t.zone != nil:
			d = d.In(t.zone)
		case !t.original || t.current:
			d = d.In(local)
		}
		vals = append(vals, datePart(d, t.part))
	}
	return r.match(t.m, vals)
}

// datePart formats one date part (RFC 5260 §4.2).
func datePart(d time.Time, part string) string {
	switch part {
	case "year":
		return fmt.Sprintf("%04d", d.Year())
	case "month":
		return fmt.Sprintf("%02d", int(d.Month()))
	case "day":
		return fmt.Sprintf("%02d", d.Day())
	case "date":
		return d.Format("2006-01-02")
	case "julian":
		// The Modified Julian Day: days since 1858-11-17.
		days := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC).Unix() / 86400
		return strconv.FormatInt(days+40587, 10)
	case "hour":
		return fmt.Sprintf("%02d", d.Hour())
	case "minute":
		return fmt.Sprintf("%02d", d.Minute())
	case "second":
		return fmt.Sprintf("%02d", d.Second())
	case "time":
		return d.Format("15:04:05")
	case "iso8601":
		return d.Format("2006-01-02T15:04:05-07:00")
	case "std11":
		return d.Format("Mon, 2 Jan 2006 15:04:05 -0700")
	case "zone":
		return d.Format("-0700")
	case "weekday":
		return strconv.Itoa(int(d.Weekday()))
	}
	return ""
}

func init() {
	dateTags := []tagDef{
		{name: "zone", group: "zone", params: []argType{aString}},
		{name: "originalzone", group: "zone"},
	}
	tests["date"] = testDef{ext: "date", fn: compileDate, spec: argSpec{
		tags:       tags(dateTags, []tagDef{comparatorTag}, matchTags, indexTags),
		positional: []argType{aString, aString, aStringList}, minPositional: 3,
	}}
	tests["currentdate"] = testDef{ext: "date", fn: compileDate, spec: argSpec{
		tags:       tags(dateTags[:1], []tagDef{comparatorTag}, matchTags),
		positional: []argType{aString, aStringList}, minPositional: 2,
	}}
}
