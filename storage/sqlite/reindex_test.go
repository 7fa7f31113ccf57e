package sqlite

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"postern/mimeinfo"
	"postern/storage"
)

// makeStale turns every body back into what an older analysis left: the
// version before and none of the columns it did not compute.
func makeStale(t *testing.T, st *Store) {
	t.Helper()
	if _, err := st.wdb.Exec(`UPDATE meta SET value = 1 WHERE key = 'analysis_min';
		UPDATE bodies SET analysis = ?, envelope = X'', bodystructure = X'';
		UPDATE body_search SET in_reply_to='', refs='', base_subject='', from_list='', sender_list='',
			reply_to_list='', to_list='', cc_list='', bcc_list=''`, mimeinfo.Version-1); err != nil {
		t.Fatal(err)
	}
}

// ReindexBodies analyses stale bodies again, in batches, until none is
// left, while mail keeps arriving; what it writes is what storing the
// message now would have written.
func TestReindexBodies(t *testing.T) {
	st := openTest(t)
	ctx := context.Background()
	a := newAccount(t, st, "a@example.test")
	const n = 250
	items := make([]storage.AppendItem, n)
	for i := range items {
		items[i] = storage.AppendItem{AccountID: a.ID, Body: storage.NewBody([]byte(fmt.Sprintf(
			"From: sender%d@Example.TEST\r\nTo: a@example.test\r\nSubject: Re: [list] topic %d\r\nIn-Reply-To: <%d@x>\r\n\r\nbody %d\r\n", i, i, i, i)))}
	}
	if _, err := st.Append(ctx, items); err != nil {
		t.Fatal(err)
	}
	inbox := mailbox(t, st, a.ID, "INBOX")
	cols := storage.SearchSubject | storage.SearchInReplyTo | storage.SearchBaseSubject | storage.SearchAddresses
	want, err := st.SearchHeaders(ctx, inbox.ID, cols)
	if err != nil {
		t.Fatal(err)
	}
	wantMsgs, _ := st.FetchMessages(ctx, inbox.ID, []uint32{1, n}, storage.FetchWant{Envelope: true, Structure: true, Header: true})
	makeStale(t, st)
	if got, err := st.StaleBodies(ctx); err != nil || got != n {
		t.Fatalf("StaleBodies = %d, %v; want %d", got, err, n)
	}

	// Deliveries go on meanwhile.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 20 {
			if _, err := st.Append(ctx, []storage.AppendItem{{AccountID: a.ID, Body: msg("during", fmt.Sprint(i))}}); err != nil {
				t.Error(err)
			}
		}
	}()
	total, batches, next := 0, 0, int64(0)
	for {
		k, after, err := st.ReindexBodies(ctx, next, 40)
		if err != nil {
			t.Fatal(err)
		}
		if k == 0 {
			break
		}
		if after <= next {
			t.Fatalf("the batch after %d goes on after %d", next, after)
		}
		total, next = total+k, after
		batches++
		if batches > n {
			t.Fatal("reindex does not end")
		}
	}
	wg.Wait()
	if total != n || batches < n/40 {
		t.Errorf("reindexed %d bodies in %d batches, want %d in batches of at most 40", total, batches, n)
	}
	if got, _ := st.StaleBodies(ctx); got != 0 {
		t.Errorf("%d bodies still stale", got)
	}
	var low int
	st.rdb.QueryRow(`SELECT value FROM meta WHERE key='analysis_min'`).Scan(&low)
	if low != mimeinfo.Version {
		t.Errorf("meta analysis_min %d after all were done, want %d", low, mimeinfo.Version)
	}
	got, _ := st.SearchHeaders(ctx, inbox.ID, cols)
	for i := range want {
		if fmt.Sprintf("%+v", got[i]) != fmt.Sprintf("%+v", want[i]) {
			t.Fatalf("uid %d after reindex:\n%+v\nwant\n%+v", want[i].UID, got[i], want[i])
		}
	}
	gotMsgs, _ := st.FetchMessages(ctx, inbox.ID, []uint32{1, n}, storage.FetchWant{Envelope: true, Structure: true, Header: true})
	if fmt.Sprintf("%+v", gotMsgs) != fmt.Sprintf("%+v", wantMsgs) {
		t.Errorf("FETCH columns after reindex differ:\n%+v\nwant\n%+v", gotMsgs, wantMsgs)
	}
}
