package sqlite

import (
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
			// Every store opened is a node of its own, as another
			// process would be.
			peer, err := Open(st.(*Store).Dir(), Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { peer.Close() })
			return peer
		},
	})
}
