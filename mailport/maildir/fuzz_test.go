package maildir

import (
	"slices"
	"strings"
	"testing"

	"postern/mailport"
)

// FuzzInfo parses arbitrary file names and keyword files: the flags are
// valid, and writing them back as letters reads back the same.
func FuzzInfo(f *testing.F) {
	f.Add("1.M1P1.h,S=3:2,DFPRSTab", "0 $Forwarded\n1 NonJunk\n")
	f.Add("x;2,zz?!\x00", "25 last\n99 far\n-1 neg\n0 bad(kw\n")
	f.Add(":2,:2,", "")
	f.Fuzz(func(t *testing.T, name, keywords string) {
		kw, _ := ParseKeywords(strings.NewReader(keywords))
		_, letters := SplitName(name)
		flags := ParseFlags(letters, kw)
		for _, fl := range flags {
			if !strings.HasPrefix(fl, `\`) && !mailport.IsKeyword(fl) {
				t.Fatalf("flag %q", fl)
			}
		}
		out := &Keywords{}
		again, dropped := FormatFlags(flags, out)
		if len(dropped) > 0 {
			t.Fatalf("dropped %q of %q", dropped, flags)
		}
		back, _ := ParseKeywords(strings.NewReader(string(out.Bytes())))
		if got := ParseFlags(again, back); !slices.Equal(got, flags) {
			t.Fatalf("%q -> %q -> %q", flags, again, got)
		}
	})
}

// FuzzFolderName decodes arbitrary folder directory names: the mailbox name
// is one the store takes, and encoding it gives a directory that decodes to
// the same name.
func FuzzFolderName(f *testing.F) {
	for _, s := range []string{".Sent", ".Entw&APw-rfe.Alt", `.a\2eb.\7ex`, ".Bad&Jjo", "..", `.\zz\0`, ".&AGE-", ".\xff\x01"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, dir string) {
		name, _ := FolderName(dir)
		for _, l := range strings.Split(name, "/") {
			if l == "" || mailport.CleanLevel(l) != l {
				t.Fatalf("%q gave the name %q", dir, name)
			}
		}
		if name == mailport.Inbox {
			return
		}
		if again, err := FolderName(FolderDir(name)); again != name || err != nil {
			t.Fatalf("%q -> %q -> %q -> %q %v", dir, name, FolderDir(name), again, err)
		}
	})
}
