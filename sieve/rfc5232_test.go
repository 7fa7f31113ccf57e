package sieve

import (
	"strings"
	"testing"
)

// RFC 5232 (imap4flags).

func TestRFC5232Examples(t *testing.T) {
	big := crlf("From: boss@company.example.com", "To: me@company.example.com", "", strings.Repeat("x", 600<<10))
	small := messageA

	// §3: setflag on a large message; the implicit keep takes the flags.
	src := script(`require "imap4flags";
if size :over 500K {
    setflag "\\Deleted";
}`)
	wantActions(t, runOn(t, src, big, Envelope{}, nil), Keep{Flags: []string{`\Deleted`}, Implicit: true})
	wantActions(t, runOn(t, src, small, Envelope{}, nil), Keep{Flags: []string{}, Implicit: true})

	// §3.1, with require "variables", which the RFC's example leaves out
	// although it expands ${flagvar}.
	src = script(`require ["imap4flags", "variables"];
require "fileinto";

if header :contains "from" "boss@frobnitzm.example.edu" {
    setflag "flagvar" "\\Flagged";
    fileinto :flags "${flagvar}" "INBOX.From Boss";
}`)
	wantActions(t, runOn(t, src, crlf("From: boss@frobnitzm.example.edu", "", ""), Envelope{}, nil),
		FileInto{Mailbox: "INBOX.From Boss", Flags: []string{`\Flagged`}})

	// §3.2: four ways to add the same two flags.
	for _, add := range []string{
		`addflag "flagvar" "\\Deleted"; addflag "flagvar" "\\Answered";`,
		`addflag "flagvar" ["\\Deleted", "\\Answered"];`,
		`addflag "flagvar" "\\Deleted \\Answered";`,
		`addflag "flagvar" "\\Answered \\Deleted"; addflag "flagvar" "\\deleted";`,
	} {
		vars := varsAfter(t, "require [\"imap4flags\", \"variables\"];\n"+add, "")
		if got := strings.Fields(vars["flagvar"]); len(got) != 2 || !containsFold(got, `\Deleted`) || !containsFold(got, `\Answered`) {
			t.Errorf("%s: flagvar %q", add, vars["flagvar"])
		}
	}

	// §3.3: removeflag.
	src = script(`require ["imap4flags", "variables", "fileinto"];
if header :contains "Disposition-Notification-To"
    "mel@example.com" {
    addflag "flagvar" "$MDNRequired";
}
if header :contains "from" "imap@cac.washington.example.edu" {
    removeflag "flagvar" "$MDNRequired";
    fileinto :flags "${flagvar}" "INBOX.imap-list";
}`)
	wantActions(t, runOn(t, src, crlf("Disposition-Notification-To: mel@example.com", "From: imap@cac.washington.example.edu", "", ""), Envelope{}, nil),
		FileInto{Mailbox: "INBOX.imap-list", Flags: []string{}})

	// §4: hasflag.
	req := "require [\"imap4flags\", \"variables\", \"relational\", \"comparator-i;ascii-numeric\"];\n"
	setup := "setflag \"A B\";\nset \"MyVar\" \"NonJunk Junk gnus-forward $Forwarded NotJunk JunkRecorded $Junk $NotJunk\";\nset \"MyFlags\" \"a b A\";\n"
	for test, want := range map[string]bool{
		`hasflag :is "b A"`:                                               true,
		`hasflag ["b","A"]`:                                               true,
		`hasflag "C"`:                                                     false,
		`hasflag :contains "MyVar" "Junk"`:                                true,
		`hasflag :contains "MyVar" "forward"`:                             true,
		`hasflag :contains "MyVar" ["label", "forward"]`:                  true,
		`hasflag :contains "MyVar" ["junk", "forward"]`:                   true,
		`hasflag :contains "MyVar" "junk forward"`:                        true,
		`hasflag :contains "MyVar" "forward junk"`:                        true,
		`hasflag :contains "MyVar" "label"`:                               false,
		`hasflag :contains "MyVar" ["label1", "label2"]`:                  false,
		`hasflag :count "ge" :comparator "i;ascii-numeric" "MyFlags" "2"`: true,
		`hasflag :count "ge" :comparator "i;ascii-numeric" "MyFlags" "3"`: false,
		`hasflag :count "eq" :comparator "i;ascii-numeric" "8"`:           false,
		`hasflag :count "eq" :comparator "i;ascii-numeric" "MyVar" "8"`:   true,
		`hasflag :matches "MyVar" "gnus-*"`:                               true,
		`hasflag :is :comparator "i;octet" "MyVar" "junk"`:                false,
	} {
		res := runOn(t, req+setup+"if "+test+" { discard; }", small, Envelope{}, nil)
		_, hit := res.Actions[0].(Discard)
		if hit != want {
			t.Errorf("%s: %v, want %v", test, hit, want)
		}
	}

	// §5: :flags on fileinto and keep.
	src = script(`require ["imap4flags", "fileinto", "variables"];
set "MyFlags" "\\Seen $Work";
fileinto :flags "\\Deleted" "INBOX.From Boss";
keep :flags "${MyFlags}";`)
	wantActions(t, runOn(t, src, small, Envelope{}, nil),
		FileInto{Mailbox: "INBOX.From Boss", Flags: []string{`\Deleted`}}, Keep{Flags: []string{`\Seen`, "$Work"}})
}

