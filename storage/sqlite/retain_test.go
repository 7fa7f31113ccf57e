package sqlite

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"weak"

	"postern/storage"
)

// TestCommittedBodiesUnreachable: once Append has answered, nothing in the
// store (the writer's batch, the write channel) keeps the request or its
// message alive. A retained body is memory that only grows with the largest
// message, and mail content left in memory after its commit.
func TestCommittedBodiesUnreachable(t *testing.T) {
	st := openTest(t)
	a := newAccount(t, st, "alice@example.test")
	text := strings.Repeat(strings.Repeat("x", 78)+"\r\n", 1000)

	const n = 16
	ptrs := make([]weak.Pointer[storage.Body], n)
	var wg sync.WaitGroup
	for i := range n {
		body := storage.NewBody(fmt.Appendf(nil, "Subject: burst %d\r\n\r\n%s", i, text))
		ptrs[i] = weak.Make(body)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := st.Append(context.Background(), []storage.AppendItem{{AccountID: a.ID, Body: body}}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	runtime.GC()
	runtime.GC()
	for i, p := range ptrs {
		if p.Value() != nil {
			t.Errorf("body %d is still reachable after its commit was answered", i)
		}
	}
}
