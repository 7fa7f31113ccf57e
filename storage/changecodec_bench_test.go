package storage

import "testing"

// BenchmarkEncodeStore10k: the log entry of a STORE on 10,000 messages.
func BenchmarkEncodeStore10k(b *testing.B) {
	e := Event{Kind: EventFlags, Mailbox: "INBOX", UIDs: make([]uint32, 10000), Flags: make([]FlagSet, 10000), ModSeqs: make([]uint64, 10000)}
	for i := range e.UIDs {
		e.UIDs[i], e.Flags[i], e.ModSeqs[i] = uint32(i+1), FlagSet{System: FlagSeen, Keywords: []string{"$Label1"}}, 777
	}
	b.ReportAllocs()
	for b.Loop() {
		EncodeChange(&e)
	}
}