// RFC 5232 §7's extended example.
func TestRFC5232Extended(t *testing.T) {
	src := script(`#
# Example Sieve Filter
# Declare any optional features or extension used by the script
#
require ["fileinto", "imap4flags", "variables"];

#
# Move large messages to a special mailbox
#
if size :over 1M
        {
        addflag "MyFlags" "Big";
        if header :is "From" "boss@company.example.com"
                   {
# The message will be marked as "\Flagged Big" when filed into
# mailbox "Big messages"
                   addflag "MyFlags" "\\Flagged";
                   }
        fileinto :flags "${MyFlags}" "Big messages";
        }

if header :is "From" "grandma@example.net"
        {
        addflag "MyFlags" ["\\Answered", "$MDNSent"];
# If the message is bigger than 1Mb it will be marked as
# "Big \Answered $MDNSent" when filed into mailbox "grandma".
# If the message is shorter than 1Mb it will be marked as
# "\Answered $MDNSent"
        fileinto :flags "${MyFlags}" "GrandMa";
        }

#
# Handle messages from known mailing lists
# Move messages from IETF filter discussion list to filter folder
#
if header :is "Sender" "owner-ietf-mta-filters@example.org"
        {
        set "MyFlags" "\\Flagged $Work";
# Message will have both "\Flagged" and $Work flags
        keep :flags "${MyFlags}";
        }

#
# Keep all messages to or from people in my company
#
elsif anyof( address :domain :is ["From", "To"] "company.example.com")
        {
        keep :flags "${MyFlags}"; # keep in "Inbox" folder
        }

# Try to catch unsolicited email.  If a message is not to me,
# or it contains a subject known to be spam, file it away.
#
elsif anyof (not address :all :contains
               ["To", "Cc"] "me@company.example.com",
             header :matches "subject"
               ["*make*money*fast*", "*university*dipl*mas*"])
        {
        removeflag "MyFlags" "\\Flagged";
        fileinto :flags "${MyFlags}" "spam";
        }
else
        {
        # Move all other external mail to "personal"
        # folder.
        fileinto :flags "${MyFlags}" "personal";
        }
`)
	bigBoss := crlf("From: boss@company.example.com", "To: me@company.example.com", "", strings.Repeat("x", 1100<<10))
	wantActions(t, runOn(t, src, bigBoss, Envelope{}, nil),
		FileInto{Mailbox: "Big messages", Flags: []string{"Big", `\Flagged`}}, Keep{Flags: []string{"Big", `\Flagged`}})
	grandma := crlf("From: grandma@example.net", "To: me@company.example.com", "", "hello")
	wantActions(t, runOn(t, src, grandma, Envelope{}, nil),
		FileInto{Mailbox: "GrandMa", Flags: []string{`\Answered`, "$MDNSent"}}, Keep{Flags: []string{`\Answered`, "$MDNSent"}})
	list := crlf("Sender: owner-ietf-mta-filters@example.org", "From: x@y", "", "")
	wantActions(t, runOn(t, src, list, Envelope{}, nil), Keep{Flags: []string{`\Flagged`, "$Work"}})
	spam := crlf("From: x@y", "To: other@z", "Subject: make money fast", "", "")
	wantActions(t, runOn(t, src, spam, Envelope{}, nil), FileInto{Mailbox: "spam", Flags: []string{}})
}

func TestParseFlags(t *testing.T) {
	got := parseFlags([]string{`\seen  $Label1 \SEEN bad(flag \Recent \Bogus`, "$label1 Junk"})
	want := []string{`\Seen`, "$Label1", "Junk"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("parseFlags = %q, want %q", got, want)
	}
}
