package sieve

import (
	"strings"
	"testing"
)

// RFC 5233 (subaddress).
func TestRFC5233Example(t *testing.T) {
	src := script(`require ["envelope", "subaddress", "fileinto"];

# In this example the same user account receives mail for both
# "ken@example.com" and "postmaster@example.com"

# File all messages to postmaster into a single mailbox,
# ignoring the :detail part.
if envelope :user "to" "postmaster" {
    fileinto "inbox.postmaster";
    stop;
}

# File mailing list messages (subscribed as "ken+mta-filters").
if envelope :detail "to" "mta-filters" {
    fileinto "inbox.ietf-mta-filters";
}

# Redirect all mail sent to "ken+foo".
if envelope :detail "to" "foo" {
    redirect "ken@example.net";
}`)
	for to, want := range map[string][]Action{
		"postmaster@example.com":      {FileInto{Mailbox: "inbox.postmaster"}},
		"postmaster+ab@example.com":   {FileInto{Mailbox: "inbox.postmaster"}},
		"ken+mta-filters@example.com": {FileInto{Mailbox: "inbox.ietf-mta-filters"}},
		"ken+foo@example.com":         {Redirect{Address: "ken@example.net"}},
		"ken@example.com":             {implicitKeep},
	} {
		wantActions(t, runOn(t, src, messageA, Envelope{From: "a@b", To: to}, nil), want...)
	}
	// §4: "ken+@example.com" has an empty detail; "ken@example.com" none.
	detail := "require \"subaddress\";\nif address :detail \"to\" \"\" { discard; }"
	wantActions(t, runOn(t, detail, crlf("To: ken+@example.com", "", ""), Envelope{}, nil), Discard{})
	wantActions(t, runOn(t, detail, crlf("To: ken@example.com", "", ""), Envelope{}, nil), implicitKeep)
	user := "require \"subaddress\";\nif address :user \"to\" \"ken\" { discard; }"
	wantActions(t, runOn(t, user, crlf("To: Ken <ken+a+b@example.com>", "", ""), Envelope{}, nil), Discard{})
	// Another separator.
	s := mustCompile(t, "require \"subaddress\";\nif address :detail \"to\" \"list\" { discard; }", &Options{Separator: "-"})
	res := s.Run(t.Context(), ParseMessage([]byte(crlf("To: ken-list@example.com", "", ""))), Envelope{}, nil)
	wantActions(t, res, Discard{})
}

// RFC 5228 §2.7.4 and §5.4: address parts, invalid addresses, envelope.
func TestAddressParts(t *testing.T) {
	msg := crlf(`From: "Coyote, Wile E." <Coyote@Desert.Example.ORG>`, "To: undisclosed-recipients:;", "Cc: friends: a@x.example, b@y.example;, root", "", "")
	for test, want := range map[string]bool{
		`address :is "from" "coyote@desert.example.org"`:                       true,
		`address :is :comparator "i;octet" "from" "coyote@desert.example.org"`: false,
		`address :localpart :is "from" "coyote"`:                               true,
		`address :domain :is "from" "desert.example.org"`:                      true,
		`address :contains "from" "Wile"`:                                      false, // never the display name (§5.1)
		`address :is "cc" "b@y.example"`:                                       true,  // inside a group
		`address :is "cc" "root"`:                                              true,
		`address :localpart :is "cc" "root"`:                                   false, // invalid address: no local part (§2.7.4)
		`address :matches "to" "*"`:                                            false, // an empty group names nobody
		`exists "to"`:                                                          true,
		`header :is "to" "undisclosed-recipients:;"`:                           true,
	} {
		res := runOn(t, "if "+test+" { discard; }", msg, Envelope{}, nil)
		if _, hit := res.Actions[0].(Discard); hit != want {
			t.Errorf("%s: %v, want %v", test, hit, want)
		}
	}
	env := "require \"envelope\";\n"
	for test, want := range map[string]bool{
		`envelope :is "from" ""`:                  true, // the null reverse-path (§5.4)
		`envelope :domain :is "from" ""`:          true,
		`envelope :is "to" "me@example.com"`:      true,
		`envelope :domain :is "to" "EXAMPLE.com"`: true,
		`envelope :is "auth" "me@example.com"`:    false,
	} {
		res := runOn(t, env+"if "+test+" { discard; }", msg, Envelope{From: "", To: "<@relay.example:me@example.com>"}, nil)
		if _, hit := res.Actions[0].(Discard); hit != want {
			t.Errorf("%s: %v, want %v", test, hit, want)
		}
	}
	res := runOn(t, env+"if envelope :is \"auth\" \"alice@example.com\" { discard; }", msg, Envelope{From: "x@y", To: "a@b", Auth: "alice@example.com"}, nil)
	wantActions(t, res, Discard{})
}

