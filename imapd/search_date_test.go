package imapd

import (
	"strings"
	"testing"
)

// SENTON and its kin take the day as the Date: field writes it, whatever
// the server's zone (RFC 3501 §6.4.4: "disregarding time and timezone").
func TestSearchSentUsesTheHeaderDay(t *testing.T) {
	e := newEnv(t, nil)
	e.deliver(t, "INBOX", "From: a@example.test\r\nSubject: east\r\nDate: Tue, 3 Sep 2024 01:30:00 +0900\r\n\r\nx\r\n")
	e.deliver(t, "INBOX", "From: a@example.test\r\nSubject: west\r\nDate: Mon, 2 Sep 2024 22:30:00 -0700\r\n\r\nx\r\n")
	r := e.raw(t, true)
	r.send("s SELECT INBOX\r\n")
	r.expect("s OK")
	for q, want := range map[string]string{
		"SENTON 3-Sep-2024":     "* SEARCH 1",
		"SENTON 2-Sep-2024":     "* SEARCH 2",
		"SENTBEFORE 3-Sep-2024": "* SEARCH 2",
		"SENTSINCE 3-Sep-2024":  "* SEARCH 1",
		"SENTSINCE 4-Sep-2024":  "* SEARCH",
	} {
		r.send("q SEARCH " + q + "\r\n")
		lines := r.expect("q OK")
		if got := strings.TrimSpace(lines[0]); got != want {
			t.Errorf("SEARCH %s = %q, want %q", q, got, want)
		}
	}
}
