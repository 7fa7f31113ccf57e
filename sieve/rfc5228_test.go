package sieve

import (
	"testing"
)

// The examples of RFC 5228, run on its messages A and B (§1.2).

func TestRFC5228Examples(t *testing.T) {
	cases := []struct {
		name   string
		script string
		a, b   []Action // the actions on message A and on message B
	}{
		{"§2.3 hash comment", `if size :over 100k { # this is a comment
    discard;
}`, []Action{implicitKeep}, []Action{implicitKeep}},
		{"§2.3 bracket comment", `if size :over 100K { /* this is a comment
    this is still a comment */ discard /* this is a comment
    */ ;
}`, []Action{implicitKeep}, []Action{implicitKeep}},
		{"§2.4.2.4 encoded-character", `require "encoded-character";
if header :contains "Subject" "$${hex:24 24}" {
    discard;
}`, []Action{implicitKeep}, []Action{Discard{}}},
		{"§2.5.1 test list", `if anyof (not exists ["From", "Date"],
        header :contains "from" "fool@example.com") {
    discard;
}`, []Action{implicitKeep}, []Action{implicitKeep}},
		{"§2.7.3 comparator", `if header :contains :comparator "i;octet" "Subject"
        "MAKE MONEY FAST" {
    discard;
}`, []Action{implicitKeep}, []Action{implicitKeep}},
		{"§2.10.2 implicit keep", `if size :over 500K { discard; }`, []Action{implicitKeep}, []Action{implicitKeep}},
		{"§3.1 if elsif else", `require "fileinto";
if header :contains "from" "coyote" {
    discard;
} elsif header :contains ["subject"] ["$$$"] {
    discard;
} else {
    fileinto "INBOX";
}`, []Action{Discard{}}, []Action{Discard{}}},
		{"§3.1 redirect chain", `if header :contains ["From"] ["coyote"] {
    redirect "acm@example.com";
} elsif header :contains "Subject" "$$$" {
    redirect "postmaster@example.com";
} else {
    redirect "field@example.com";
}`, []Action{Redirect{Address: "acm@example.com"}}, []Action{Redirect{Address: "postmaster@example.com"}}},
		{"§3.2 require list", `require ["fileinto", "reject"];`, []Action{implicitKeep}, []Action{implicitKeep}},
		{"§3.2 require twice", "require \"fileinto\";\nrequire \"vacation\";", []Action{implicitKeep}, []Action{implicitKeep}},
		{"§4.1 fileinto", `require "fileinto";
if header :contains ["from"] "coyote" {
    fileinto "INBOX.harassment";
}`, []Action{FileInto{Mailbox: "INBOX.harassment"}}, []Action{implicitKeep}},
		{"§4.2 redirect", `redirect "bart@example.com";`,
			[]Action{Redirect{Address: "bart@example.com"}}, []Action{Redirect{Address: "bart@example.com"}}},
		{"§4.3 keep", `if size :under 1M { keep; } else { discard; }`, []Action{Keep{}}, []Action{Keep{}}},
		{"§4.3 not size", `if not size :under 1M { discard; }`, []Action{implicitKeep}, []Action{implicitKeep}},
		{"§4.4 discard", `if header :contains ["from"] ["idiot@example.com"] {
    discard;
}`, []Action{implicitKeep}, []Action{implicitKeep}},
		{"§5.1 address", `if address :is :all "from" "tim@example.com" {
    discard;
}`, []Action{implicitKeep}, []Action{implicitKeep}},
		{"§5.4 envelope", `require "envelope";
if envelope :all :is "from" "tim@example.com" {
    discard;
}`, []Action{implicitKeep}, []Action{Discard{}}},
		{"§5.5 exists", `if not exists ["From","Date"] {
    discard;
}`, []Action{implicitKeep}, []Action{implicitKeep}},
		{"§9 extended example", rfc5228Extended,
			// A: not to me@example.com, so spam; B: the same.
			[]Action{FileInto{Mailbox: "spam"}}, []Action{FileInto{Mailbox: "spam"}}},
	}
	envA := Envelope{From: "coyote@desert.example.org", To: "roadrunner@acme.example.com"}
	envB := Envelope{From: "tim@example.com", To: "rube@landru.example.com"}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := script(tc.script)
			wantActions(t, runOn(t, src, messageA, envA, nil), tc.a...)
			wantActions(t, runOn(t, src, messageB, envB, nil), tc.b...)
		})
	}
}

const rfc5228Extended = `#
# Example Sieve Filter
# Declare any optional features or extension used by the script
#
require ["fileinto"];

#
# Handle messages from known mailing lists
# Move messages from IETF filter discussion list to filter mailbox
#
if header :is "Sender" "owner-ietf-mta-filters@imc.org"
        {
        fileinto "filter";  # move to "filter" mailbox
        }
#
# Keep all messages to or from people in my company
#
elsif address :DOMAIN :is ["From", "To"] "example.com"
        {
        keep;               # keep in "In" mailbox
        }

#
# Try and catch unsolicited email.  If a message is not to me,
# or it contains a subject known to be spam, file it away.
#
elsif anyof (NOT address :all :contains
               ["To", "Cc", "Bcc"] "me@example.com",
             header :matches "subject"
               ["*make*money*fast*", "*university*dipl*mas*"])
        {
        fileinto "spam";   # move to "spam" mailbox
        }
else
        {
        # Move all other (non-company) mail to "personal"
        # mailbox.
        fileinto "personal";
        }
`

