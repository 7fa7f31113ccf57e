package mimeinfo

import (
	"slices"
	"testing"
)

func TestFields(t *testing.T) {
	h := []byte("From: a@b.test\r\nSubject: one\r\n two\r\nno colon here\r\n\tcontinued: x\r\nTo: c@d.test\r\n\r\nBody: not a field\r\n")
	var names, raws []string
	for name, raw := range Fields(h) {
		names = append(names, string(name))
		raws = append(raws, string(raw))
	}
	if want := []string{"From", "Subject", "no colon here", "To"}; !slices.Equal(names, want) {
		t.Fatalf("names %q, want %q", names, want)
	}
	if raws[1] != "Subject: one\r\n two\r\n" || FieldValue([]byte(raws[1])) != "one two" {
		t.Fatalf("folded field %q", raws[1])
	}
	if FieldValue([]byte(raws[2])) != "" {
		t.Fatal("a line without a colon has a value")
	}
	n := 0
	for range Fields(h) {
		n++
		if n == 2 {
			break
		}
	}
	if HeaderLen(h) != len("From: a@b.test\r\nSubject: one\r\n two\r\nno colon here\r\n\tcontinued: x\r\nTo: c@d.test\r\n\r\n") {
		t.Fatalf("HeaderLen %d", HeaderLen(h))
	}
}

func TestAddressListGroupsAndLiterals(t *testing.T) {
	got := AddressList(`"Alice A." <alice@Example.TEST>, team: bob@b.test, <>;, nobody, (c) x@[192.0.2.1]`)
	want := []Address{
		{Name: "Alice A.", Mailbox: "alice", Host: "Example.TEST"},
		{Mailbox: "bob", Host: "b.test"},
		{Mailbox: "nobody"},
		{Name: "c", Mailbox: "x", Host: "[192.0.2.1]"},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
}
