package mtasts

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestText(t *testing.T) {
	p := Policy{Mode: Testing, MX: []string{"Mail.Example.com."}, MaxAge: 7 * 24 * time.Hour}
	want := "version: STSv1\r\nmode: testing\r\nmx: mail.example.com\r\nmax_age: 604800\r\n"
	if got := p.Text(); got != want {
		t.Errorf("Text() = %q, want %q", got, want)
	}
	if big := (Policy{Mode: Enforce, MaxAge: 100 * 365 * 24 * time.Hour}).Text(); !strings.Contains(big, "max_age: 31557600\r\n") {
		t.Errorf("max_age not capped at RFC 8461's maximum: %q", big)
	}
}

func TestID(t *testing.T) {
	a := Policy{Mode: Testing, MX: []string{"mail.example.com"}, MaxAge: time.Hour}
	b := a
	b.Mode = Enforce
	if a.ID() == b.ID() {
		t.Error("the id must change when the policy does")
	}
	if a.ID() != (Policy{Mode: Testing, MX: []string{"mail.example.com"}, MaxAge: time.Hour}).ID() {
		t.Error("the id of one policy must be stable")
	}
	// RFC 8461 §3.1: sts-id = "id=" 1*32(ALPHA / DIGIT)
	if !regexp.MustCompile(`^v=STSv1; id=[A-Za-z0-9]{1,32};$`).MatchString(a.TXT()) {
		t.Errorf("TXT %q does not match RFC 8461 §3.1", a.TXT())
	}
}