// The extended example's other branches.
func TestRFC5228ExtendedBranches(t *testing.T) {
	list := crlf("Sender: owner-ietf-mta-filters@imc.org", "From: x@y.example", "To: me@example.com", "", "hi")
	company := crlf("From: boss@example.com", "To: someone@other.example", "", "hi")
	personal := crlf("From: friend@other.example", "To: pals@other.example", "Cc: me@example.com", "Subject: lunch", "", "hi")
	spam := crlf("From: a@b.example", "To: list@other.example", "Cc: me@example.com", "Subject: Make Money Fast today", "", "hi")
	for _, tc := range []struct {
		msg  string
		want Action
	}{
		{list, FileInto{Mailbox: "filter"}},
		{company, Keep{}},
		{personal, FileInto{Mailbox: "personal"}},
		{spam, FileInto{Mailbox: "spam"}},
	} {
		wantActions(t, runOn(t, script(rfc5228Extended), tc.msg, Envelope{}, nil), tc.want)
	}
}

// RFC 5228 §2.4.2.4: valid and invalid encodings.
func TestEncodedCharacter(t *testing.T) {
	cases := []struct{ in, out string }{
		{`$${hex:40}`, "$@"},
		{`${hex: 40 }`, "@"},
		{`${HEX: 40}`, "@"},
		{`${hex:40`, "${hex:40"},
		{`${hex:400}`, "${hex:400}"},
		{`${hex:4${hex:30}}`, "${hex:40}"},
		{`${unicode:40}`, "@"},
		{`${ unicode:40}`, "${ unicode:40}"},
		{`${UNICODE:40}`, "@"},
		{`${UnICoDE:0000040}`, "@"},
		{`${Unicode:40}`, "@"},
		{`${Unicode:Cool}`, "${Unicode:Cool}"},
		{`${hex:}`, "${hex:}"},
		{`${hex:41 42${hex:43}}`, "${hex:41 42C}"},
		{`${unicode:e9 20ac}`, "é€"},
		{"${hex:41\r\n 42}", "AB"},
	}
	for _, tc := range cases {
		src := "require [\"encoded-character\", \"variables\"];\nset \"x\" \"" + tc.in + "\";\n" +
			"if string :is \"${x}\" \"\" { discard; }"
		s := mustCompile(t, src, nil)
		r := &run{opts: &s.opts, globals: map[string]string{}, script: s, scope: &scope{}, host: &Host{}}
		if err := r.block(s.body); err != nil {
			t.Fatalf("%s: %v", tc.in, err)
		}
		if got := r.scope.vars["x"]; got != tc.out {
			t.Errorf("%q -> %q, want %q", tc.in, got, tc.out)
		}
	}
	for _, bad := range []string{`${unicode:200000}`, `${Unicode:DF01}`} {
		e := compileErr(t, "require \"encoded-character\";\nif header :is \"x\" \""+bad+"\" {}")
		if e.Pos.Line != 2 {
			t.Errorf("%s: error at %v: %v", bad, e.Pos, e)
		}
	}
	// Without require, nothing is decoded.
	wantActions(t, runOn(t, `if header :contains "Subject" "$${hex:24 24}" { discard; }`, messageB, Envelope{}, nil), implicitKeep)
}

// RFC 5228 §5.7: an existing header contains "", an absent one matches nothing.
func TestHeaderEmptyKey(t *testing.T) {
	msg := crlf("X-Caffeine: C8H10N4O2", "", "")
	for src, want := range map[string]bool{
		`if header :is ["X-Caffeine"] [""] { discard; }`:       false,
		`if header :contains ["X-Caffeine"] [""] { discard; }`: true,
		`if header :contains ["X-Absent"] [""] { discard; }`:   false,
		`if not header :matches "Cc" "?*" { discard; }`:        true,
	} {
		res := runOn(t, src, msg, Envelope{}, nil)
		_, discarded := res.Actions[0].(Discard)
		if discarded != want {
			t.Errorf("%s: discarded %v, want %v", src, discarded, want)
		}
	}
}

// RFC 5228 §5.9: a message of exactly 4000 octets is neither over nor under 4000.
func TestSizeBoundary(t *testing.T) {
	msg := "Subject: x\r\n\r\n"
	for len(msg) < 4000 {
		msg += "x"
	}
	res := runOn(t, `if anyof (size :over 4000, size :under 4000) { discard; }`, msg, Envelope{}, nil)
	wantActions(t, res, implicitKeep)
	wantActions(t, runOn(t, `if size :under 4001 { discard; }`, msg, Envelope{}, nil), Discard{})
}
