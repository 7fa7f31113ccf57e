package sieve

import (
	"strings"
	"testing"
	"time"
)

// vacationOf returns the vacation action of a result, failing without one.
func vacationOf(t *testing.T, res *Result) Vacation {
	t.Helper()
	for _, a := range res.Actions {
		if v, ok := a.(Vacation); ok {
			return v
		}
	}
	t.Fatalf("no vacation in %s", fmtActions(res.Actions))
	return Vacation{}
}

const day = 24 * time.Hour

func TestRFC5230Examples(t *testing.T) {
	coyote := Envelope{From: "coyote@desert.example.org", To: "roadrunner@acme.example.com"}

	// §4.2: two different responses are tracked apart.
	cyrus := script(`require "vacation";
if header :contains "subject" "cyrus" {
    vacation "I'm out -- send mail to cyrus-bugs";
} else {
    vacation "I'm out -- call me at +1 304 555 0123";
}`)
	v1 := vacationOf(t, runOn(t, cyrus, crlf("Subject: Cyrus bug", "", ""), coyote, nil))
	v2 := vacationOf(t, runOn(t, cyrus, crlf("Subject: come over for dinner", "", ""), coyote, nil))
	if v1.Handle == v2.Handle || v1.Reason != "I'm out -- send mail to cyrus-bugs" || v2.Reason != "I'm out -- call me at +1 304 555 0123" {
		t.Errorf("cyrus example: %+v / %+v", v1, v2)
	}
	if v1.Period != 7*day || v1.Subject != "Auto: Cyrus bug" {
		t.Errorf("defaults: period %v subject %q", v1.Period, v1.Subject)
	}

	// §4.2: tracking uses the arguments before variables are expanded.
	vars := script(`require ["vacation", "variables"];
if header :matches "subject" "*" {
    vacation :subject "Automatic response to: ${1}"
             "I'm away -- send mail to foo in my absence";
}`)
	v1 = vacationOf(t, runOn(t, vars, crlf("Subject: one", "", ""), coyote, nil))
	v2 = vacationOf(t, runOn(t, vars, crlf("Subject: two", "", ""), coyote, nil))
	if v1.Handle != v2.Handle || v1.Subject != "Automatic response to: one" || v2.Subject != "Automatic response to: two" {
		t.Errorf("variables example: %+v / %+v", v1, v2)
	}

	// §4.2: an explicit handle makes two responses one.
	handle := script(`require "vacation";
if header :contains "subject" "lunch" {
    vacation :handle "ran-away" "I'm out and can't meet for lunch";
} else {
    vacation :handle "ran-away" "I'm out";
}`)
	tweety := Envelope{From: "tweety@cage.example.org", To: "spike@doghouse.example.com"}
	v1 = vacationOf(t, runOn(t, handle, crlf("Subject: lunch?", "", ""), tweety, nil))
	v2 = vacationOf(t, runOn(t, handle, crlf("Subject: dinner?", "", ""), tweety, nil))
	if v1.Handle != v2.Handle || v1.Reason == v2.Reason || v1.Handle == vacationOf(t, runOn(t, cyrus, "", coyote, nil)).Handle {
		t.Errorf("handle example: %q %q", v1.Handle, v2.Handle)
	}

	// §4.4: :mime.
	mimeScript := script(`require "vacation";
vacation :mime text:
Content-Type: multipart/alternative; boundary=foo

--foo

I'm at the beach relaxing.  Mmmm, surf...

--foo
Content-Type: text/html; charset=us-ascii

<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.0//EN"
 "http://www.w3.org/TR/REC-html40/strict.dtd">
<HTML><HEAD><TITLE>How to relax</TITLE>
<BASE HREF="http://home.example.com/pictures/"></HEAD>
<BODY><P>I'm at the <A HREF="beach.gif">beach</A> relaxing.
Mmmm, <A HREF="ocean.gif">surf</A>...
</BODY></HTML>

--foo--
.
;`)
	v := vacationOf(t, runOn(t, mimeScript, messageA, coyote, nil))
	if !v.MIME || !strings.HasPrefix(v.Reason, "Content-Type: multipart/alternative; boundary=foo\r\n\r\n--foo\r\n") || !strings.HasSuffix(v.Reason, "--foo--\r\n") {
		t.Errorf(":mime example: %+v", v)
	}

	// §4.8: days and addresses; the implicit keep stays (§4.7).
	simple := script(`require "vacation";
vacation :days 23 :addresses ["tjs@example.edu",
                              "ts4z@landru.example.edu"]
"I'm away until October 19.
If it's an emergency, call 911, I guess." ;`)
	res := runOn(t, simple, messageA, coyote, nil)
	v = vacationOf(t, res)
	if v.Period != 23*day || strings.Join(v.Addresses, ",") != "tjs@example.edu,ts4z@landru.example.edu" ||
		v.Reason != "I'm away until October 19.\r\nIf it's an emergency, call 911, I guess." {
		t.Errorf("§4.8 example: %+v", v)
	}
	if k, ok := res.Actions[len(res.Actions)-1].(Keep); !ok || !k.Implicit {
		t.Errorf("vacation cancelled the implicit keep: %s", fmtActions(res.Actions))
	}

	boss := script(`require "vacation";
if header :contains "from" "boss@example.edu" {
    redirect "pleeb@isp.example.org";
} else {
    vacation "Sorry, I'm away, I'll read your
message when I get around to it.";
}`)
	wantActions(t, runOn(t, boss, crlf("From: boss@example.edu", "", ""), coyote, nil), Redirect{Address: "pleeb@isp.example.org"})
	v = vacationOf(t, runOn(t, boss, messageA, coyote, nil))
	if v.Reason != "Sorry, I'm away, I'll read your\r\nmessage when I get around to it." {
		t.Errorf("boss example: %q", v.Reason)
	}

	// §7: choosing a language, and a subject per audience.
	lang := script(`require "vacation";
if header :contains ["accept-language", "content-language"] "en"
{
    vacation "I am away this week.";
} else {
    vacation "Estoy ausente esta semana.";
}`)
	if v := vacationOf(t, runOn(t, lang, crlf("Content-Language: en-GB", "", ""), coyote, nil)); v.Reason != "I am away this week." {
		t.Errorf("language example: %q", v.Reason)
	}
	if v := vacationOf(t, runOn(t, lang, crlf("Content-Language: es", "", ""), coyote, nil)); v.Reason != "Estoy ausente esta semana." {
		t.Errorf("language example: %q", v.Reason)
	}
	division := script(`require "vacation";
if address :matches "from" "*@ourdivision.example.com"
{
    vacation :subject "Gone fishing"
             "Having lots of fun! Back in a day or two!";
} else {
    vacation :subject "Je suis parti cette semaine"
             "Je lirai votre message quand je retourne.";
}`)
	if v := vacationOf(t, runOn(t, division, crlf("From: pal@ourdivision.example.com", "", ""), coyote, nil)); v.Subject != "Gone fishing" {
		t.Errorf("division example: %q", v.Subject)
	}
	if v := vacationOf(t, runOn(t, division, messageA, coyote, nil)); v.Subject != "Je suis parti cette semaine" {
		t.Errorf("division example: %q", v.Subject)
	}
}

