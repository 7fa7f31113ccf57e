package sieve

import (
	"strconv"
	"strings"
)

// comparator is a collation (RFC 4790) for string comparison.
type comparator uint8

const (
	cmpCasemap comparator = iota // i;ascii-casemap, the default (RFC 5228 §2.7.3)
	cmpOctet                     // i;octet
	cmpNumeric                   // i;ascii-numeric (RFC 4790 §9.1)
)

type matchKind uint8

const (
	mIs matchKind = iota
	mContains
	mMatches
	mCount // RFC 5231 §4.1
	mValue // RFC 5231 §4.2
)

// relation is a relational operator of RFC 5231 §5.
type relation uint8

const (
	relGT relation = iota
	relGE
	relLT
	relLE
	relEQ
	relNE
)

var relations = map[string]relation{"gt": relGT, "ge": relGE, "lt": relLT, "le": relLE, "eq": relEQ, "ne": relNE}

// holds reports whether a comparison result c (-1, 0, 1) satisfies rel.
func (rel relation) holds(c int) bool {
	switch rel {
	case relGT:
		return c > 0
	case relGE:
		return c >= 0
	case relLT:
		return c < 0
	case relLE:
		return c <= 0
	case relEQ:
		return c == 0
	}
	return c != 0
}

// matcher is the comparator, match type and keys of a test.
type matcher struct {
	kind matchKind
	rel  relation
	cmp  comparator
	keys strList
	vars bool // a successful :matches sets match variables (RFC 5229 §3.2)
	// For constant keys: the patterns of :matches, the keys folded for
	// the comparator for :is and :contains, and as written otherwise.
	globs  []*glob
	consts []string
}

// compileMatcher reads COMPARATOR and MATCH-TYPE (RFC 5228 §2.7, RFC 5231)
// and the keys. Comparator names and relational operators are taken as
// written, without variable expansion.
func (ck *checker) compileMatcher(a *args, keys Arg) (*matcher, *Error) {
	m := &matcher{vars: ck.has("variables")}
	if tv, ok := a.tags["comparator"]; ok {
		s := tv.params[0].Strings[0]
		switch s.Value {
		case "i;ascii-casemap":
			m.cmp = cmpCasemap
		case "i;octet":
			m.cmp = cmpOctet
		case "i;ascii-numeric":
			if !ck.has("comparator-i;ascii-numeric") {
				return nil, errorf(s.Pos, "comparator \"i;ascii-numeric\" needs require \"comparator-i;ascii-numeric\" (RFC 5228 §2.7.3)")
			}
			m.cmp = cmpNumeric
		default:
			return nil, errorf(s.Pos, "unknown comparator %s", quote(s.Value))
		}
	}
	switch {
	case a.has("contains"):
		m.kind = mContains
	case a.has("matches"):
		m.kind = mMatches
	case a.has("count"), a.has("value"):
		tag := "count"
		m.kind = mCount
		if a.has("value") {
			tag, m.kind = "value", mValue
		}
		s := a.tags[tag].params[0].Strings[0]
		rel, ok := relations[strings.ToLower(s.Value)]
		if !ok {
			return nil, errorf(s.Pos, "unknown relational operator %s: use gt, ge, lt, le, eq or ne (RFC 5231 §5)", quote(s.Value))
		}
		m.rel = rel
	}
	if m.cmp == cmpNumeric && (m.kind == mContains || m.kind == mMatches) {
		return nil, errorf(a.tags["comparator"].pos, "comparator i;ascii-numeric cannot do :contains or :matches (RFC 4790 §9.1)")
	}
	var err *Error
	if m.keys, err = ck.compileList(keys); err != nil {
		return nil, err
	}
	if m.keys.constant() {
		m.consts = []string{}
		for _, k := range m.keys {
			switch m.kind {
			case mMatches:
				m.globs = append(m.globs, compileGlob(k.lit, m.cmp == cmpCasemap))
			case mContains, mIs:
				m.consts = append(m.consts, m.fold(k.lit))
			default:
				m.consts = append(m.consts, k.lit)
			}
		}
	}
	return m, nil
}

func (m *matcher) fold(s string) string {
	if m.cmp == cmpCasemap {
		return lowerASCII(s)
	}
	return s
}

