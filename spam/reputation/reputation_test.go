package reputation

import (
	"context"
	"testing"
)

func TestMemStore(t *testing.T) {
	ctx := context.Background()
	m := NewMemStore()
	m.Add(ctx, "alice", "Bob@Example.TEST.")
	m.Add(ctx, "alice", "not an address")
	for addr, want := range map[string][2]bool{
		"bob@example.test":   {true, true},
		"BOB@example.test":   {true, true},
		"carol@example.test": {false, true},
		"bob@other.test":     {false, false},
		"garbage":            {false, false},
	} {
		a, d, err := m.Known(ctx, "alice", addr)
		if err != nil || a != want[0] || d != want[1] {
			t.Errorf("%s: %v %v %v, want %v", addr, a, d, err, want)
		}
	}
	if a, d, _ := m.Known(ctx, "dave", "bob@example.test"); a || d {
		t.Error("accounts share correspondents")
	}
	for in, want := range map[string]string{"A@B.test": "a@b.test", "@b.test": "", "a@": "", "x@y@Z.test": "x@y@z.test"} {
		if got, _, _ := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}
