package mimeinfo

import (
	"sort"
	"unicode/utf8"
)

// A Matcher finds which of a set of strings occur in a text, compared as
// ContainsFold compares them (RFC 3501 §6.4.4: case-insensitive
// substrings, by Unicode simple case folding), in one pass over the text
// whatever the number of strings. It is an Aho–Corasick automaton (Aho and
// Corasick, "Efficient string matching", CACM 18(6), 1975) over the folded
// UTF-8 of the strings; the text is folded as it is read. SEARCH builds
// one per command so that each message is read once for all its keys:
// with a string at a time, a SEARCH of many keys costs keys times text.
//
// Building takes time and memory linear in the total length of the
// strings; a Matcher is read-only afterwards, and each Scan keeps its own
// state.
type Matcher struct {
	uniq  []int32 // pattern index -> unique folded pattern
	nuniq int
	empty int32 // unique id of the empty pattern, or -1

	// The trie, nodes numbered in breadth-first order (0 is the root):
	// the edges of node n are label/next[first[n]:first[n+1]], sorted.
	root  [256]int32 // the root's edges, dense: 0 means none
	first []int32
	label []byte
	next  []int32
	fail  []int32 // longest proper suffix that is a trie node
	out   []int32 // unique id of the pattern that ends here, or -1
	dict  []int32 // nearest node on the fail chain with out >= 0, or -1
}

// NewMatcher builds a Matcher for patterns; Scan.Found(i) reports on
// patterns[i]. Patterns may repeat.
func NewMatcher(patterns []string) *Matcher {
	m := &Matcher{uniq: make([]int32, len(patterns)), empty: -1}
	ids := make(map[string]int32, len(patterns))
	var uniq []string
	for i, p := range patterns {
		f := FoldCase(p)
		id, ok := ids[f]
		if !ok {
			id = int32(len(uniq))
			ids[f] = id
			uniq = append(uniq, f)
			if f == "" {
				m.empty = id
			}
		}
		m.uniq[i] = id
	}
	m.nuniq = len(uniq)
	m.build(uniq, ids)
	return m
}

// build makes the trie breadth first from the sorted patterns, so that
// the edges of each node are contiguous and a node's failure link points
// to a node numbered before it.
func (m *Matcher) build(pats []string, ids map[string]int32) {
	sorted := make([]string, 0, len(pats))
	for _, p := range pats {
		if p != "" {
			sorted = append(sorted, p)
		}
	}
	sort.Strings(sorted)
	// Each node is a range of the sorted patterns sharing its prefix.
	type span struct{ lo, hi, depth int32 }
	spans := []span{{0, int32(len(sorted)), 0}}
	m.first = append(m.first, 0)
	for n := 0; n < len(spans); n++ {
		sp := spans[n]
		out := int32(-1)
		if sp.lo < sp.hi && int32(len(sorted[sp.lo])) == sp.depth {
			// Patterns are unique: only the first of the range can end here.
			out = ids[sorted[sp.lo]]
			sp.lo++
		}
		m.out = append(m.out, out)
		for i := sp.lo; i < sp.hi; {
			c := sorted[i][sp.depth]
			j := i + 1
			for j < sp.hi && sorted[j][sp.depth] == c {
				j++
			}
			child := int32(len(spans))
			spans = append(spans, span{i, j, sp.depth + 1})
			if n == 0 {
				m.root[c] = child
			}
			m.label = append(m.label, c)
			m.next = append(m.next, child)
			i = j
		}
		m.first = append(m.first, int32(len(m.label)))
	}
	nodes := len(spans)
	m.fail = make([]int32, nodes)
	m.dict = make([]int32, nodes)
	m.dict[0] = -1
	for u := 0; u < nodes; u++ {
		for e := m.first[u]; e < m.first[u+1]; e++ {
			v := m.next[e]
			f := int32(0)
			if u != 0 {
				f = m.step(m.fail[u], m.label[e])
			}
			m.fail[v] = f
			if m.out[f] >= 0 {
				m.dict[v] = f
			} else {
				m.dict[v] = m.dict[f]
			}
		}
	}
}

// child returns the node reached from n by c, or -1.
func (m *Matcher) child(n int32, c byte) int32 {
	lo, hi := m.first[n], m.first[n+1]
	for hi-lo > 8 { // c, if there, is in [lo, hi)
		mid := (lo + hi) / 2
		if m.label[mid] < c {
			lo = mid + 1
		} else {
			hi = mid + 1
		}
	}
	for ; lo < hi; lo++ {
		if m.label[lo] == c {
			return m.next[lo]
		}
	}
	return -1
}

// step is the automaton's transition from n on c.
func (m *Matcher) step(n int32, c byte) int32 {
	for n != 0 {
		if v := m.child(n, c); v >= 0 {
			return v
		}
		n = m.fail[n]
	}
	return m.root[c]
}

// A Scan is one run of a Matcher over a text given in pieces.
type Scan struct {
	m     *Matcher
	state int32
	gen   uint32
	seen  []uint32 // seen[u] == gen: unique pattern u was found
	left  int      // unique patterns not found yet
}

// NewScan returns a Scan with nothing found.
func (m *Matcher) NewScan() *Scan {
	s := &Scan{m: m, seen: make([]uint32, m.nuniq)}
	s.Reset()
	return s
}

// Reset starts a new text: nothing is found.
func (s *Scan) Reset() {
	s.gen++
	if s.gen == 0 {
		clear(s.seen)
		s.gen = 1
	}
	s.state = 0
	s.left = s.m.nuniq
}

// Break marks a boundary in the text that no match may span.
func (s *Scan) Break() { s.state = 0 }

// Found reports whether pattern i occurred in the text so far. The empty
// pattern occurs in any text, once Write has been called.
func (s *Scan) Found(i int) bool { return s.seen[s.m.uniq[i]] == s.gen }

// Done reports whether every pattern has been found, so that the rest of
// the text can change nothing.
func (s *Scan) Done() bool { return s.left == 0 }

func (s *Scan) mark(u int32) bool {
	if s.seen[u] == s.gen {
		return false
	}
	s.seen[u] = s.gen
	s.left--
	return true
}

// Write reads the next piece of the text, folding its case as FoldCase
// does (invalid UTF-8 reads as U+FFFD).
func (s *Scan) Write(text string) {
	s.wrote()
	root := &s.m.root
	for i := 0; i < len(text) && s.left > 0; {
		if s.state == 0 {
			// Most of a text starts no pattern: skip it quickly.
			for i < len(text) && text[i] < utf8.RuneSelf && root[lowerASCII(text[i])] == 0 {
				i++
			}
			if i == len(text) {
				break
			}
		}
		if c := text[i]; c < utf8.RuneSelf {
			s.feed(lowerASCII(c))
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(text[i:])
		i += n
		s.feedRune(r)
	}
}

// wrote notes that some text, maybe empty, was given: the empty pattern
// occurs in it.
func (s *Scan) wrote() {
	if s.m.empty >= 0 {
		s.mark(s.m.empty)
	}
}

func (s *Scan) feedRune(r rune) {
	var buf [utf8.UTFMax]byte
	for _, b := range utf8.AppendRune(buf[:0], foldRune(r)) {
		s.feed(b)
	}
}

func (s *Scan) feed(c byte) {
	m := s.m
	s.state = m.step(s.state, c)
	t := s.state
	if m.out[t] < 0 {
		t = m.dict[t]
	}
	// Every pattern on the dictionary chain of a node found before was
	// marked then: stop at the first one already found.
	for t > 0 && s.mark(m.out[t]) {
		t = m.dict[t]
	}
}
