package sieve

import (
	"context"
	"strings"
	"testing"
)

// varsAfter runs src (which requires what it needs) and returns the
// variables of the main script at the end.
func varsAfter(t *testing.T, src, msg string) map[string]string {
	t.Helper()
	s := mustCompile(t, src, nil)
	r := &run{ctx: context.Background(), opts: &s.opts, msg: ParseMessage([]byte(msg)), globals: map[string]string{}, script: s, scope: &scope{}, host: &Host{}, implicitKeep: true}
	if err := r.block(s.body); err != nil && err != errStop {
		t.Fatalf("run: %v", err)
	}
	return r.scope.vars
}

// RFC 5229 §3: expansion, with "company" set to "ACME".
func TestRFC5229Expansion(t *testing.T) {
	cases := map[string]string{
		`&%${}!`:                        `&%${}!`,
		`${doh!}`:                       `${doh!}`,
		`${full}`:                       ``,
		`${company}`:                    `ACME`,
		`${BAD${Company}`:               `${BADACME`,
		`${President, ${Company} Inc.}`: `${President, ACME Inc.}`,
		`${COMPANY}${company}`:          `ACMEACME`,
		`${10}${0}`:                     ``,
	}
	for in, want := range cases {
		src := "require \"variables\";\nset \"company\" \"ACME\";\nset \"out\" \"" + in + "\";"
		if got := varsAfter(t, src, "")["out"]; got != want {
			t.Errorf("%q -> %q, want %q", in, got, want)
		}
	}
}

// RFC 5229 §3.2: match variables.
func TestRFC5229MatchVariables(t *testing.T) {
	src := script(`require ["fileinto", "variables"];

if header :matches "List-ID" "*<*@*" {
    fileinto "INBOX.lists.${2}"; stop;
}

# Imagine the header
# Subject: [acme-users] [fwd] version 1.0 is out
if header :matches "Subject" "[*] *" {
    # ${1} will hold "acme-users",
    # ${2} will hold "[fwd] version 1.0 is out"
    fileinto "INBOX.lists.${1}"; stop;
}

# Imagine the header
# To: coyote@ACME.Example.COM
if address :matches ["To", "Cc"] ["coyote@**.com",
        "wile@**.com"] {
    # ${0} is the matching address
    # ${1} is always the empty string
    # ${2} is part of the domain name ("ACME.Example")
    fileinto "INBOX.business.${2}"; stop;
} else {
    # Control wouldn't reach this block if any match was
    # successful, so no match variables are set at this
    # point.
}

if anyof (true, address :domain :matches "To" "*.com") {
    # The second test is never evaluated, so there are
    # still no match variables set.
    stop;
}
`)
	cases := []struct {
		msg  string
		want Action
	}{
		{crlf("List-ID: ACME users <acme-users@lists.example.org>", "", ""), FileInto{Mailbox: "INBOX.lists.acme-users"}},
		{crlf("Subject: [acme-users] [fwd] version 1.0 is out", "", ""), FileInto{Mailbox: "INBOX.lists.acme-users"}},
		{crlf("To: coyote@ACME.Example.COM", "", ""), FileInto{Mailbox: "INBOX.business.ACME.Example"}},
		{crlf("To: roadrunner@acme.example.com", "", ""), implicitKeep},
	}
	for _, tc := range cases {
		wantActions(t, runOn(t, src, tc.msg, Envelope{}, nil), tc.want)
	}
	vars := varsAfter(t, script(`require "variables";
if header :matches "Subject" "[*] *" { set "one" "${1}"; set "two" "${2}"; set "all" "${0}"; }
if header :matches "Subject" "no*match" { set "x" "y"; }
set "still" "${1}";
if header :matches "Subject" "?a*" { set "q" "${1}|${2}"; }`), crlf("Subject: [acme-users] [fwd] version 1.0 is out", "", ""))
	want := map[string]string{
		"one": "acme-users", "two": "[fwd] version 1.0 is out", "all": "[acme-users] [fwd] version 1.0 is out",
		"still": "acme-users", "q": "[|cme-users] [fwd] version 1.0 is out",
	}
	for k, v := range want {
		if vars[k] != v {
			t.Errorf("%s = %q, want %q", k, vars[k], v)
		}
	}
	if _, ok := vars["x"]; ok {
		t.Error("a failed match ran its block")
	}
}

// RFC 5229 §4: set and its modifiers.
func TestRFC5229Set(t *testing.T) {
	src := script(`require "variables";
set "a" "juMBlEd lETteRS";
set :length "b" "${a}";
set :lower "c" "${a}";
set :upperfirst "d" "${a}";
set :upperfirst :lower "e" "${a}";
set :quotewildcard "f" "Rock*";
set :lower :upperfirst "g" "${a}";
set :length "h" "été";
set :upper "i" "straße";
set :quotewildcard :length "j" "a*b";
set "honorific"  "Mr";
set "first_name" "Wile";
set "last_name"  "Coyote";
set "vacation" text:
Dear ${HONORIFIC} ${last_name},
I'm out, please leave a message after the meep.
.
;`)
	vars := varsAfter(t, src, "")
	want := map[string]string{
		"a": "juMBlEd lETteRS", "b": "15", "c": "jumbled letters", "d": "JuMBlEd lETteRS",
		"e": "Jumbled letters", "f": `Rock\*`, "g": "Jumbled letters", "h": "3", "i": "STRAßE", "j": "4",
		"vacation": "Dear Mr Coyote,\r\nI'm out, please leave a message after the meep.\r\n",
	}
	for k, v := range want {
		if vars[k] != v {
			t.Errorf("%s = %q, want %q", k, vars[k], v)
		}
	}
}

// RFC 5229 §5: the string test.
func TestRFC5229String(t *testing.T) {
	src := script(`require "variables";
set "state" "${state} pending";
if string :matches " ${state} " "* pending *" {
    # the above test always succeeds
    discard;
}`)
	wantActions(t, runOn(t, src, messageA, Envelope{}, nil), Discard{})
	src = script(`require ["variables", "relational"];
if string :count "eq" ["", "a", "", "b"] "2" { discard; }`)
	wantActions(t, runOn(t, src, messageA, Envelope{}, nil), Discard{})
}

// RFC 5229 §6 lets values be cut; they are cut at a character boundary.
func TestVariableSizeLimit(t *testing.T) {
	src := "require \"variables\";\nset \"a\" \"" + strings.Repeat("é", 3000) + "\";\nset \"b\" \"${a}${a}\";"
	vars := varsAfter(t, src, "")
	if len(vars["a"]) > DefaultMaxVariableSize || len(vars["b"]) > DefaultMaxVariableSize || !strings.HasPrefix(vars["b"], "éé") {
		t.Fatalf("lengths %d %d", len(vars["a"]), len(vars["b"]))
	}
	if vars["a"] != strings.Repeat("é", DefaultMaxVariableSize/2) {
		t.Fatal("cut inside a character")
	}
}