func TestVacationRules(t *testing.T) {
	env := Envelope{From: "a@b.example", To: "me@example.com"}
	// §4.7: only one vacation.
	res := runAllowErr(t, "require \"vacation\";\nvacation \"a\";\nvacation \"b\";", messageA, env, nil)
	if res.Err == nil || !strings.Contains(res.Err.Error(), "only once") {
		t.Fatalf("two vacations: %v", res.Err)
	}
	wantActions(t, res, implicitKeep)
	// §4.7: not with reject.
	res = runAllowErr(t, "require [\"vacation\", \"reject\"];\nvacation \"a\";\nreject \"b\";", messageA, env, nil)
	if res.Err == nil || res.Err.(*Error).Pos.Line != 3 {
		t.Fatalf("vacation and reject: %v", res.Err)
	}
	// §4.1: days below 1 and above the maximum.
	if v := vacationOf(t, runOn(t, "require \"vacation\";\nvacation :days 0 \"x\";", messageA, env, nil)); v.Period != day {
		t.Errorf(":days 0 gave %v", v.Period)
	}
	if v := vacationOf(t, runOn(t, "require \"vacation\";\nvacation :days 100000 \"x\";", messageA, env, nil)); v.Period != DefaultVacationMaxPeriod {
		t.Errorf(":days 100000 gave %v", v.Period)
	}
	// §4.3: :from, and the subject without a Subject field (§5.3).
	v := vacationOf(t, runOn(t, "require \"vacation\";\nvacation :from \"Road Runner <rr@acme.example.com>\" \"x\";", crlf("From: a@b", "", ""), env, nil))
	if v.From != "rr@acme.example.com" || v.FromHeader != "Road Runner <rr@acme.example.com>" || v.Subject != "Automated reply" {
		t.Errorf(":from: %+v", v)
	}
	// §5: :mime with 8-bit header material is refused.
	res = runAllowErr(t, "require \"vacation\";\nvacation :mime \"Content-Type: text/plain; name=\xc3\xa9\r\n\r\nx\";", messageA, env, nil)
	if res.Err == nil {
		t.Error(":mime with an 8-bit header ran")
	}
}