// values matches a list of values against the keys: true when any value
// matches any key. For :count the caller passes the values to count.
func (r *run) match(m *matcher, values []string) (bool, error) {
	if m.kind == mCount {
		return r.matchCount(m, len(values))
	}
	keys, err := r.expandKeys(m)
	if err != nil {
		return false, err
	}
	var caps []string
	if m.kind == mMatches && m.vars {
		caps = make([]string, 10)
	}
	work := 0
	defer func() { r.steps += work / 64 }()
	for _, v := range values {
		fv := v
		if m.cmp == cmpCasemap {
			fv = r.lower(v)
		}
		for i := range m.keys {
			if work/64+r.steps > r.opts.MaxSteps {
				return false, r.step(work/64 + 1)
			}
			var k string
			if keys != nil {
				k = keys[i]
			}
			var ok bool
			switch m.kind {
			case mIs:
				work += len(v)
				if m.cmp == cmpNumeric {
					ok = numericCompare(v, k) == 0
				} else {
					ok = fv == k
				}
			case mContains:
				work += len(v)
				ok = strings.Contains(fv, k)
			case mMatches:
				var g *glob
				if m.globs != nil {
					g = m.globs[i]
				} else {
					g = compileGlob(k, m.cmp == cmpCasemap)
				}
				ok = g.match(fv, v, caps, &work)
			case mValue:
				work += len(v)
				ok = m.rel.holds(m.compare(v, k))
			}
			if ok {
				if caps != nil {
					r.setMatchVars(caps)
				}
				return true, nil
			}
		}
	}
	return false, nil
}

// lower is lowerASCII, remembered for short values: the same header
// values are compared by many tests of one run.
func (r *run) lower(v string) string {
	if len(v) > 1024 {
		return lowerASCII(v)
	}
	if l, ok := r.lowered[v]; ok {
		return l
	}
	l := lowerASCII(v)
	if r.lowered == nil {
		r.lowered = map[string]string{}
	}
	if len(r.lowered) < 4096 {
		r.lowered[v] = l
	}
	return l
}

// matchCount compares a count with the keys (RFC 5231 §4.1).
func (r *run) matchCount(m *matcher, n int) (bool, error) {
	keys, err := r.expandKeys(m)
	if err != nil {
		return false, err
	}
	count := strconv.Itoa(n)
	for _, k := range keys {
		if m.rel.holds(m.compare(count, k)) {
			return true, nil
		}
	}
	return false, nil
}

// expandKeys returns the keys, folded for :is and :contains; nil for
// constant :matches keys, whose patterns are compiled already.
func (r *run) expandKeys(m *matcher) ([]string, error) {
	if m.globs != nil {
		return nil, nil
	}
	if m.consts != nil {
		return m.consts, nil
	}
	keys := make([]string, len(m.keys))
	for i := range m.keys {
		k, err := r.expand(&m.keys[i])
		if err != nil {
			return nil, err
		}
		if m.kind == mIs || m.kind == mContains {
			k = m.fold(k)
		}
		keys[i] = k
	}
	return keys, nil
}

// compare orders a and b by the comparator.
func (m *matcher) compare(a, b string) int {
	switch m.cmp {
	case cmpNumeric:
		return numericCompare(a, b)
	case cmpCasemap:
		return strings.Compare(lowerASCII(a), lowerASCII(b))
	}
	return strings.Compare(a, b)
}

// numericCompare orders strings by i;ascii-numeric (RFC 4790 §9.1.1): the
// number their leading digits spell; a string not starting with a digit
// is positive infinity, equal to every other such string.
func numericCompare(a, b string) int {
	na, nb := leadingDigits(a), leadingDigits(b)
	switch {
	case na == "" && nb == "":
		return 0
	case na == "":
		return 1
	case nb == "":
		return -1
	}
	na, nb = strings.TrimLeft(na, "0"), strings.TrimLeft(nb, "0")
	if len(na) != len(nb) {
		if len(na) < len(nb) {
			return -1
		}
		return 1
	}
	return strings.Compare(na, nb)
}

func leadingDigits(s string) string {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return s[:i]
}
