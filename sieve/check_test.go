package sieve

import (
	"strings"
	"testing"
)

// The checker refuses what RFC 5228 and the extensions call errors, at the
// position of the culprit.
func TestCheckErrors(t *testing.T) {
	cases := []struct {
		src  string
		pos  Pos
		text string
	}{
		{`frobnicate;`, Pos{1, 1}, `unknown command "frobnicate"`},
		{`if frob {}`, Pos{1, 4}, `unknown test "frob"`},
		{`header "a" "b";`, Pos{1, 1}, "is a test, not a command"},
		{`if keep {}`, Pos{1, 4}, "is a command, not a test"},
		{`fileinto "x";`, Pos{1, 1}, `needs require "fileinto"`},
		{"require \"fileinto\";\nfileinto :copy \"x\";", Pos{2, 10}, `tag :copy needs require "copy"`},
		{"require \"fileinto\";\nfileinto :create \"x\";", Pos{2, 10}, `needs require "mailbox"`},
		{"require \"fileinto\";\nfileinto :flags \"\\\\Seen\" \"x\";", Pos{2, 10}, `needs require "imap4flags"`},
		{`require "frobnication";`, Pos{1, 9}, `unsupported extension "frobnication"`},
		{`require "FILEINTO";`, Pos{1, 9}, "unsupported extension"}, // capability names are case-sensitive (RFC 5228 §6)
		{"keep;\nrequire \"fileinto\";", Pos{2, 1}, "require must come before"},
		{`if true { require "fileinto"; }`, Pos{1, 11}, "require must come before"},
		{`elsif true {}`, Pos{1, 1}, "elsif must follow if"},
		{`if true {} else {} else {}`, Pos{1, 20}, "else must follow if"},
		{`if true {} keep; else {}`, Pos{1, 18}, "else must follow"},
		{`if true;`, Pos{1, 1}, "needs a block"},
		{`if "x" {}`, Pos{1, 4}, "takes a test and a block"},
		{`if (true, false) {}`, Pos{1, 1}, "exactly one test"},
		{`keep { }`, Pos{1, 1}, "takes no block"},
		{`keep "x";`, Pos{1, 1}, "takes 0 arguments, found 1"},
		{`redirect;`, Pos{1, 1}, "takes 1 argument, found 0"},
		{`redirect ["a@b.c", "d@e.f"];`, Pos{1, 10}, "must be a string, found a string list"},
		{`redirect 5;`, Pos{1, 10}, "must be a string, found a number"},
		{`redirect "not an address";`, Pos{1, 10}, "is not an address"},
		{`redirect "a@b.c, d@e.f";`, Pos{1, 10}, "is not an address"},
		{`if header :is :contains "a" "b" {}`, Pos{1, 15}, ":is and :contains cannot be used together"},
		{`if header :is :is "a" "b" {}`, Pos{1, 15}, "given twice"},
		{`if header "a" :is "b" {}`, Pos{1, 15}, "after a positional argument"},
		{`if header :frob "a" "b" {}`, Pos{1, 11}, "has no tagged argument :frob"},
		{`if header :comparator "a" "b" {}`, Pos{1, 4}, "takes 2 arguments, found 1"},
		{`if header :comparator "i;frob" "a" "b" {}`, Pos{1, 23}, `unknown comparator "i;frob"`},
		{`if header :comparator "i;ascii-numeric" "a" "b" {}`, Pos{1, 23}, `needs require "comparator-i;ascii-numeric"`},
		{"require \"comparator-i;ascii-numeric\";\nif header :contains :comparator \"i;ascii-numeric\" \"a\" \"1\" {}", Pos{2, 21}, "cannot do :contains"},
		{`if header :count "ge" "a" "1" {}`, Pos{1, 11}, `needs require "relational"`},
		{"require \"relational\";\nif header :value \"gg\" \"a\" \"1\" {}", Pos{2, 18}, "unknown relational operator"},
		{`if size 5 {}`, Pos{1, 4}, "needs :over or :under"},
		{`if size :over :under 5 {}`, Pos{1, 15}, "cannot be used together"},
		{`if size :over "5" {}`, Pos{1, 15}, "must be a number"},
		{`if not (true, false) {}`, Pos{1, 4}, "exactly one test"},
		{`if allof true {}`, Pos{1, 4}, "test list in parentheses"},
		{`if true false {}`, Pos{1, 9}, "takes no test"},
		{`if address "subject" "x" {}`, Pos{1, 12}, "does not hold addresses"},
		{`if address :user "to" "x" {}`, Pos{1, 12}, `needs require "subaddress"`},
		{"require \"envelope\";\nif envelope \"frob\" \"x\" {}", Pos{2, 13}, "unknown envelope part"},
		{"require \"variables\";\nset \"1\" \"x\";", Pos{2, 5}, "not a variable name"},
		{"require \"variables\";\nset \"a.b\" \"x\";", Pos{2, 5}, "not a variable name"},
		{"require \"variables\";\nset :lower :upper \"a\" \"x\";", Pos{2, 12}, "cannot be used together"},
		{"require \"variables\";\nif header :is \"x\" \"${frob.x}\" {}", Pos{2, 19}, "unknown variable namespace"},
		{"require \"vacation\";\nvacation :seconds 5 \"x\";", Pos{2, 10}, `needs require "vacation-seconds"`},
		{"require \"vacation-seconds\";\nvacation :days 1 :seconds 5 \"x\";", Pos{2, 18}, "cannot be used together"},
		{"require \"vacation\";\nvacation :from \"not an address\" \"x\";", Pos{2, 16}, "not an address"},
		{"require \"spamtest\";\nif spamtest :percent \"1\" {}", Pos{2, 13}, `needs require "spamtestplus"`},
		{"require \"date\";\nif date \"date\" \"fortnight\" \"1\" {}", Pos{2, 16}, "unknown date part"},
		{"require \"date\";\nif date :zone \"CET\" \"date\" \"year\" \"1\" {}", Pos{2, 15}, "not a time zone"},
		{"require [\"date\", \"index\"];\nif date :last \"date\" \"year\" \"1\" {}", Pos{2, 9}, ":last needs :index"},
		{"require [\"date\"];\nif date :index 1 \"date\" \"year\" \"1\" {}", Pos{2, 9}, `needs require "index"`},
		{"require \"index\";\nif header :index 0 \"a\" \"b\" {}", Pos{2, 11}, "at least 1"},
		{"require \"include\";\ninclude \"a/b\";", Pos{2, 9}, "not a script name"},
		{"require \"include\";\nglobal \"x\";", Pos{2, 1}, `needs require "variables"`},
		{"require [\"include\", \"variables\"];\ninclude :personal :global \"x\";", Pos{2, 19}, "cannot be used together"},
		{"require \"duplicate\";\nif duplicate :header \"a\" :uniqueid \"b\" {}", Pos{2, 26}, "cannot be used together"},
		{"require \"imap4flags\";\nsetflag \"not a name\" \"\\\\Seen\";", Pos{2, 9}, "not a variable name"},
		{"require \"imap4flags\";\nsetflag;", Pos{2, 1}, "takes 1 or 2 arguments, found 0"},
		{"require \"fileinto\";\nfileinto \"\";", Pos{2, 10}, "mailbox name is empty"},
		{"require \"fileinto\";\nfileinto \"bad\xff\";", Pos{2, 10}, "not UTF-8"},
		{`reject "no";`, Pos{1, 1}, `needs require "reject"`},
		{`ereject "no";`, Pos{1, 1}, `needs require "ereject"`},
		{`if body :raw "x" {}`, Pos{1, 4}, `needs require "body"`},
		{"require \"body\";\nif body :raw :text \"x\" {}", Pos{2, 14}, "cannot be used together"},
	}
	for _, tc := range cases {
		e := compileErr(t, tc.src)
		if e.Pos != tc.pos || !strings.Contains(e.Msg, tc.text) {
			t.Errorf("%q:\n got %v\nwant %v: ...%s...", tc.src, e, tc.pos, tc.text)
		}
	}
}

