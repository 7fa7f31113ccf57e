package sieve

import "testing"

// RFC 5231 (relational) and RFC 4790 §9.1 (i;ascii-numeric).

func TestRFC5231Examples(t *testing.T) {
	msg := crlf(
		"received: from a by b; Tue, 1 Jul 2025 10:52:37 +0200",
		"received: from c by d; Tue, 1 Jul 2025 10:51:37 +0200",
		"subject: example",
		"to: foo@example.com, baz@example.com",
		"cc: qux@example.com",
		"", "")
	req := "require [\"relational\", \"comparator-i;ascii-numeric\"];\n"
	for src, want := range map[string]bool{
		`address :count "ge" :comparator "i;ascii-numeric" ["to", "cc"] ["3"]`: true,
		`anyof ( address :count "ge" :comparator "i;ascii-numeric" ["to"] ["3"],
		         address :count "ge" :comparator "i;ascii-numeric" ["cc"] ["3"] )`: false,
		`header :count "ge" :comparator "i;ascii-numeric" ["received"] ["3"]`:            false,
		`header :count "ge" :comparator "i;ascii-numeric" ["received", "subject"] ["3"]`: true,
		`header :count "ge" :comparator "i;ascii-numeric" ["to", "subject"] ["3"]`:       false,
		`header :count "eq" :comparator "i;ascii-numeric" "x-absent" "0"`:                true,
		`header :value "gt" "subject" "exampla"`:                                         true,
		`header :value "lt" "subject" "EXAMPLF"`:                                         true, // i;ascii-casemap ignores case
		`header :value "lt" :comparator "i;octet" "subject" "EXAMPLF"`:                   false,
		`header :value "ne" "subject" "example"`:                                         false,
		`header :value "le" "subject" "Example"`:                                         true,
	} {
		res := runOn(t, req+"if "+src+" { discard; }", msg, Envelope{}, nil)
		_, hit := res.Actions[0].(Discard)
		if hit != want {
			t.Errorf("%s: %v, want %v", src, hit, want)
		}
	}

	example := script(`require ["relational", "comparator-i;ascii-numeric", "fileinto"];

if header :value "lt" :comparator "i;ascii-numeric"
          ["x-priority"] ["3"]
{
   fileinto "Priority";
}

elsif address :count "gt" :comparator "i;ascii-numeric"
           ["to"] ["5"]
{
   # everything with more than 5 recipients in the "to" field
   # is considered SPAM
   fileinto "SPAM";
}

elsif address :value "gt" :all :comparator "i;ascii-casemap"
           ["from"] ["M"]
{
   fileinto "From N-Z";
} else {
   fileinto "From A-M";
}

if allof ( address :count "eq" :comparator "i;ascii-numeric"
                  ["to", "cc"] ["1"] ,
           address :all :comparator "i;ascii-casemap"
                  ["to", "cc"] ["me@foo.example.com"] )
{
   fileinto "Only me";
}`)
	cases := []struct {
		msg  string
		want []Action
	}{
		{crlf("X-Priority: 1", "From: zed@x", "To: a@x", "", ""), []Action{FileInto{Mailbox: "Priority"}}},
		{crlf("X-Priority: 5", "From: zed@x", "To: a@x, b@x, c@x, d@x, e@x, f@x", "", ""), []Action{FileInto{Mailbox: "SPAM"}}},
		{crlf("From: zed@x", "To: a@x", "", ""), []Action{FileInto{Mailbox: "From N-Z"}}},
		{crlf("From: alice@x", "To: me@foo.example.com", "", ""), []Action{FileInto{Mailbox: "From A-M"}, FileInto{Mailbox: "Only me"}}},
		// A priority that is no number is positive infinity, not less than 3.
		{crlf("X-Priority: high", "From: bob@x", "To: a@x", "", ""), []Action{FileInto{Mailbox: "From A-M"}}},
	}
	for _, tc := range cases {
		wantActions(t, runOn(t, example, tc.msg, Envelope{}, nil), tc.want...)
	}
}

func TestNumericCompare(t *testing.T) {
	cases := []struct {
		a, b string
		want int
	}{
		{"3", "3", 0}, {"03", "3", 0}, {"10", "9", 1}, {"9", "10", -1}, {"12abc", "12", 0},
		{"abc", "xyz", 0}, {"abc", "99999999999999999999999", 1}, {"1", "", -1}, {"", "", 0},
		{"123456789012345678901234567890", "123456789012345678901234567891", -1},
	}
	for _, tc := range cases {
		if got := numericCompare(tc.a, tc.b); got != tc.want {
			t.Errorf("numericCompare(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
	src := "require \"comparator-i;ascii-numeric\";\nif header :is :comparator \"i;ascii-numeric\" \"X-N\" \"0042\" { discard; }"
	wantActions(t, runOn(t, src, crlf("X-N: 42 apples", "", ""), Envelope{}, nil), Discard{})
}