// RFC 6131: vacation-seconds.
func TestRFC6131Seconds(t *testing.T) {
	env := Envelope{From: "a@b.example", To: "me@example.com"}
	cases := map[string]time.Duration{
		"require \"vacation-seconds\";\nvacation :seconds 3600 \"I'm out for a bit.\";":                                                                                                  time.Hour,
		"require [\"vacation\", \"vacation-seconds\"];\nvacation :seconds 86400 \"I'm away for the day.\";":                                                                              day,
		"require \"vacation-seconds\";\nvacation :seconds 7200 :subject \"Auto-reply\" \"I'm away.\";":                                                                                   2 * time.Hour,
		"require \"vacation-seconds\";\nvacation :seconds 0 \"Back soon.\";":                                                                                                             0,
		"require \"vacation-seconds\";\nvacation :addresses [\"tjs@example.edu\", \"ts4z@landru.example.edu\"]\n:seconds 1800\n\"I am in a meeting, and do not have access to email.\";": 30 * time.Minute,
	}
	for src, want := range cases {
		if v := vacationOf(t, runOn(t, src, messageA, env, nil)); v.Period != want {
			t.Errorf("%s: period %v, want %v", src, v.Period, want)
		}
	}
	// A site minimum applies to :seconds.
	s := mustCompile(t, "require \"vacation-seconds\";\nvacation :seconds 10 \"x\";", &Options{VacationMinPeriod: time.Hour})
	res := s.Run(t.Context(), ParseMessage([]byte(messageA)), env, nil)
	if v := vacationOf(t, res); v.Period != time.Hour {
		t.Errorf("minimum: %v", v.Period)
	}
}