// RFC 3894 (copy).
func TestRFC3894Copy(t *testing.T) {
	src := script(`require ["copy", "fileinto"];

if header :matches "Subject" "*" {
    fileinto :copy "All Mail";
}`)
	wantActions(t, runOn(t, src, messageA, Envelope{}, nil), FileInto{Mailbox: "All Mail", Copy: true}, implicitKeep)
	src = script(`require ["copy"];
if header :matches "Subject" "*" {
    redirect :copy "foo@example.com";
}`)
	wantActions(t, runOn(t, src, messageA, Envelope{}, nil), Redirect{Address: "foo@example.com", Copy: true}, implicitKeep)
	// With keep and stop, as the tests of the extension write it.
	src = "require [\"copy\", \"fileinto\"];\nfileinto :copy \"All Mail\";\nkeep;\nstop;"
	wantActions(t, runOn(t, src, messageA, Envelope{}, nil), FileInto{Mailbox: "All Mail", Copy: true}, Keep{})
	// A later fileinto without :copy of the same mailbox cancels the keep.
	src = "require [\"copy\", \"fileinto\"];\nfileinto :copy \"A\";\nfileinto \"A\";"
	wantActions(t, runOn(t, src, messageA, Envelope{}, nil), FileInto{Mailbox: "A"})
}

// RFC 5429 (reject and ereject).
func TestRFC5429Reject(t *testing.T) {
	src := script(`require ["reject"];

if size :over 100K {
    reject text:
Your message is too big.  If you want to send me a big attachment,
put it on a public web site and send me a URL.
.
;
}`)
	big := crlf("Subject: x", "", strings.Repeat("y", 200<<10))
	wantActions(t, runOn(t, src, big, Envelope{}, nil), Reject{Reason: "Your message is too big.  If you want to send me a big attachment,\r\nput it on a public web site and send me a URL.\r\n"})
	wantActions(t, runOn(t, src, messageA, Envelope{}, nil), implicitKeep)
	src = script(`require ["ereject"];
if address "from" "someone@example.com" {
    ereject "I no longer accept mail from this address";
}`)
	wantActions(t, runOn(t, src, crlf("From: someone@example.com", "", ""), Envelope{}, nil), Reject{Reason: "I no longer accept mail from this address", Extended: true})
	src = script(`require ["reject"];
if header :contains "from" "coyote@desert.example.org" {
    reject text:
I am not taking mail from you, and I don't
want your birdseed, either!
.
;
}`)
	wantActions(t, runOn(t, src, messageA, Envelope{}, nil), Reject{Reason: "I am not taking mail from you, and I don't\r\nwant your birdseed, either!\r\n"})
	// §2.1: reject goes alone.
	for _, bad := range []string{
		"require [\"reject\", \"fileinto\"];\nfileinto \"x\";\nreject \"no\";",
		"require [\"reject\"];\nkeep;\nreject \"no\";",
		"require [\"reject\"];\nredirect \"a@b.example\";\nreject \"no\";",
		"require [\"reject\", \"ereject\"];\nreject \"no\";\nereject \"no\";",
		"require [\"reject\"];\nreject \"no\";\nkeep;",
		"require [\"reject\", \"copy\"];\nreject \"no\";\nredirect :copy \"a@b.example\";",
	} {
		res := runAllowErr(t, bad, messageA, Envelope{}, nil)
		if res.Err == nil {
			t.Errorf("%s: no error", bad)
		}
		wantActions(t, res, implicitKeep)
		if len(res.Abandoned) == 0 {
			t.Errorf("%s: abandoned actions not reported", bad)
		}
	}
	// Discard goes with anything.
	wantActions(t, runOn(t, "require \"reject\";\ndiscard;\nreject \"no\";", messageA, Envelope{}, nil), Discard{}, Reject{Reason: "no"})
}

// RFC 5490 (mailbox).
func TestRFC5490Mailbox(t *testing.T) {
	src := script(`require ["fileinto", "reject", "mailbox"];
if mailboxexists "Partners" {
   fileinto "Partners";
} else {
   reject "This message was not accepted by the Mailstore";
}`)
	host := &Host{Mailboxes: memMailboxes{"Partners": true}}
	wantActions(t, runOn(t, src, messageA, Envelope{}, host), FileInto{Mailbox: "Partners"})
	wantActions(t, runOn(t, src, messageA, Envelope{}, &Host{Mailboxes: memMailboxes{}}), Reject{Reason: "This message was not accepted by the Mailstore"})
	wantActions(t, runOn(t, src, messageA, Envelope{}, nil), Reject{Reason: "This message was not accepted by the Mailstore"})
	src = "require [\"fileinto\", \"mailbox\"];\nif mailboxexists [\"Partners\", \"Other\"] { discard; }\nfileinto :create \"INBOX.Lists.2013.03.dovecot\";"
	wantActions(t, runOn(t, src, messageA, Envelope{}, host), FileInto{Mailbox: "INBOX.Lists.2013.03.dovecot", Create: true})
	// The metadata tests of RFC 5490 §3.3-3.6 are other capabilities,
	// which this implementation does not offer.
	e := compileErr(t, "require [\"mboxmetadata\"];\nif metadata :is \"INBOX\" \"/private/vendor/vendor.isode/auto-replies\" \"on\" {}")
	if !strings.Contains(e.Msg, "unsupported extension") {
		t.Errorf("mboxmetadata: %v", e)
	}
}

