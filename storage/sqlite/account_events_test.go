package sqlite

import (
	"context"
	"errors"
	"testing"
	"time"

	"postern/storage"
)

func ended(sub *storage.Subscription) bool {
	select {
	case <-sub.Ended():
		return true
	default:
		return false
	}
}

// Deleting or disabling an account ends its subscriptions at once, so that
// every session of it can end; a subscription made after that is ended
// from the start, and enabling the account again lets new ones live.
func TestAccountEndEndsSubscriptions(t *testing.T) {
	st := openTest(t)
	ctx := context.Background()
	a := newAccount(t, st, "a@example.test")
	other := newAccount(t, st, "other@example.test")
	sub := st.Subscribe(a.ID)
	defer sub.Close()
	subOther := st.Subscribe(other.ID)
	defer subOther.Close()
	fired := make(chan struct{})
	sub.AfterEnd(func() { close(fired) })
	if ended(sub) || sub.Err() != nil {
		t.Fatal("a new subscription is ended")
	}

	if err := st.DisableAccount(ctx, "A@example.test"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-fired:
	case <-time.After(10 * time.Second):
		t.Fatal("AfterEnd did not run after DisableAccount")
	}
	if !ended(sub) || !errors.Is(sub.Err(), storage.ErrAccountDisabled) {
		t.Errorf("after DisableAccount: ended %v, Err %v", ended(sub), sub.Err())
	}
	if ended(subOther) {
		t.Error("another account's subscription ended")
	}
	if accts, _ := st.Accounts(ctx); !accts[0].Disabled {
		t.Errorf("accounts: %+v", accts)
	}
	if _, err := st.Authenticate(ctx, "a@example.test", "secret"); !errors.Is(err, storage.ErrAuthFailed) {
		t.Errorf("login of a disabled account: %v", err)
	}
	late := st.Subscribe(a.ID)
	if !ended(late) || !errors.Is(late.Err(), storage.ErrAccountDisabled) {
		t.Errorf("subscription made after the disable: ended %v, Err %v", ended(late), late.Err())
	}
	late.Close()

	if err := st.EnableAccount(ctx, "a@example.test"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Authenticate(ctx, "a@example.test", "secret"); err != nil {
		t.Errorf("login after enable: %v", err)
	}
	again := st.Subscribe(a.ID)
	defer again.Close()
	if ended(again) {
		t.Error("subscription after enable is ended")
	}
	if err := st.DisableAccount(ctx, "nobody@example.test"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("disable of an unknown account: %v", err)
	}

	if err := st.DeleteAccount(ctx, "a@example.test"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !ended(again) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if !ended(again) || !errors.Is(again.Err(), storage.ErrAccountDeleted) {
		t.Errorf("after DeleteAccount: ended %v, Err %v", ended(again), again.Err())
	}
	gone := st.Subscribe(a.ID)
	defer gone.Close()
	if !errors.Is(gone.Err(), storage.ErrAccountDeleted) {
		t.Errorf("subscription to a deleted account: %v", gone.Err())
	}
}

// WatchAccount is for sessions that show no mailbox: it keeps no events,
// however much mail arrives, and still ends with the account.
func TestWatchAccountKeepsNoEvents(t *testing.T) {
	st := openTest(t)
	ctx := context.Background()
	a := newAccount(t, st, "a@example.test")
	w := st.WatchAccount(a.ID)
	defer w.Close()
	for i := range 5 {
		if _, err := st.Append(ctx, []storage.AppendItem{{AccountID: a.ID, Body: msg("x", itoa(int64(i)))}}); err != nil {
			t.Fatal(err)
		}
	}
	if n := w.Pending(); n != 0 {
		t.Errorf("a watch holds %d events", n)
	}
	if err := st.DeleteAccount(ctx, a.Address); err != nil {
		t.Fatal(err)
	}
	if !ended(w) {
		t.Error("the watch did not end with the account")
	}
}