func TestVacationEligible(t *testing.T) {
	v := &Vacation{Addresses: []string{"Alias <alias@example.org>"}}
	own := []string{"me@example.com"}
	base := []string{"From: Sender <sender@remote.example>", "To: me@example.com", "Subject: hi", "Message-ID: <1@remote.example>"}
	msg := func(extra ...string) Message {
		return ParseMessage([]byte(crlf(append(append(append([]string{}, base...), extra...), "", "body")...)))
	}
	env := Envelope{From: "sender@remote.example", To: "me@example.com"}
	if ok, why := VacationEligible(msg(), env, v, own); !ok {
		t.Fatalf("plain message refused: %s", why)
	}
	refused := []struct {
		name string
		m    Message
		env  Envelope
	}{
		{"null sender", msg(), Envelope{From: "", To: "me@example.com"}},
		{"null sender <>", msg(), Envelope{From: "<>", To: "me@example.com"}},
		{"mailer-daemon", msg(), Envelope{From: "MAILER-DAEMON@remote.example", To: "me@example.com"}},
		{"owner-", msg(), Envelope{From: "owner-list@remote.example", To: "me@example.com"}},
		{"-request", msg(), Envelope{From: "list-request@remote.example", To: "me@example.com"}},
		{"List-Id", msg("List-Id: <list.remote.example>"), env},
		{"List-Unsubscribe", msg("List-Unsubscribe: <mailto:x@y>"), env},
		{"List-Post", msg("list-post: <mailto:x@y>"), env},
		{"Precedence bulk", msg("Precedence: bulk"), env},
		{"Precedence junk", msg("Precedence: JUNK"), env},
		{"Precedence list", msg("Precedence: list"), env},
		{"Auto-Submitted", msg("Auto-Submitted: auto-replied"), env},
		{"Auto-Submitted generated", msg("Auto-Submitted: auto-generated; owner-email=x@y"), env},
		{"own address", msg(), Envelope{From: "me@example.com", To: "me@example.com"}},
		{"own alias", msg(), Envelope{From: "alias@example.org", To: "me@example.com"}},
		{"not addressed", ParseMessage([]byte(crlf("From: x@remote.example", "To: someone-else@example.com", "", "hi"))), env},
	}
	for _, tc := range refused {
		if ok, why := VacationEligible(tc.m, tc.env, v, own); ok || why == "" {
			t.Errorf("%s: eligible", tc.name)
		}
	}
	accepted := []struct {
		name string
		m    Message
		env  Envelope
	}{
		{"Auto-Submitted: no", msg("Auto-Submitted: no"), env},
		{"Precedence first-class", msg("Precedence: first-class"), env},
		{"Cc", ParseMessage([]byte(crlf("From: x@remote.example", "To: a@b", "Cc: Me <ME@EXAMPLE.COM>", "", "hi"))), env},
		{"Bcc via :addresses", ParseMessage([]byte(crlf("From: x@remote.example", "To: a@b", "Bcc: alias@example.org", "", "hi"))), env},
		{"envelope recipient", ParseMessage([]byte(crlf("From: x@remote.example", "To: rcpt@example.net", "", "hi"))), Envelope{From: "x@remote.example", To: "rcpt@example.net"}},
		{"subaddress", ParseMessage([]byte(crlf("From: x@remote.example", "To: me+work@example.com", "", "hi"))), env},
		{"Resent-To", ParseMessage([]byte(crlf("From: x@remote.example", "To: a@b", "Resent-To: me@example.com", "", "hi"))), env},
	}
	for _, tc := range accepted {
		if ok, why := VacationEligible(tc.m, tc.env, v, own); !ok {
			t.Errorf("%s: refused: %s", tc.name, why)
		}
	}
}

func TestVacationReply(t *testing.T) {
	orig := ParseMessage([]byte(crlf("From: a@b", "Subject: hi", "Message-ID: <orig@b>", "References: <r1@b>", "", "x")))
	v := &Vacation{Subject: "Absent: été\r\nBcc: evil@x", Reason: "Bonjour,\nje suis absent, à bientôt.\n"}
	date := time.Date(2025, 7, 1, 10, 0, 0, 0, time.UTC)
	msg := string(VacationReply(v, orig, "me@example.com", "a@b", date, "reply1@example.com"))
	for _, want := range []string{
		"From: <me@example.com>\r\n", "To: <a@b>\r\n", "Date: Tue, 01 Jul 2025 10:00:00 +0000\r\n",
		"Message-ID: <reply1@example.com>\r\n", "In-Reply-To: <orig@b>\r\n", "References: <r1@b> <orig@b>\r\n",
		"Auto-Submitted: auto-replied\r\n", "Content-Transfer-Encoding: quoted-printable\r\n", "charset=utf-8",
		"Subject: =?utf-8?q?",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("reply lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "\r\nBcc:") {
		t.Errorf("subject injected a header:\n%s", msg)
	}
	info := ParseMessage([]byte(msg))
	if subj := info.DecodedHeader("Subject"); len(subj) != 1 || subj[0] != "Absent: été Bcc: evil@x" {
		t.Errorf("subject decodes to %q", subj)
	}
	if txt := info.Body().Text(); txt != "Bonjour,\r\nje suis absent, à bientôt.\r\n" {
		t.Errorf("body text %q", txt)
	}
	v = &Vacation{Subject: "Away", Reason: "Content-Type: text/plain\r\n\r\nback soon", MIME: true, FromHeader: "Me <me@example.com>"}
	msg = string(VacationReply(v, ParseMessage([]byte("Subject: x\r\n\r\n")), "me@example.com", "a@b", date, "r2@x"))
	if !strings.Contains(msg, "From: Me <me@example.com>\r\n") || !strings.HasSuffix(msg, "Content-Type: text/plain\r\n\r\nback soon") || strings.Contains(msg, "In-Reply-To") {
		t.Errorf(":mime reply:\n%s", msg)
	}
}