// RFC 5235 (spamtest, spamtestplus, virustest).
func TestRFC5235(t *testing.T) {
	// The RFC breaks "comparator-i;ascii-numeric" over two lines in its
	// first example; joined here.
	plain := script(`require ["spamtest", "fileinto", "relational", "comparator-i;ascii-numeric"];
if spamtest :value "eq" :comparator "i;ascii-numeric" "0"
{
    fileinto "INBOX.unclassified";
}
elsif spamtest :value "ge" :comparator "i;ascii-numeric" "3"
{
    fileinto "INBOX.spam-trap";
}`)
	percent := script(`require ["spamtestplus", "fileinto", "relational",
         "comparator-i;ascii-numeric"];

if spamtest :percent :count "eq"
            :comparator "i;ascii-numeric" "0"
{
    fileinto "INBOX.unclassified";
}
elsif spamtest :percent :value "eq"
                :comparator "i;ascii-numeric" "0"
{
    fileinto "INBOX.not-spam";
}
elsif spamtest :percent :value "lt"
                :comparator "i;ascii-numeric" "37"
{
    fileinto "INBOX.spam-trap";
}
else
{
    discard;
}`)
	virus := script(`require ["virustest", "fileinto", "relational", "comparator-i;ascii-numeric"];
if virustest :value "eq" :comparator "i;ascii-numeric" "0"
{
    fileinto "INBOX.unclassified";
}
if virustest :value "eq" :comparator "i;ascii-numeric" "4"
{
    fileinto "INBOX.quarantine";
}
elsif virustest :value "eq" :comparator "i;ascii-numeric" "5"
{
    discard;
}`)
	cases := []struct {
		src         string
		spam, virus *Score
		want        Action
	}{
		{plain, nil, nil, FileInto{Mailbox: "INBOX.unclassified"}},
		{plain, &Score{Percent: 0}, nil, implicitKeep},
		{plain, &Score{Percent: 30}, nil, FileInto{Mailbox: "INBOX.spam-trap"}},
		{percent, nil, nil, FileInto{Mailbox: "INBOX.unclassified"}},
		{percent, &Score{Percent: 0}, nil, FileInto{Mailbox: "INBOX.not-spam"}},
		{percent, &Score{Percent: 36}, nil, FileInto{Mailbox: "INBOX.spam-trap"}},
		{percent, &Score{Percent: 90}, nil, Discard{}},
		{virus, nil, nil, FileInto{Mailbox: "INBOX.unclassified"}},
		{virus, nil, &Score{Percent: 4}, FileInto{Mailbox: "INBOX.quarantine"}},
		{virus, nil, &Score{Percent: 5}, Discard{}},
		{virus, nil, &Score{Percent: 1}, implicitKeep},
	}
	for i, tc := range cases {
		res := runOn(t, tc.src, messageA, Envelope{}, &Host{Spam: tc.spam, Virus: tc.virus})
		if fmtActions(res.Actions) != fmtActions([]Action{tc.want}) {
			t.Errorf("case %d: %s, want %v", i, fmtActions(res.Actions), tc.want)
		}
	}
	// The 1-10 scale: clean is 1, certain spam 10.
	for pct, want := range map[int]string{0: "1", 50: "6", 100: "10"} {
		src := "require \"spamtest\";\nif spamtest \"" + want + "\" { discard; }"
		wantActions(t, runOn(t, src, messageA, Envelope{}, &Host{Spam: &Score{Percent: pct}}), Discard{})
	}
}

func TestParseSieveAddress(t *testing.T) {
	good := map[string]string{
		"bart@example.com":                   "bart@example.com",
		"  Bart Simpson <bart@example.com> ": "bart@example.com",
		`"Simpson, Bart" <bart@example.com>`: "bart@example.com",
		`"quoted local"@example.com`:         `"quoted local"@example.com`,
		"user+tag@sub.example.com":           "user+tag@sub.example.com",
		"a@[192.0.2.1]":                      "a@[192.0.2.1]",
		"jörg@bücher.example":                "jörg@bücher.example",
		"Bart (the boy) <bart@example.com>":  "bart@example.com",
	}
	for in, want := range good {
		if got, ok := parseSieveAddress(in); !ok || got != want {
			t.Errorf("%q: %q %v, want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{
		"", "not an address", "bart", "@example.com", "bart@", "a@b.c, d@e.f", "a@b.c; d@e.f",
		"group: a@b.c;", "<@route.example:a@b.c>", "a..b@example.com", ".a@example.com",
		"a@example..com", "a@-x.example!", "a@b.c\r\nBcc: x@y", "<a@b.c> <d@e.f>", "a b@example.com",
	} {
		if got, ok := parseSieveAddress(in); ok {
			t.Errorf("%q accepted as %q", in, got)
		}
	}
}