// Options.Extensions restricts what scripts may require.
func TestCheckExtensionsOption(t *testing.T) {
	opts := &Options{Extensions: []string{"fileinto"}}
	if _, err := Compile([]byte(`require "fileinto";`), opts); err != nil {
		t.Fatal(err)
	}
	if _, err := Compile([]byte(`require "vacation";`), opts); err == nil {
		t.Fatal("vacation required although not enabled")
	}
	// The base comparators are always there (RFC 5228 §2.7.3).
	if _, err := Compile([]byte(`require ["comparator-i;octet", "comparator-i;ascii-casemap"];`), opts); err != nil {
		t.Fatal(err)
	}
}

func TestCheckScriptSize(t *testing.T) {
	src := "keep;" + strings.Repeat(" ", 100)
	if _, err := Compile([]byte(src), &Options{MaxScriptSize: 50}); err == nil || !strings.Contains(err.Error(), "more than the limit of 50") {
		t.Fatalf("oversized script: %v", err)
	}
}

func TestExtensionsList(t *testing.T) {
	exts := Extensions()
	for _, want := range []string{"fileinto", "vacation", "vacation-seconds", "include", "duplicate", "comparator-i;ascii-numeric"} {
		found := false
		for _, e := range exts {
			found = found || e == want
		}
		if !found {
			t.Errorf("Extensions() lacks %q", want)
		}
	}
	// Every listed extension can be required.
	src := `require ["` + strings.Join(exts, `", "`) + `"];`
	if _, err := Compile([]byte(src), nil); err != nil {
		t.Fatal(err)
	}
	exts[0] = "changed"
	if Extensions()[0] == "changed" {
		t.Fatal("Extensions returns its own slice")
	}
}

func TestCapabilities(t *testing.T) {
	if got := (&Options{Extensions: []string{"vacation", "frob", "fileinto"}}).Capabilities(); strings.Join(got, " ") != "fileinto vacation" {
		t.Errorf("restricted: %q", got)
	}
	var nilOpts *Options
	if got := nilOpts.Capabilities(); len(got) != len(Extensions()) {
		t.Errorf("defaults: %q", got)
	}
}
