package mailport

import (
	"slices"
	"testing"
)

func TestNormalizeFlags(t *testing.T) {
	got := NormalizeFlags([]string{"work", `\seen`, `\Recent`, `\Unknown`, "$Forwarded", "WORK", `\DRAFT`, "bad(kw", "", "a b", `\Seen`})
	want := []string{`\Seen`, `\Draft`, "$Forwarded", "work"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	if NormalizeFlags(nil) != nil {
		t.Fatal("nil flags")
	}
}

func TestIsKeyword(t *testing.T) {
	for s, want := range map[string]bool{
		"$Forwarded": true, "NonJunk": true, "a.b-c_d": true,
		"": false, "a b": false, `\Seen`: false, "x]": false, "é": false, "a\x00": false,
		string(make([]byte, 201)): false,
	} {
		if IsKeyword(s) != want {
			t.Errorf("IsKeyword(%q) = %v", s, !want)
		}
	}
}

func TestName(t *testing.T) {
	for _, c := range []struct {
		levels []string
		want   string
	}{
		{[]string{"inbox"}, "INBOX"},
		{[]string{"Inbox", "Lists"}, "INBOX/Lists"},
		{[]string{"Sent Items"}, "Sent"},
		{[]string{"Work", "Sent Items"}, "Work/Sent Items"},
		{[]string{"a/b", "c*d%", "\x01e\xff", ""}, "a_b/c_d_/_e_/_"},
	} {
		if got := Name(c.levels...); got != c.want {
			t.Errorf("Name(%q) = %q, want %q", c.levels, got, c.want)
		}
	}
}

func TestRebase(t *testing.T) {
	for _, c := range [][3]string{
		{"INBOX", "Old", "Old"},
		{"INBOX/x", "Old", "Old/x"},
		{"Sent", "Old", "Old/Sent"},
		{"Sent", "", "Sent"},
	} {
		if got := Rebase(c[0], c[1]); got != c[2] {
			t.Errorf("Rebase(%q, %q) = %q, want %q", c[0], c[1], got, c[2])
		}
	}
}

func TestSpecialUseName(t *testing.T) {
	if SpecialUseName(`\Sent`) != "Sent" || SpecialUseName(`\JUNK`) != "Junk" || SpecialUseName(`\All`) != "" {
		t.Fatal("special-use names")
	}
}
