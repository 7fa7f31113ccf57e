package sieve

import (
	"strings"
	"testing"
)

// Hostile scripts and messages stay within the limits: they end in an
// error and the implicit keep, or in a result, after bounded work.

func TestHugeScript(t *testing.T) {
	var sb strings.Builder
	sb.WriteString("require \"fileinto\";\n")
	for sb.Len() < DefaultMaxScriptSize-100 {
		sb.WriteString("if header :contains \"subject\" \"word\" { fileinto \"box\"; }\n")
	}
	s := mustCompile(t, sb.String(), nil)
	res := s.Run(t.Context(), ParseMessage([]byte(messageA)), Envelope{}, nil)
	if res.Err != nil || res.Steps > DefaultMaxSteps {
		t.Fatalf("a script of 1 MiB: %v after %d steps", res.Err, res.Steps)
	}
	sb.WriteString(strings.Repeat("#", 200))
	if _, err := Compile([]byte(sb.String()), nil); err == nil {
		t.Fatal("a script over the size limit compiled")
	}
}

func TestStepBudget(t *testing.T) {
	// 200,000 tests on a message of 60 KB run out of steps.
	var sb strings.Builder
	sb.WriteString("require \"body\";\n")
	for i := 0; i < 2000; i++ {
		sb.WriteString("if body :raw :contains \"needle\" { discard; }\n")
	}
	msg := crlf("Subject: x", "", strings.Repeat("haystack ", 7000))
	res := runAllowErr(t, sb.String(), msg, Envelope{}, nil)
	if res.Err == nil || !strings.Contains(res.Err.Error(), "steps") {
		t.Fatalf("no step error: %v, %d steps", res.Err, res.Steps)
	}
	wantActions(t, res, implicitKeep)
	if res.Steps > DefaultMaxSteps+100000 {
		t.Fatalf("%d steps used, budget %d", res.Steps, DefaultMaxSteps)
	}
	// A smaller budget stops sooner.
	s := mustCompile(t, sb.String(), &Options{MaxSteps: 1000})
	res = s.Run(t.Context(), ParseMessage([]byte(msg)), Envelope{}, nil)
	if res.Err == nil || res.Steps > 2000 {
		t.Fatalf("budget 1000: %v after %d steps", res.Err, res.Steps)
	}
}

func TestExponentialExpansion(t *testing.T) {
	var sb strings.Builder
	sb.WriteString("require \"variables\";\nset \"a\" \"xx\";\n")
	for i := 0; i < 100; i++ {
		sb.WriteString("set \"a\" \"${a}${a}${a}${a}\";\n")
	}
	sb.WriteString("if string :is \"${a}\" \"\" { discard; }")
	res := runOn(t, sb.String(), messageA, Envelope{}, nil)
	wantActions(t, res, implicitKeep)
	// One string with a hundred thousand references to a long variable.
	src := "require \"variables\";\nset \"a\" \"" + strings.Repeat("x", 4000) + "\";\nset \"b\" \"" + strings.Repeat("${a}", 100000) + "\";"
	res = runAllowErr(t, src, messageA, Envelope{}, nil)
	if res.Err == nil || !strings.Contains(res.Err.Error(), "longer than") {
		t.Fatalf("huge expansion: %v", res.Err)
	}
	// Many variables.
	sb.Reset()
	sb.WriteString("require \"variables\";\n")
	for i := 0; i < 300; i++ {
		sb.WriteString("set \"v" + itoa(i) + "\" \"x\";\n")
	}
	res = runAllowErr(t, sb.String(), messageA, Envelope{}, nil)
	if res.Err == nil || !strings.Contains(res.Err.Error(), "variables") {
		t.Fatalf("300 variables: %v", res.Err)
	}
}

