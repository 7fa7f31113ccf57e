package sqlite

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"postern/storage"
)

// TestCrashChild is not a test on its own: TestSIGKILLDuringAppends runs the test
// binary again with POSTERN_CRASH_DIR set, and this function then appends from 8
// goroutines, printing each UID once Append has returned, until it is killed.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv("POSTERN_CRASH_DIR")
	if dir == "" {
		return
	}
	st, err := Open(dir, Options{})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	a, err := st.AccountByAddress(context.Background(), "crash@example.test")
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				tag := fmt.Sprintf("w%d-%d", w, i)
				res, err := st.Append(context.Background(), []storage.AppendItem{{AccountID: a.ID, Body: msg(tag, strings.Repeat(tag, 500))}})
				if err != nil {
					fmt.Println("error", err)
					os.Exit(1)
				}
				mu.Lock()
				fmt.Fprintf(out, "ok %d %s\n", res[0].UID, tag)
				out.Flush()
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
}

func TestSIGKILLDuringAppends(t *testing.T) {
	if os.Getenv("POSTERN_CRASH_DIR") != "" {
		return
	}
	dir := t.TempDir()
	st, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	a := newAccount(t, st, "crash@example.test")
	st.Close()

	for round := 0; round < 3; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$")
		cmd.Env = append(os.Environ(), "POSTERN_CRASH_DIR="+dir)
		stdout, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		acked := map[uint32]string{}
		sc := bufio.NewScanner(stdout)
		deadline := time.After(30 * time.Second)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for sc.Scan() {
				f := strings.Fields(sc.Text())
				if len(f) == 3 && f[0] == "ok" {
					uid, _ := strconv.Atoi(f[1])
					acked[uint32(uid)] = f[2]
					if len(acked) == 300 {
						cmd.Process.Kill() // SIGKILL, mid-burst
					}
				} else {
					t.Errorf("child: %s", sc.Text())
				}
			}
		}()
		select {
		case <-done:
		case <-deadline:
			cmd.Process.Kill()
			<-done
		}
		cmd.Wait()
		if len(acked) < 300 {
			t.Fatalf("round %d: child acknowledged only %d appends", round, len(acked))
		}

		st, err := Open(dir, Options{})
		if err != nil {
			t.Fatalf("reopen after SIGKILL: %v", err)
		}
		var check string
		st.rdb.QueryRow("PRAGMA integrity_check").Scan(&check)
		if check != "ok" {
			t.Errorf("integrity_check: %s", check)
		}
		inbox := mailbox(t, st, a.ID, "INBOX")
		uids := make([]uint32, 0, len(acked))
		for u := range acked {
			uids = append(uids, u)
		}
		msgs, err := st.FetchMessages(context.Background(), inbox.ID, uids, storage.FetchWant{})
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != len(acked) {
			t.Fatalf("round %d: %d of %d acknowledged appends survived", round, len(msgs), len(acked))
		}
		// Every committed append has its entry in the change log, and
		// every entry its message.
		logged := map[uint32]bool{}
		for pos := uint64(0); ; {
			ch, err := st.ChangesAfter(context.Background(), pos, 1000)
			if err != nil {
				t.Fatal(err)
			}
			if len(ch) == 0 {
				break
			}
			for _, c := range ch {
				pos = c.Seq
				if c.Kind == storage.EventAppend && c.MailboxID == inbox.ID {
					for _, u := range c.UIDs {
						logged[u] = true
					}
				}
			}
		}
		all, err := st.MessageUIDs(context.Background(), inbox.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range all {
			if !logged[m.UID] {
				t.Errorf("round %d: uid %d committed without its change-log entry", round, m.UID)
			}
		}
		if len(logged) != len(all) {
			t.Errorf("round %d: %d appends logged, %d messages stored", round, len(logged), len(all))
		}
		for _, m := range msgs[:20] {
			body, err := st.ReadBody(context.Background(), m.BodyID)
			if err != nil || !strings.Contains(string(body), strings.Repeat(acked[m.UID], 500)) {
				t.Errorf("uid %d: body damaged (%v)", m.UID, err)
			}
		}
		st.Close()
	}
}
