package storage

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// A level "." or ".." would read as "this folder" or "the parent" to every
// client and tool that maps mailboxes to paths (mbsync, Maildir exports).
func TestValidateNameRefusesDotLevels(t *testing.T) {
	for _, bad := range []string{".", "..", "./x", "../x", "a/.", "a/..", "a/../b", "a/./b", "INBOX/..", "x/../../y"} {
		if err := ValidateName(bad); !errors.Is(err, ErrInvalidName) {
			t.Errorf("ValidateName(%q) = %v, want ErrInvalidName", bad, err)
		}
	}
	for _, good := range []string{".hidden", "a.b", "...", "a/.b", "a/b.", "a/.../b", "Trash/..old"} {
		if err := ValidateName(good); err != nil {
			t.Errorf("ValidateName(%q) = %v, want nil", good, err)
		}
	}
}

func FuzzValidateName(f *testing.F) {
	for _, s := range []string{"INBOX", "a/b", ".", "..", "a/../b", "./x", "x/.", "...", "a//b", "/a", "a*", "\x00", "é/ü"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if ValidateName(name) != nil {
			return
		}
		if !utf8.ValidString(name) || len(name) > 512 || name == "" || strings.ContainsAny(name, "*%") {
			t.Fatalf("accepted %q", name)
		}
		for _, level := range strings.Split(name, Delimiter) {
			if level == "" || level == "." || level == ".." {
				t.Fatalf("accepted %q with level %q", name, level)
			}
		}
		for _, r := range name {
			if r < 0x20 || r == 0x7f {
				t.Fatalf("accepted control character in %q", name)
			}
		}
	})
}