// :matches with many wildcards runs in linear time: a pattern that makes
// backtracking matchers take exponential time is answered at once.
func TestMatchesManyStars(t *testing.T) {
	value := strings.Repeat("a", 100000)
	pattern := strings.Repeat("*a", 2000) + "*b"
	src := "require \"variables\";\nset \"v\" \"" + value[:4000] + "\";\n" +
		"if string :matches \"${v}\" \"" + pattern + "\" { discard; }\n" +
		"if header :matches \"x-long\" \"" + pattern + "\" { discard; }\n" +
		"if header :matches \"x-long\" \"" + strings.Repeat("*?a", 500) + "*\" { keep; }"
	res := runOn(t, src, crlf("X-Long: "+value, "", ""), Envelope{}, nil)
	wantActions(t, res, Keep{})
	if res.Steps > 200000 {
		t.Fatalf("%d steps for three patterns", res.Steps)
	}
	g := compileGlob(strings.Repeat("*?", 300)+strings.Repeat("?a", 100)+"b*", false)
	work := 0
	if g.match(value, value, nil, &work) {
		t.Fatal("matched a pattern needing b")
	}
	if work > 100*len(value) {
		t.Fatalf("%d octets of work on %d", work, len(value))
	}
}

func TestGlob(t *testing.T) {
	cases := []struct {
		pattern, value string
		fold, want     bool
		caps           []string
	}{
		{"*", "", false, true, []string{"", ""}},
		{"", "", false, true, []string{""}},
		{"", "a", false, false, nil},
		{"a*", "abc", false, true, []string{"abc", "bc"}},
		{"*c", "abc", false, true, []string{"abc", "ab"}},
		{"?*", "x", false, true, []string{"x", "x", ""}},
		{"?*", "", false, false, nil},
		{"a?c", "aXc", false, true, []string{"aXc", "X"}},
		{"A*C", "abc", true, true, []string{"abc", "b"}},
		{"A*C", "abc", false, false, nil},
		{`\*x`, "*x", false, true, []string{"*x"}},
		{`\*x`, "ax", false, false, nil},
		{`a\\b`, `a\b`, false, true, []string{`a\b`}},
		{`\?`, "?", false, true, []string{"?"}},
		{"*.*", "a.b.c", false, true, []string{"a.b.c", "a", "b.c"}},
		{"coyote@**.com", "coyote@ACME.Example.COM", true, true, []string{"coyote@ACME.Example.COM", "", "ACME.Example"}},
		{"*<*@*", "x <a@b>", false, true, []string{"x <a@b>", "x ", "a", "b>"}},
		{"*a?b*", "xxa-bxxa+b", false, true, []string{"xxa-bxxa+b", "xx", "-", "xxa+b"}},
		{strings.Repeat("?", 70), strings.Repeat("z", 70), false, true, nil},
		{"*" + strings.Repeat("?", 70) + "y*", strings.Repeat("z", 75) + "y", false, true, nil},
		{"*" + strings.Repeat("?", 70) + "y*", strings.Repeat("z", 65) + "y", false, false, nil},
	}
	for _, tc := range cases {
		g := compileGlob(tc.pattern, tc.fold)
		caps := make([]string, 10)
		v := tc.value
		if tc.fold {
			v = lowerASCII(v)
		}
		work := 0
		got := g.match(v, tc.value, caps, &work)
		if got != tc.want {
			t.Errorf("%q ~ %q = %v, want %v", tc.value, tc.pattern, got, tc.want)
			continue
		}
		for i, c := range tc.caps {
			if caps[i] != c {
				t.Errorf("%q ~ %q: ${%d} = %q, want %q", tc.value, tc.pattern, i, caps[i], c)
			}
		}
	}
}

func TestHugeHeaderManyRecipients(t *testing.T) {
	var to strings.Builder
	to.WriteString("To: ")
	for i := 0; i < 20000; i++ {
		if i > 0 {
			to.WriteString(",\r\n ")
		}
		to.WriteString("user" + itoa(i) + "@example.com")
	}
	msg := crlf(to.String(), "Subject: "+strings.Repeat("s", 100000), "", "body")
	src := script(`require ["relational", "comparator-i;ascii-numeric", "fileinto"];
if address :count "gt" :comparator "i;ascii-numeric" "to" "1000" { fileinto "many"; }
if address :is "to" "user19999@example.com" { fileinto "last"; }
if header :matches "subject" "*s*s*s*x" { discard; }`)
	res := runOn(t, src, msg, Envelope{}, nil)
	wantActions(t, res, FileInto{Mailbox: "many"}, FileInto{Mailbox: "last"})
	if res.Steps > DefaultMaxSteps/4 {
		t.Fatalf("%d steps", res.Steps)
	}
	// With a small budget the same script stops with an error.
	s := mustCompile(t, src, &Options{MaxSteps: 5000})
	res = s.Run(t.Context(), ParseMessage([]byte(msg)), Envelope{}, nil)
	if res.Err == nil {
		t.Fatal("no error within 5000 steps")
	}
}

