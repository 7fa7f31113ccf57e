package storage

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
)

func TestChangeCodecRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	events := []Event{
		{},
		{Mailbox: "INBOX", UIDs: []uint32{1}},
		{Mailbox: "Ünïcödé/日本", NewName: "x", Address: "a@example.test"},
		{UIDs: []uint32{5, 3, 1 << 31, 0xffffffff, 1}}, // unsorted and at the extremes
		{UIDs: []uint32{1, 2, 3}, Flags: []FlagSet{{System: FlagSeen}, {System: FlagSeen}, {System: FlagDeleted, Keywords: []string{"$a", "b"}}},
			ModSeqs: []uint64{7, 7, 7}},
		{UIDs: []uint32{1, 2}, Flags: []FlagSet{{}, {Keywords: []string{"k"}}}, ModSeqs: []uint64{1, 1 << 62}},
	}
	for range 200 {
		n := r.IntN(50)
		e := Event{Mailbox: fmt.Sprint(r.Int()), UIDs: make([]uint32, n)}
		if r.IntN(2) == 0 {
			e.Flags = make([]FlagSet, n)
			e.ModSeqs = make([]uint64, n)
		}
		for i := range n {
			e.UIDs[i] = r.Uint32()
			if e.Flags != nil {
				e.Flags[i] = FlagSet{System: Flags(r.IntN(32))}
				if r.IntN(3) == 0 {
					e.Flags[i].Keywords = []string{fmt.Sprint("k", r.IntN(3))}
				}
				e.ModSeqs[i] = r.Uint64N(3) + 10
			}
		}
		events = append(events, e)
	}
	for i, e := range events {
		data := EncodeChange(&e)
		var got Event
		if err := DecodeChange(&got, data); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if len(e.UIDs) == 0 {
			e.UIDs = nil
		}
		if len(e.UIDs) == 0 || len(e.Flags) == 0 {
			e.Flags = nil
		}
		if len(e.UIDs) == 0 || len(e.ModSeqs) == 0 {
			e.ModSeqs = nil
		}
		if !reflect.DeepEqual(got, e) {
			t.Fatalf("event %d: %+v came back as %+v", i, e, got)
		}
	}
	// A run of UIDs costs about one octet each.
	run := make([]uint32, 10000)
	for i := range run {
		run[i] = uint32(i + 1)
	}
	flags := make([]FlagSet, len(run))
	mods := make([]uint64, len(run))
	for i := range flags {
		flags[i] = FlagSet{System: FlagSeen}
		mods[i] = 123456
	}
	if n := len(EncodeChange(&Event{UIDs: run, Flags: flags, ModSeqs: mods})); n > 2*len(run)+100 {
		t.Errorf("a STORE on 10,000 messages takes %d octets", n)
	}
}

func TestUIDsCodec(t *testing.T) {
	for _, uids := range [][]uint32{nil, {1}, {1, 2, 3, 100000}, {0xffffffff, 0}} {
		got, err := DecodeUIDs(AppendUIDs(nil, uids))
		if err != nil || fmt.Sprint(got) != fmt.Sprint(uids) && len(uids) > 0 {
			t.Errorf("%v came back as %v, %v", uids, got, err)
		}
	}
	for _, bad := range [][]byte{{}, {5}, {1, 0x80}, {2, 2}, {1, 2, 3}, {1, 0xfe, 0xff, 0xff, 0xff, 0x3f}} {
		if got, err := DecodeUIDs(bad); err == nil {
			t.Errorf("%x decoded as %v", bad, got)
		}
	}
}

// FuzzDecodeChange: damaged stored entries are refused, never a panic or
// an allocation out of proportion to their size; what decodes encodes
// back to a value that decodes the same.
func FuzzDecodeChange(f *testing.F) {
	f.Add(EncodeChange(&Event{Mailbox: "INBOX", UIDs: []uint32{1, 2}}))
	f.Add(EncodeChange(&Event{UIDs: []uint32{9, 3}, Flags: []FlagSet{{System: FlagSeen}, {Keywords: []string{"a"}}}, ModSeqs: []uint64{4, 5}}))
	f.Add(EncodeChange(&Event{UIDs: []uint32{7}, Flags: []FlagSet{{}}, ModSeqs: []uint64{1}}))
	f.Add([]byte{1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Add([]byte{1, 0, 0, 0, 1, 2, 1, 5, 0, 0, 1, 2})
	f.Fuzz(func(t *testing.T, data []byte) {
		var e Event
		if err := DecodeChange(&e, data); err != nil {
			return
		}
		if len(e.UIDs) > len(data) || len(e.Flags) > len(data) || len(e.ModSeqs) > len(data) && len(e.ModSeqs) != len(e.UIDs) {
			t.Fatalf("%d octets decoded to %d UIDs, %d flags, %d MODSEQs", len(data), len(e.UIDs), len(e.Flags), len(e.ModSeqs))
		}
		again := EncodeChange(&e)
		var e2 Event
		if err := DecodeChange(&e2, again); err != nil {
			t.Fatalf("re-encoded %x: %v", again, err)
		}
		if !bytes.Equal(EncodeChange(&e2), again) {
			t.Fatalf("%x does not encode stably", data)
		}
	})
}
