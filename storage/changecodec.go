package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// A change is stored with its kind, account, mailbox, MODSEQ and origin in
// columns of their own, and the rest of its event in one value, encoded
// here so that every backend stores the same bytes:
//
//	version   byte (1)
//	mailbox, new name, address: uvarint length, then the octets
//	UIDs      uvarint count, then each as a zigzag varint delta from the
//	          previous (from 0): a run of UIDs costs one octet each
//	flags     byte 0 (none) or 1: uvarint count of distinct flag sets, each
//	          a byte of system flags and a string list of keywords, then
//	          one uvarint index per UID (a STORE on 10,000 messages sets
//	          one or two distinct sets)
//	MODSEQs   byte 0 (none), 1 (one value for every UID: uvarint) or 2
//	          (uvarint per UID)
//
// Decoding checks every count against the octets left, so that a damaged
// value costs an error, never a large allocation.

const changeCodecVersion = 1

var errBadChange = errors.New("storage: malformed change-log entry")

// EncodeChange returns the stored form of what e carries besides its kind,
// ids, MODSEQ, position and origin.
func EncodeChange(e *Event) []byte {
	b := make([]byte, 0, 16+len(e.Mailbox)+len(e.NewName)+len(e.Address)+2*len(e.UIDs))
	b = append(b, changeCodecVersion)
	b = appendString(b, e.Mailbox)
	b = appendString(b, e.NewName)
	b = appendString(b, e.Address)
	b = AppendUIDs(b, e.UIDs)
	if len(e.Flags) == len(e.UIDs) && len(e.UIDs) > 0 {
		b = append(b, 1)
		var sets []FlagSet
		index := make([]uint64, len(e.Flags))
	each:
		for i, fs := range e.Flags {
			for j := range sets {
				if sets[j].Equal(fs) {
					index[i] = uint64(j)
					continue each
				}
			}
			index[i] = uint64(len(sets))
			sets = append(sets, fs)
		}
		b = binary.AppendUvarint(b, uint64(len(sets)))
		for _, fs := range sets {
			b = append(b, byte(fs.System))
			b = binary.AppendUvarint(b, uint64(len(fs.Keywords)))
			for _, k := range fs.Keywords {
				b = appendString(b, k)
			}
		}
		for _, x := range index {
			b = binary.AppendUvarint(b, x)
		}
	} else {
		b = append(b, 0)
	}
	switch {
	case len(e.ModSeqs) == 0 || len(e.ModSeqs) != len(e.UIDs):
		b = append(b, 0)
	case allEqual(e.ModSeqs):
		b = append(b, 1)
		b = binary.AppendUvarint(b, e.ModSeqs[0])
	default:
		b = append(b, 2)
		for _, m := range e.ModSeqs {
			b = binary.AppendUvarint(b, m)
		}
	}
	return b
}

func allEqual(m []uint64) bool {
	for _, x := range m[1:] {
		if x != m[0] {
			return false
		}
	}
	return true
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// AppendUIDs appends a UID list in the stored form (a count, then zigzag
// deltas).
func AppendUIDs(b []byte, uids []uint32) []byte {
	b = binary.AppendUvarint(b, uint64(len(uids)))
	prev := int64(0)
	for _, u := range uids {
		b = binary.AppendVarint(b, int64(u)-prev)
		prev = int64(u)
	}
	return b
}

// DecodeUIDs reads a UID list written by AppendUIDs, which must be all of
// data.
func DecodeUIDs(data []byte) ([]uint32, error) {
	d := decoder{b: data}
	uids := d.uids()
	if d.err != nil || len(d.b) != 0 {
		return nil, errBadChange
	}
	return uids, nil
}

// DecodeChange fills the fields EncodeChange stores from data.
func DecodeChange(e *Event, data []byte) error {
	d := decoder{b: data}
	if v := d.byte(); v != changeCodecVersion {
		if d.err == nil {
			return fmt.Errorf("%w: version %d", errBadChange, v)
		}
		return errBadChange
	}
	e.Mailbox = d.string()
	e.NewName = d.string()
	e.Address = d.string()
	e.UIDs = d.uids()
	n := len(e.UIDs)
	e.Flags, e.ModSeqs = nil, nil
	if d.byte() == 1 {
		k := d.count()
		sets := make([]FlagSet, 0, k)
		for range k {
			fs := FlagSet{System: Flags(d.byte())}
			nk := d.count()
			for range nk {
				fs.Keywords = append(fs.Keywords, d.string())
			}
			sets = append(sets, fs)
		}
		if d.err != nil || n > 0 && len(sets) == 0 || n > len(d.b) {
			return errBadChange
		}
		e.Flags = make([]FlagSet, n)
		for i := range n {
			x := d.uvarint()
			if x >= uint64(len(sets)) {
				return errBadChange
			}
			e.Flags[i] = sets[x]
		}
	}
	switch d.byte() {
	case 0:
	case 1:
		m := d.uvarint()
		if n > 0 {
			e.ModSeqs = make([]uint64, n)
			for i := range e.ModSeqs {
				e.ModSeqs[i] = m
			}
		}
	case 2:
		if n > len(d.b) {
			return errBadChange
		}
		e.ModSeqs = make([]uint64, n)
		for i := range e.ModSeqs {
			e.ModSeqs[i] = d.uvarint()
		}
	default:
		return errBadChange
	}
	if d.err != nil || len(d.b) != 0 {
		return errBadChange
	}
	return nil
}

// decoder reads the stored form; the first error sticks and makes every
// later read return zero.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) byte() byte {
	if d.err != nil || len(d.b) == 0 {
		d.err = errBadChange
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	x, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errBadChange
		return 0
	}
	d.b = d.b[n:]
	return x
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	x, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errBadChange
		return 0
	}
	d.b = d.b[n:]
	return x
}

// count reads a count of items that take at least one octet each.
func (d *decoder) count() int {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.err = errBadChange
		return 0
	}
	return int(n)
}

func (d *decoder) string() string {
	n := d.count()
	if d.err != nil {
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) uids() []uint32 {
	n := d.count()
	if d.err != nil || n == 0 {
		return nil
	}
	out := make([]uint32, n)
	prev := int64(0)
	for i := range out {
		prev += d.varint()
		if prev < 0 || prev > 1<<32-1 {
			d.err = errBadChange
			return nil
		}
		out[i] = uint32(prev)
	}
	return out
}
