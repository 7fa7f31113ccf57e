package dkim

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/dkim"
)

const testMsg = "From: Alice <alice@example.test>\r\nTo: bob@remote.test\r\nSubject: hi\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n\r\nHello,  world\r\n"

// verify checks msg against the TXT value published by the record line.
func verify(t *testing.T, k *Key, msg []byte) {
	t.Helper()
	rec := k.Record()
	name, value, ok := strings.Cut(rec, " IN TXT ")
	if !ok || name != k.Selector+"._domainkey."+k.Domain+"." {
		t.Fatalf("record %q", rec)
	}
	// Join the quoted strings as a resolver does.
	txt := strings.ReplaceAll(strings.Trim(value, `"`), `" "`, "")
	vs, err := dkim.VerifyWithOptions(bytes.NewReader(msg), &dkim.VerifyOptions{
		LookupTXT: func(domain string) ([]string, error) {
			if domain != strings.TrimSuffix(name, ".") {
				t.Errorf("looked up %q, want %q", domain, name)
			}
			return []string{txt}, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 1 || vs[0].Err != nil || vs[0].Domain != k.Domain {
		t.Fatalf("verifications %+v", vs[0])
	}
}

func TestGenerateSignVerify(t *testing.T) {
	for _, kind := range []string{Ed25519, RSA} {
		t.Run(kind, func(t *testing.T) {
			dir := t.TempDir()
			k, err := Generate(dir, "Example.TEST", "postern", kind)
			if err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(k.Path)
			if err != nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("key file %v mode %v", err, fi.Mode())
			}
			if !strings.Contains(k.TXT(), "k="+kind) {
				t.Errorf("TXT %q", k.TXT())
			}
			if _, err := Generate(dir, "example.test", "postern", kind); err == nil {
				t.Error("an existing key was overwritten")
			}
			keys, err := Load(dir, []string{"example.test", "other.test"}, "postern")
			if err != nil || len(keys) != 1 || keys["example.test"] == nil {
				t.Fatalf("Load = %v, %v", keys, err)
			}
			signed, err := keys["example.test"].Sign([]byte(testMsg))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(signed, []byte("DKIM-Signature: ")) || !bytes.HasSuffix(signed, []byte(testMsg)) {
				t.Fatalf("signed message %q", signed)
			}
			verify(t, k, signed)
			// A changed body fails.
			bad := bytes.Replace(signed, []byte("Hello"), []byte("Jello"), 1)
			vs, _ := dkim.VerifyWithOptions(bytes.NewReader(bad), &dkim.VerifyOptions{
				LookupTXT: func(string) ([]string, error) { return []string{k.TXT()}, nil },
			})
			if len(vs) != 1 || vs[0].Err == nil {
				t.Error("tampered body verified")
			}
		})
	}
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ domain, sel, kind string }{
		{"", "s", Ed25519}, {"../x", "s", Ed25519}, {"a@b", "s", Ed25519}, {"d.test", "", Ed25519},
		{"d.test", "a/b", Ed25519}, {"d.test", "s", "dsa"},
	} {
		if _, err := Generate(dir, c.domain, c.sel, c.kind); err == nil {
			t.Errorf("Generate(%q, %q, %q) accepted", c.domain, c.sel, c.kind)
		}
	}
	os.MkdirAll(Dir(dir), 0o700)
	os.WriteFile(Path(dir, "junk.test", "s"), []byte("not pem"), 0o600)
	if _, err := Load(dir, []string{"junk.test"}, "s"); err == nil {
		t.Error("unreadable key loaded")
	}
	os.WriteFile(Path(dir, "junk2.test", "s"), []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), 0o600)
	if _, err := Load(dir, []string{"junk2.test"}, "s"); err == nil {
		t.Error("garbage key loaded")
	}
}
