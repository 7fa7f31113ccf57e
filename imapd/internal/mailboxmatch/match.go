// Package mailboxmatch matches mailbox names against LIST patterns
// (RFC 3501 §6.3.8) in time linear in the name.
package mailboxmatch

import "errors"

// MaxWildcards is the most "*" and "%" a pattern may carry.
const MaxWildcards = 32

// ErrTooManyWildcards is returned by Compile for an over-wild pattern.
var ErrTooManyWildcards = errors.New("too many wildcards in the mailbox pattern")

// Pattern is a compiled LIST pattern: "*" matches anything, "%" anything
// but the hierarchy delimiter.
type Pattern struct {
	pat   string
	delim byte
}

// Compile checks a pattern.
func Compile(pattern string, delim byte) (*Pattern, error) {
	n := 0
	for i := 0; i < len(pattern); i++ {
		if pattern[i] == '*' || pattern[i] == '%' {
			n++
		}
	}
	if n > MaxWildcards {
		return nil, ErrTooManyWildcards
	}
	return &Pattern{pat: pattern, delim: delim}, nil
}

// Match reports whether name matches. It simulates the pattern as an NFA
// over the name (one set of pattern positions per byte), so the cost is
// O(len(name) × len(pattern)) whatever the pattern, unlike backtracking.
func (p *Pattern) Match(name string) bool {
	m := len(p.pat)
	cur := make([]bool, m+1)
	next := make([]bool, m+1)
	cur[0] = true
	closure(p.pat, cur)
	for i := 0; i < len(name); i++ {
		c := name[i]
		for j := range next {
			next[j] = false
		}
		any := false
		for j := 0; j < m; j++ {
			if !cur[j] {
				continue
			}
			switch pc := p.pat[j]; {
			case pc == '*':
				next[j] = true
				any = true
			case pc == '%':
				if c != p.delim {
					next[j] = true
					any = true
				}
			case pc == c:
				next[j+1] = true
				any = true
			}
		}
		if !any {
			return false
		}
		closure(p.pat, next)
		cur, next = next, cur
	}
	return cur[m]
}

// closure adds the positions reachable by letting a wildcard match
// nothing.
func closure(pat string, set []bool) {
	for j := 0; j < len(pat); j++ {
		if set[j] && (pat[j] == '*' || pat[j] == '%') {
			set[j+1] = true
		}
	}
}
