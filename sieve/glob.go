package sieve

import "strings"

// glob is a compiled :matches pattern (RFC 5228 §2.7.1): "*" matches any
// run of octets, "?" one octet, and a backslash makes the next character
// literal ("\\*" in a script is a literal star). The pattern is split at
// its stars into segments of fixed length. A match places the first
// segment at the start and the last at the end, and each middle segment at
// its leftmost occurrence after the previous one: for fixed-length
// segments that placement succeeds whenever any does, so matching never
// backtracks and takes time linear in the value (times the pattern's
// length over 64 for segments with "?", found by bit-parallel search). The
// leftmost placement is also what RFC 5229 §3.2 asks of match variables:
// each wildcard takes as few characters as it can, from the left.
type glob struct {
	segs []gseg
	star bool // the pattern has at least one "*"
	// nwild counts the wildcards, stars and "?", for match variables.
	nwild int
}

// gseg is a run of the pattern between stars.
type gseg struct {
	lit  string   // the octets, lower-cased for i;ascii-casemap; any octet where wild
	wild []uint64 // bit i set when octet i is "?"; nil when none is
	// qnum numbers the "?" of the segment in the pattern's wildcard
	// order; starBefore numbers the star before the segment (0: none).
	qnum       []int
	starBefore int
	masks      []uint64 // bit-parallel search tables, for segments with "?"
	words      int
}

// compileGlob compiles pattern; fold lower-cases it for i;ascii-casemap.
func compileGlob(pattern string, fold bool) *glob {
	g := &glob{}
	var lit []byte
	var wild []uint64
	var qnum []int
	starBefore := 0
	flush := func() {
		s := gseg{lit: string(lit), wild: wild, qnum: qnum, starBefore: starBefore}
		if wild != nil {
			s.buildMasks()
		}
		g.segs = append(g.segs, s)
		lit, wild, qnum = nil, nil, nil
	}
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		switch c {
		case '*':
			flush()
			g.star = true
			g.nwild++
			starBefore = g.nwild
			continue
		case '?':
			n := len(lit)
			for len(wild) <= n/64 {
				wild = append(wild, 0)
			}
			wild[n/64] |= 1 << (n % 64)
			g.nwild++
			qnum = append(qnum, g.nwild)
			lit = append(lit, 0)
			continue
		case '\\':
			if i+1 < len(pattern) {
				i++
				c = pattern[i]
			}
		}
		if fold && c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		lit = append(lit, c)
	}
	flush()
	return g
}

// match matches value (lower-cased already when the glob folds; orig is
// the value as it is, for match variables). caps, when not nil, receives
// the match variables: ${0} the value, then one per wildcard. The work,
// in octets looked at, is added to *work.
func (g *glob) match(value, orig string, caps []string, work *int) bool {
	segs := g.segs
	if !g.star {
		s := &segs[0]
		*work += len(value)
		if len(value) != len(s.lit) || !s.at(value, 0) {
			return false
		}
		g.capture(caps, orig, s, 0)
		return true
	}
	first, last := &segs[0], &segs[len(segs)-1]
	lastStart := len(value) - len(last.lit)
	if lastStart < len(first.lit) || !first.at(value, 0) || !last.at(value, lastStart) {
		*work += len(first.lit) + len(last.lit)
		return false
	}
	pos := len(first.lit)
	starts := make([]int, len(segs))
	starts[len(segs)-1] = lastStart
	for i := 1; i < len(segs)-1; i++ {
		s := &segs[i]
		at := s.find(value[pos:lastStart], work)
		if at < 0 {
			return false
		}
		starts[i] = pos + at
		pos += at + len(s.lit)
	}
	if caps != nil {
		g.capture(caps, orig, first, 0)
		end := len(first.lit)
		for i := 1; i < len(segs); i++ {
			s := &segs[i]
			if n := s.starBefore; n < len(caps) {
				caps[n] = orig[end:starts[i]]
			}
			g.capture(caps, orig, s, starts[i])
			end = starts[i] + len(s.lit)
		}
		caps[0] = orig
	}
	return true
}

// capture stores what the "?" of s matched at off.
func (g *glob) capture(caps []string, orig string, s *gseg, off int) {
	if caps == nil {
		return
	}
	caps[0] = orig
	j := 0
	for i := 0; i < len(s.lit) && j < len(s.qnum); i++ {
		if s.isWild(i) {
			if n := s.qnum[j]; n < len(caps) {
				caps[n] = orig[off+i : off+i+1]
			}
			j++
		}
	}
}

func (s *gseg) isWild(i int) bool {
	return s.wild != nil && i/64 < len(s.wild) && s.wild[i/64]&(1<<(i%64)) != 0
}

// at reports whether the segment matches value at off.
func (s *gseg) at(value string, off int) bool {
	if off < 0 || off+len(s.lit) > len(value) {
		return false
	}
	if s.wild == nil {
		return value[off:off+len(s.lit)] == s.lit
	}
	for i := 0; i < len(s.lit); i++ {
		if value[off+i] != s.lit[i] && !s.isWild(i) {
			return false
		}
	}
	return true
}

// find returns the first offset in text where the segment matches, or -1.
func (s *gseg) find(text string, work *int) int {
	if s.wild == nil {
		at := strings.Index(text, s.lit)
		if at < 0 {
			*work += len(text)
		} else {
			*work += at + len(s.lit)
		}
		return at
	}
	m := len(s.lit)
	words := s.words
	scanned := 0
	defer func() { *work += scanned * words }()
	// Shift-And: bit i of d is set when the segment's first i+1 octets
	// match the text ending here.
	d := make([]uint64, words)
	top, topBit := (m-1)/64, uint64(1)<<((m-1)%64)
	for j := 0; j < len(text); j++ {
		scanned++
		row := s.masks[int(text[j])*words : int(text[j])*words+words]
		carry := uint64(1)
		for w := 0; w < words; w++ {
			next := d[w] >> 63
			d[w] = (d[w]<<1 | carry) & (row[w] | s.wild[w])
			carry = next
		}
		if d[top]&topBit != 0 {
			return j - m + 1
		}
	}
	return -1
}

func (s *gseg) buildMasks() {
	words := (len(s.lit) + 63) / 64
	for len(s.wild) < words {
		s.wild = append(s.wild, 0)
	}
	masks := make([]uint64, 256*words)
	for i := 0; i < len(s.lit); i++ {
		if !s.isWild(i) {
			masks[int(s.lit[i])*words+i/64] |= 1 << (i % 64)
		}
	}
	s.words, s.masks = words, masks
}