func TestActionLimits(t *testing.T) {
	var sb strings.Builder
	sb.WriteString("require \"fileinto\";\n")
	for i := 0; i < 40; i++ {
		sb.WriteString("fileinto \"box" + itoa(i) + "\";\n")
	}
	res := runAllowErr(t, sb.String(), messageA, Envelope{}, nil)
	if res.Err == nil || !strings.Contains(res.Err.Error(), "more than 32 actions") {
		t.Fatalf("40 actions: %v", res.Err)
	}
	wantActions(t, res, implicitKeep)
	// The same mailbox twice is one delivery (RFC 5228 §2.10.3).
	src := "require [\"fileinto\", \"imap4flags\"];\nfileinto :flags \"a\" \"x\";\nfileinto :flags \"b\" \"x\";\nkeep;\nfileinto \"INBOX\";\nkeep;"
	wantActions(t, runOn(t, src, messageA, Envelope{}, nil), FileInto{Mailbox: "x", Flags: []string{"a", "b"}}, Keep{Flags: []string{}})
	// Redirects: four by default, repeats not counted.
	sb.Reset()
	for i := 0; i < 4; i++ {
		sb.WriteString("redirect \"r" + itoa(i) + "@example.com\";\nredirect \"R" + itoa(i) + "@EXAMPLE.com\";\n")
	}
	res = runOn(t, sb.String(), messageA, Envelope{}, nil)
	if len(res.Actions) != 4 {
		t.Fatalf("4 redirects: %s", fmtActions(res.Actions))
	}
	sb.WriteString("redirect \"r5@example.com\";\n")
	res = runAllowErr(t, sb.String(), messageA, Envelope{}, nil)
	if res.Err == nil || !strings.Contains(res.Err.Error(), "max_redirects") {
		t.Fatalf("5 redirects: %v", res.Err)
	}
	s := mustCompile(t, sb.String(), &Options{MaxRedirects: 10})
	if res := s.Run(t.Context(), ParseMessage([]byte(messageA)), Envelope{}, nil); res.Err != nil {
		t.Fatalf("MaxRedirects 10: %v", res.Err)
	}
}

func TestNonUTF8(t *testing.T) {
	// Octets that are not UTF-8 in a script's strings and comments, and in
	// a message's header and body.
	src := "# caf\xe9\nrequire [\"fileinto\", \"body\"];\nif header :contains \"subject\" \"caf\xe9\" { fileinto \"latin\"; }\n" +
		"if body :contains \"\xff\xfe\" { discard; }\nif header :contains \"x-bin\" \"\xff\" { fileinto \"bin\"; }"
	msg := "Subject: caf\xe9\r\nX-Bin: \xff\x00\xfe\r\n\r\n\xff\xfe\x00body"
	res := runOn(t, src, msg, Envelope{}, nil)
	// Header values are made valid UTF-8 before comparison (RFC 5228
	// §2.7.2), so the raw octets no longer match.
	wantActions(t, res, implicitKeep)
	// A mailbox name that is not UTF-8 is a run-time error.
	res = runAllowErr(t, "require [\"fileinto\", \"variables\"];\nset \"b\" \"\xff\";\nfileinto \"${b}\";", messageA, Envelope{}, nil)
	if res.Err == nil || !strings.Contains(res.Err.Error(), "not UTF-8") {
		t.Fatalf("bad mailbox: %v", res.Err)
	}
}
