package metrics

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape fetches the handler's output and parses it as Prometheus text.
func scrape(t *testing.T, m *Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return fams
}

// value returns the value of the series of family name with the labels.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	t.Helper()
	f := fams[name]
	if f == nil {
		t.Fatalf("no metric %s", name)
	}
next:
	for _, m := range f.Metric {
		if len(m.Label)*2 != len(labels) {
			continue
		}
		for i, l := range m.Label {
			if l.GetName() != labels[2*i] || l.GetValue() != labels[2*i+1] {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	t.Fatalf("no series %s%v", name, labels)
	return 0
}

func TestCountersAndGauges(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	m := New(State{
		Queue:         func() (int, time.Time, error) { return 3, now.Add(-90 * time.Second), nil },
		DatabaseBytes: func() (int64, error) { return 123456, nil },
		Now:           func() time.Time { return now },
	})
	fams := scrape(t, m)
	// Series exist at zero before anything happened.
	if v := value(t, fams, "postern_logins_total", "protocol", "imap", "result", "failed"); v != 0 {
		t.Errorf("logins before any = %v", v)
	}
	m.Connection(IMAP)
	m.Connection(IMAP)
	m.Connection(SMTP)
	m.Login(POP3, true)
	m.Login(POP3, false)
	m.Login(POP3, false)
	m.Received(Submission)
	m.Delivered(Local)
	m.Delivered(Remote)
	m.Bounced()
	m.Rejected(ReasonUnknownRecipient)
	m.Rejected("anything a client said") // counted as other
	m.Commit(3 * time.Millisecond)
	m.IMAPCommand("fetch", time.Millisecond)
	m.IMAPCommand("UID fetch", time.Millisecond)
	m.IMAPCommand("X-EVIL-"+string([]byte{0xff, 0xfe}), time.Millisecond)

	fams = scrape(t, m)
	checks := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"postern_connections_total", []string{"protocol", "imap"}, 2},
		{"postern_connections_total", []string{"protocol", "smtp"}, 1},
		{"postern_logins_total", []string{"protocol", "pop3", "result", "ok"}, 1},
		{"postern_logins_total", []string{"protocol", "pop3", "result", "failed"}, 2},
		{"postern_messages_received_total", []string{"protocol", "submission"}, 1},
		{"postern_messages_delivered_total", []string{"destination", "local"}, 1},
		{"postern_messages_delivered_total", []string{"destination", "remote"}, 1},
		{"postern_messages_bounced_total", nil, 1},
		{"postern_messages_rejected_total", []string{"reason", "unknown_recipient"}, 1},
		{"postern_messages_rejected_total", []string{"reason", "other"}, 1},
		{"postern_store_commit_seconds", nil, 1},
		{"postern_imap_command_seconds", []string{"command", "FETCH"}, 1},
		{"postern_imap_command_seconds", []string{"command", "UID FETCH"}, 1},
		{"postern_imap_command_seconds", []string{"command", "OTHER"}, 1},
		{"postern_queue_messages", nil, 3},
		{"postern_queue_oldest_age_seconds", nil, 90},
		{"postern_database_bytes", nil, 123456},
	}
	for _, c := range checks {
		if got := value(t, fams, c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if fams["go_goroutines"] == nil || fams["process_open_fds"] == nil {
		t.Error("Go runtime or process metrics missing")
	}
}

// Two servers in one process each have their own registry (the default
// registry would panic on the second).
func TestTwoInstances(t *testing.T) {
	a, b := New(State{}), New(State{})
	a.Bounced()
	if v := value(t, scrape(t, b), "postern_messages_bounced_total"); v != 0 {
		t.Errorf("second instance sees the first one's count: %v", v)
	}
}

// A failing state source makes the scrape fail visibly, not report zero.
func TestStateError(t *testing.T) {
	m := New(State{DatabaseBytes: func() (int64, error) { return 0, errors.New("disk gone") }})
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("status %d, want 500", resp.StatusCode)
	}
}

func TestNilMetrics(t *testing.T) {
	var m *Metrics
	m.Connection(IMAP)
	m.Login(IMAP, true)
	m.Received(SMTP)
	m.Delivered(Local)
	m.Bounced()
	m.Rejected(ReasonOther)
	m.Commit(time.Second)
	m.IMAPCommand("NOOP", time.Second)
}

// FuzzIMAPCommandLabel: any client input maps to a label from the fixed set.
func FuzzIMAPCommandLabel(f *testing.F) {
	for _, s := range []string{"FETCH", "uid store", "UID X", "", "\xff", "UID  FETCH"} {
		f.Add(s)
	}
	m := New(State{})
	f.Fuzz(func(t *testing.T, name string) {
		l := IMAPCommandLabel(name)
		if l != "OTHER" && !imapCommands[l] && !imapCommands[l[min(4, len(l)):]] {
			t.Fatalf("%q -> %q, outside the fixed set", name, l)
		}
		m.IMAPCommand(name, time.Millisecond) // must not panic
	})
}
