package mimeinfo

import (
	"strconv"
	"strings"
	"time"
)

// parseDate reads a Date header leniently (RFC 5322 §3.3 and the obsolete
// forms of §4.3): optional day name, day, month name, 2-, 3- or 4-digit year,
// hh:mm[:ss], and a numeric or named zone (unknown zones count as -0000).
// Comments are ignored. It returns the zero time when no date can be read.
func parseDate(s string) time.Time {
	s = stripComments(s)
	words := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\t' || r == ',' || r == '\r' || r == '\n' })
	if len(words) > 16 {
		words = words[:16]
	}
	day, month, year := -1, time.Month(0), -1
	hour, minute, sec := -1, 0, 0
	var loc *time.Location
	for _, w := range words {
		switch {
		case strings.Contains(w, ":") && hour < 0:
			parts := strings.Split(w, ":")
			if len(parts) < 2 || len(parts) > 3 {
				return time.Time{}
			}
			var ok bool
			if hour, ok = number(parts[0], 0, 23); !ok {
				return time.Time{}
			}
			if minute, ok = number(parts[1], 0, 59); !ok {
				return time.Time{}
			}
			if len(parts) == 3 {
				if sec, ok = number(parts[2], 0, 60); !ok {
					return time.Time{}
				}
			}
		case (w[0] == '+' || w[0] == '-') && len(w) == 5 && hour >= 0:
			n, err := strconv.Atoi(w[1:])
			if err != nil || n%100 > 59 {
				return time.Time{}
			}
			off := (n/100*60 + n%100) * 60
			if w[0] == '-' {
				off = -off
			}
			loc = time.FixedZone("", off)
		case isDigits(w):
			n, _ := strconv.Atoi(w)
			switch {
			case day < 0 && len(w) <= 2 && (month == 0 || year < 0):
				day = n
			case year < 0:
				year = n
				// obs-year (RFC 5322 §4.3): 2 digits are 19xx from 50 up, else 20xx; 3 digits add 1900.
				switch len(w) {
				case 1, 2:
					if n < 50 {
						year += 2000
					} else {
						year += 1900
					}
				case 3:
					year += 1900
				}
			}
		default:
			if m := monthOf(w); m != 0 && month == 0 {
				month = m
			} else if hour >= 0 && loc == nil {
				loc = zoneOf(w)
			}
		}
	}
	if day < 1 || day > 31 || month == 0 || year < 0 || year > 9999 || hour < 0 {
		return time.Time{}
	}
	if loc == nil {
		loc = time.UTC
	}
	return time.Date(year, month, day, hour, minute, sec, 0, loc)
}

func stripComments(s string) string {
	if !strings.Contains(s, "(") {
		return s
	}
	var sb strings.Builder
	depth := 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '(':
			depth++
		case s[i] == ')' && depth > 0:
			depth--
		case depth == 0:
			sb.WriteByte(s[i])
		}
	}
	return sb.String()
}

func isDigits(w string) bool {
	if w == "" || len(w) > 4 {
		return false
	}
	for i := 0; i < len(w); i++ {
		if w[i] < '0' || w[i] > '9' {
			return false
		}
	}
	return true
}

func number(w string, lo, hi int) (int, bool) {
	if !isDigits(w) {
		return 0, false
	}
	n, _ := strconv.Atoi(w)
	return n, n >= lo && n <= hi
}

func monthOf(w string) time.Month {
	if len(w) < 3 {
		return 0
	}
	const names = "janfebmaraprmayjunjulaugsepoctnovdec"
	i := strings.Index(names, strings.ToLower(w[:3]))
	if i < 0 || i%3 != 0 {
		return 0
	}
	return time.Month(i/3 + 1)
}

// zoneOf maps the obsolete zone names of RFC 5322 §4.3 to offsets; anything
// else (military letters included, which §4.3 says to read as -0000) is UTC.
func zoneOf(w string) *time.Location {
	offs := map[string]int{"EDT": -4, "EST": -5, "CDT": -5, "CST": -6, "MDT": -6, "MST": -7, "PDT": -7, "PST": -8}
	if h, ok := offs[strings.ToUpper(w)]; ok {
		return time.FixedZone(strings.ToUpper(w), h*3600)
	}
	return time.UTC
}
