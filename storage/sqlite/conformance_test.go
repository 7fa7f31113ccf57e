package sqlite

import (
	"math/rand/v2"
	"testing"

	"postern/storage"
	"postern/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, storagetest.Harness{
		Open: func(t *testing.T) storage.Backend {
			st, err := Open(t.TempDir(), Options{Follow: true})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		},
		Peer: func(t *testing.T, st storage.Backend) storage.Backend {
			// Another process, as far as the change log can tell.
			peer, err := Open(st.(*Store).Dir(), Options{NodeID: rand.Uint64() | 1<<63})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { peer.Close() })
			return peer
		},
	})
}
