package imapd

import (
	"slices"

	"github.com/emersion/go-imap/v2"
)

// selected is a session's view of its selected mailbox. Message sequence
// numbers are positions in uids plus one (RFC 3501 §2.3.1.2); the view
// changes only when this session reports a change to its client.
type selected struct {
	id          int64
	name        string
	readOnly    bool
	uidValidity uint32
	uids        []uint32 // ascending
	recent      []uint32 // ascending: the UIDs this session reports as \Recent
	keywords    []string // the keywords this session has announced in FLAGS
	// saved is "$", the result a SEARCH saved (RFC 5182), as ascending
	// UIDs; a new SELECT starts with it empty (§2.1).
	saved []uint32
	// contexts are the searches kept up to date (RFC 5267 §4.3).
	contexts []*searchContext
}

// seqOf returns the sequence number of uid, or 0.
func (s *selected) seqOf(uid uint32) uint32 {
	i, ok := slices.BinarySearch(s.uids, uid)
	if !ok {
		return 0
	}
	return uint32(i + 1)
}

func (s *selected) isRecent(uid uint32) bool {
	_, ok := slices.BinarySearch(s.recent, uid)
	return ok
}

func (s *selected) addRecent(uids []uint32) {
	for _, u := range uids {
		if i, ok := slices.BinarySearch(s.recent, u); !ok {
			s.recent = slices.Insert(s.recent, i, u)
		}
	}
}

// recentCount counts recent UIDs that are in the view.
func (s *selected) recentCount() uint32 {
	var n uint32
	for _, u := range s.recent {
		if s.seqOf(u) != 0 {
			n++
		}
	}
	return n
}

// member is a message picked by a sequence set: its sequence number and UID.
type member struct {
	seq uint32
	uid uint32
}

// resolve turns a sequence set or UID set into the messages of the view
// it names, in ascending order. "*" is the last message of this view
// (RFC 3501 §6.4.8: for UIDs, the highest UID in the mailbox view). UIDs
// not in the view are ignored; sequence numbers past the end are an error
// the caller reports as BAD.
func (s *selected) resolve(set imap.NumSet) ([]member, bool) {
	n := uint32(len(s.uids))
	var out []member
	if isSaved(set) {
		// "$": the saved UIDs still in the view (RFC 5182 §2.1).
		for _, u := range s.saved {
			if q := s.seqOf(u); q != 0 {
				out = append(out, member{q, u})
			}
		}
		return out, true
	}
	switch set := set.(type) {
	case imap.SeqSet:
		for _, r := range set {
			lo, hi := r.Start, r.Stop
			if n == 0 && (lo == 0 || hi == 0) {
				// "1:*" on an empty mailbox names nothing; clients
				// send it to sync an empty folder.
				continue
			}
			if lo == 0 {
				lo = n
			}
			if hi == 0 {
				hi = n
			}
			if lo > hi {
				lo, hi = hi, lo
			}
			if lo == 0 || hi > n {
				return nil, false
			}
			for q := lo; q <= hi; q++ {
				out = append(out, member{q, s.uids[q-1]})
			}
		}
	case imap.UIDSet:
		if n == 0 {
			return nil, true
		}
		max := s.uids[n-1]
		for _, r := range set {
			lo, hi := uint32(r.Start), uint32(r.Stop)
			if lo == 0 {
				lo = max
			}
			if hi == 0 {
				hi = max
			}
			if lo > hi {
				lo, hi = hi, lo
			}
			i, _ := slices.BinarySearch(s.uids, lo)
			for ; i < len(s.uids) && s.uids[i] <= hi; i++ {
				out = append(out, member{uint32(i + 1), s.uids[i]})
			}
		}
	}
	// Ranges of one set may overlap; keep each message once, in order.
	slices.SortFunc(out, func(a, b member) int { return int(a.seq) - int(b.seq) })
	out = slices.CompactFunc(out, func(a, b member) bool { return a.seq == b.seq })
	return out, true
}

func uidsOf(ms []member) []uint32 {
	u := make([]uint32, len(ms))
	for i, m := range ms {
		u[i] = m.uid
	}
	return u
}
