package sqlite

import (
	"testing"

	"postern/storage"
	"postern/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, storagetest.Harness{
		Open: func(t *testing.T) storage.Backend { return openTest(t) },
		Peer: func(t *testing.T, st storage.Backend) storage.Backend {
			peer, err := Open(st.(*Store).Dir(), Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { peer.Close() })
			return peer
		},
	})
}
