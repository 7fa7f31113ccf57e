package mbox

import (
	"bytes"
	"strconv"
	"strings"
	"time"
)

// A From_ line opens each message: "From " sender SP date, the date as C's
// asctime writes it ("Mon Jan  2 15:04:05 2006"), often with a zone before
// or after the year ("+0000 2020", as Google Takeout writes; "MST 2006").
// A line that starts with "From " but carries no such date is body text
// that a careless writer did not quote: it does not split the message.

var months = map[string]time.Month{
	"jan": time.January, "feb": time.February, "mar": time.March, "apr": time.April,
	"may": time.May, "jun": time.June, "jul": time.July, "aug": time.August,
	"sep": time.September, "oct": time.October, "nov": time.November, "dec": time.December,
}

var fromPrefix = []byte("From ")

// isFromLine reports whether line (the start of a line, with or without its
// terminator) is a From_ line that opens a message.
func isFromLine(line []byte) bool {
	if !bytes.HasPrefix(line, fromPrefix) {
		return false
	}
	_, ok := parseFromDate(line)
	return ok
}

// parseFromDate finds the date of a From_ line. Without a zone, the date is
// taken as UTC: writers use their local time, which the file does not record.
func parseFromDate(line []byte) (time.Time, bool) {
	if len(line) > 1024 {
		line = line[:1024]
	}
	f := strings.Fields(string(line[len(fromPrefix):]))
	for i := 1; i < len(f) && i < 16; i++ {
		mon, ok := months[strings.ToLower(f[i])]
		if !ok {
			continue
		}
		if t, ok := asctime(mon, f[i+1:]); ok {
			return t, true
		}
	}
	return time.Time{}, false
}

// asctime parses what follows the month: day, hh:mm[:ss], then the year,
// with an optional zone before or after it.
func asctime(mon time.Month, f []string) (time.Time, bool) {
	if len(f) < 3 {
		return time.Time{}, false
	}
	day, err := strconv.Atoi(f[0])
	if err != nil || day < 1 || day > 31 {
		return time.Time{}, false
	}
	h, m, s, ok := clock(f[1])
	if !ok {
		return time.Time{}, false
	}
	year, loc := -1, time.UTC
	for _, tok := range f[2:min(len(f), 4)] {
		if y, err := strconv.Atoi(tok); err == nil && len(tok) == 4 && year < 0 {
			year = y
			continue
		}
		if z, ok := zone(tok); ok {
			loc = z
			continue
		}
		break
	}
	if year < 1900 {
		return time.Time{}, false
	}
	t := time.Date(year, mon, day, h, m, s, 0, loc)
	if t.Day() != day {
		return time.Time{}, false // 31 Feb and the like
	}
	return t, true
}

func clock(s string) (h, m, sec int, ok bool) {
	p := strings.Split(s, ":")
	if len(p) < 2 || len(p) > 3 {
		return 0, 0, 0, false
	}
	var v [3]int
	for i, x := range p {
		n, err := strconv.Atoi(x)
		if err != nil || len(x) > 2 || n < 0 {
			return 0, 0, 0, false
		}
		v[i] = n
	}
	if v[0] > 23 || v[1] > 59 || v[2] > 60 {
		return 0, 0, 0, false
	}
	return v[0], v[1], v[2], true
}

// zone reads "+hhmm", "-hhmm", "UTC", "GMT" or "Z"; other names are zones
// the file does not define and count as UTC.
func zone(s string) (*time.Location, bool) {
	if len(s) == 5 && (s[0] == '+' || s[0] == '-') {
		n, err := strconv.Atoi(s[1:])
		if err != nil || n%100 > 59 || n/100 > 23 {
			return nil, false
		}
		off := (n/100*60 + n%100) * 60
		if s[0] == '-' {
			off = -off
		}
		if off == 0 {
			return time.UTC, true
		}
		return time.FixedZone(s, off), true
	}
	if len(s) >= 1 && len(s) <= 5 {
		for i := 0; i < len(s); i++ {
			if c := s[i] | 0x20; c < 'a' || c > 'z' {
				return nil, false
			}
		}
		return time.UTC, true
	}
	return nil, false
}
