package delivery

import (
	"context"
	"errors"
	"slices"
	"testing"

	"postern/storage"
	"postern/storage/sqlite"
)

func openStore(t testing.TB) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

type fixture struct {
	st    *sqlite.Store
	r     *Router
	accts map[string]storage.Account
}

func newFixture(t testing.TB, users []string, aliases map[string][]string) *fixture {
	t.Helper()
	ctx := context.Background()
	st := openStore(t)
	f := &fixture{st: st, r: NewRouter(st, []string{"Example.TEST", "other.test."}, nil), accts: map[string]storage.Account{}}
	for _, u := range users {
		a, err := st.CreateAccount(ctx, u, "pw")
		if err != nil {
			t.Fatal(err)
		}
		f.accts[u] = a
	}
	for alias, targets := range aliases {
		if err := st.AddAlias(ctx, alias, targets); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func (f *fixture) names(res Result) []string {
	var out []string
	for _, a := range res.Accounts {
		out = append(out, a.Address)
	}
	return out
}

func TestResolve(t *testing.T) {
	f := newFixture(t, []string{"alice@example.test", "bob@example.test", "carol@other.test", "post@example.test"},
		map[string][]string{
			"team@example.test":   {"alice@example.test", "bob@example.test"},
			"all@example.test":    {"team@example.test", "carol@other.test", "alice@example.test"},
			"fwd@example.test":    {"alice@example.test", "someone@remote.test"},
			"loop1@example.test":  {"loop2@example.test"},
			"loop2@example.test":  {"loop1@example.test"},
			"loopy@example.test":  {"loopy2@example.test", "bob@example.test"},
			"loopy2@example.test": {"loopy@example.test"},
			"dangle@example.test": {"ghost@example.test"},
			// Two ways to one dangling alias: no loop.
			"diamond@example.test": {"dangle@example.test", "d2@example.test"},
			"d2@example.test":      {"dangle@example.test"},
			"@other.test":          {"carol@other.test"},
		})
	tests := []struct {
		rcpt     string
		accounts []string
		remote   []string
		err      error
	}{
		{rcpt: "alice@example.test", accounts: []string{"alice@example.test"}},
		{rcpt: "ALICE@EXAMPLE.test", accounts: []string{"alice@example.test"}},
		{rcpt: "alice@example.test.", err: nil, accounts: []string{"alice@example.test"}},
		{rcpt: "alice+news@example.test", accounts: []string{"alice@example.test"}},
		{rcpt: "alice+a+b@example.test", accounts: []string{"alice@example.test"}},
		{rcpt: "team+x@example.test", accounts: []string{"alice@example.test", "bob@example.test"}},
		{rcpt: "team@example.test", accounts: []string{"alice@example.test", "bob@example.test"}},
		{rcpt: "all@example.test", accounts: []string{"alice@example.test", "carol@other.test", "bob@example.test"}},
		{rcpt: "fwd@example.test", accounts: []string{"alice@example.test"}, remote: []string{"someone@remote.test"}},
		{rcpt: "loopy@example.test", accounts: []string{"bob@example.test"}},
		{rcpt: "loop1@example.test", err: ErrAliasLoop},
		{rcpt: "dangle@example.test", err: ErrAliasDangling},
		{rcpt: "diamond@example.test", err: ErrAliasDangling},
		{rcpt: "nobody@example.test", err: ErrUnknownUser},
		{rcpt: "+tag@example.test", err: ErrUnknownUser},
		{rcpt: "nobody+x@example.test", err: ErrUnknownUser},
		{rcpt: "anyone@other.test", accounts: []string{"carol@other.test"}},
		{rcpt: "carol@OTHER.test", accounts: []string{"carol@other.test"}},
		{rcpt: "x@remote.test", remote: []string{"x@remote.test"}},
		{rcpt: "x@sub.example.test", remote: []string{"x@sub.example.test"}},
		{rcpt: "no-at-sign", err: ErrBadAddress},
		{rcpt: "@example.test", err: ErrBadAddress},
	}
	for _, tt := range tests {
		res, err := f.r.Resolve(context.Background(), tt.rcpt)
		if !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
			t.Errorf("Resolve(%q) error = %v, want %v", tt.rcpt, err, tt.err)
			continue
		}
		if got := f.names(res); !slices.Equal(got, tt.accounts) {
			t.Errorf("Resolve(%q) accounts = %q, want %q", tt.rcpt, got, tt.accounts)
		}
		if !slices.Equal(res.Remote, tt.remote) {
			t.Errorf("Resolve(%q) remote = %q, want %q", tt.rcpt, res.Remote, tt.remote)
		}
	}
}

func TestResolveCatchAllLosesToRealAddresses(t *testing.T) {
	f := newFixture(t, []string{"alice@example.test", "post@example.test", "carol@example.test"},
		map[string][]string{
			"@example.test":      {"post@example.test"},
			"sales@example.test": {"carol@example.test"},
		})
	for rcpt, want := range map[string]string{
		"alice@example.test":     "alice@example.test",
		"alice+tag@example.test": "alice@example.test",
		"sales@example.test":     "carol@example.test",
		"whoever@example.test":   "post@example.test",
		"whoever+x@example.test": "post@example.test",
		"Sales+Q3@EXAMPLE.TEST":  "carol@example.test",
		"post@example.test":      "post@example.test",
	} {
		res, err := f.r.Resolve(context.Background(), rcpt)
		if err != nil {
			t.Errorf("Resolve(%q): %v", rcpt, err)
			continue
		}
		if got := f.names(res); len(got) != 1 || got[0] != want {
			t.Errorf("Resolve(%q) = %q, want %s", rcpt, got, want)
		}
	}
}

func TestResolveBoundsDeepChains(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, []string{"end@example.test"}, nil)
	// a0 -> a1 -> ... -> a20 -> end: deeper than maxAliasDepth.
	for i := 0; i < 20; i++ {
		next := "a" + itoa(i+1) + "@example.test"
		if i == 19 {
			next = "end@example.test"
		}
		if err := f.st.AddAlias(ctx, "a"+itoa(i)+"@example.test", []string{next}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.r.Resolve(ctx, "a0@example.test"); !errors.Is(err, ErrAliasLoop) {
		t.Fatalf("a 20-deep chain: err = %v, want ErrAliasLoop", err)
	}
	if res, err := f.r.Resolve(ctx, "a15@example.test"); err != nil || len(res.Accounts) != 1 {
		t.Fatalf("a 5-deep chain: %v, %v", res, err)
	}
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

func TestOwns(t *testing.T) {
	f := newFixture(t, []string{"alice@example.test", "bob@example.test"},
		map[string][]string{
			"team@example.test":  {"alice@example.test", "bob@example.test"},
			"inner@example.test": {"alice@example.test"},
			"outer@example.test": {"inner@example.test"},
			"@example.test":      {"alice@example.test"},
		})
	alice, bob := f.accts["alice@example.test"], f.accts["bob@example.test"]
	for _, tt := range []struct {
		acct storage.Account
		from string
		want bool
	}{
		{alice, "alice@example.test", true},
		{alice, "ALICE@Example.Test", true},
		{alice, "alice+lists@example.test", true},
		{alice, "team@example.test", true},
		{bob, "team@example.test", true},
		{alice, "outer@example.test", true},
		{bob, "outer@example.test", false},
		{bob, "alice@example.test", false},
		{alice, "bob@example.test", false},
		{alice, "random@example.test", false}, // the catch-all does not count
		{alice, "alice@remote.test", false},
		{alice, "", false},
	} {
		got, err := f.r.Owns(context.Background(), tt.acct, tt.from)
		if err != nil || got != tt.want {
			t.Errorf("Owns(%s, %q) = %v, %v; want %v", tt.acct.Address, tt.from, got, err, tt.want)
		}
	}
}
