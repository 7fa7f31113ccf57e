// Package metrics defines Postern's Prometheus metrics, in a registry of its
// own per server (the default registry panics when a second server in one
// process registers the same names). Front ends count through the methods
// here; the gauges that describe state (queue, database) are read at scrape
// time from functions the server supplies.
//
// Label values come from fixed sets only: a value from the network (a
// command name, a HELO, an address) would let a client create series without
// bound, and client_golang panics on invalid UTF-8 in a label.
package metrics

import (
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Protocols, the values of the "protocol" label.
const (
	SMTP       = "smtp"       // the MX listener
	Submission = "submission" // both submission listeners
	IMAP       = "imap"
	POP3       = "pop3"
)

var protocols = []string{SMTP, Submission, IMAP, POP3}

// Reasons for a refused message, the values of the "reason" label of
// postern_messages_rejected_total.
const (
	ReasonUnknownRecipient = "unknown_recipient"
	ReasonRelayDenied      = "relay_denied"
	ReasonTooBig           = "too_big"
	ReasonPolicy           = "policy" // SPF, DKIM, DMARC, spam
	ReasonSyntax           = "syntax"
	ReasonRateLimit        = "rate_limit"
	ReasonOther            = "other"
)

var reasons = []string{ReasonUnknownRecipient, ReasonRelayDenied, ReasonTooBig, ReasonPolicy, ReasonSyntax, ReasonRateLimit, ReasonOther}

// Where a delivered message went, the values of the "destination" label.
const (
	Local  = "local"
	Remote = "remote"
)

// imapCommands are the command names that get their own series; any other
// name a client sends is counted as "other".
var imapCommands = map[string]bool{}

func init() {
	for _, c := range strings.Fields(`CAPABILITY NOOP LOGOUT STARTTLS AUTHENTICATE LOGIN ENABLE
		SELECT EXAMINE CREATE DELETE RENAME SUBSCRIBE UNSUBSCRIBE LIST LSUB NAMESPACE STATUS
		APPEND IDLE CHECK CLOSE UNSELECT EXPUNGE SEARCH FETCH STORE COPY MOVE UID ID
		GETQUOTA GETQUOTAROOT SETQUOTA GETACL SETACL MYRIGHTS COMPRESS`) {
		imapCommands[c] = true
	}
}

// State reads what the gauges report, at scrape time. Nil fields are left
// out of the scrape.
type State struct {
	// Queue returns the number of messages in the outbound queue and the
	// creation time of the oldest (zero when empty).
	Queue func() (size int, oldest time.Time, err error)
	// DatabaseBytes returns the size of the store on disk.
	DatabaseBytes func() (int64, error)
	// Now is the clock for the queue's age; nil is time.Now.
	Now func() time.Time
}

// Metrics is one server's set of metrics.
type Metrics struct {
	reg *prometheus.Registry

	connections  *prometheus.CounterVec
	logins       *prometheus.CounterVec
	received     *prometheus.CounterVec
	delivered    *prometheus.CounterVec
	bounced      prometheus.Counter
	rejected     *prometheus.CounterVec
	commit       prometheus.Histogram
	imapCommands *prometheus.HistogramVec
}

// New makes the metrics and their registry, with Go runtime and process
// metrics beside them.
func New(st State) *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		reg: reg,
		connections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "postern_connections_total",
			Help: "TCP connections accepted, by protocol (those closed at once by [limits] caps included).",
		}, []string{"protocol"}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "postern_logins_total",
			Help: "Login attempts, by protocol and result (ok or failed).",
		}, []string{"protocol", "result"}),
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "postern_messages_received_total",
			Help: "Messages accepted over SMTP, by listener (smtp or submission).",
		}, []string{"protocol"}),
		delivered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "postern_messages_delivered_total",
			Help: "Message deliveries done, by destination (local mailbox or remote server).",
		}, []string{"destination"}),
		bounced: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "postern_messages_bounced_total",
			Help: "Outbound messages given up on, with a bounce to the sender.",
		}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "postern_messages_rejected_total",
			Help: "Messages or recipients refused during the SMTP transaction, by reason.",
		}, []string{"reason"}),
		commit: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "postern_store_commit_seconds",
			Help:    "Time from a write request to its durable commit in the store.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}),
		imapCommands: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "postern_imap_command_seconds",
			Help:    "IMAP command latency, by command (IDLE excluded until it ends).",
			Buckets: prometheus.DefBuckets,
		}, []string{"command"}),
	}
	reg.MustRegister(m.connections, m.logins, m.received, m.delivered, m.bounced, m.rejected, m.commit, m.imapCommands,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&stateCollector{st: st})
	// Every series exists from the start at zero, so that rate() and
	// alerts work before the first event.
	for _, p := range protocols {
		m.connections.WithLabelValues(p)
		m.logins.WithLabelValues(p, "ok")
		m.logins.WithLabelValues(p, "failed")
	}
	m.received.WithLabelValues(SMTP)
	m.received.WithLabelValues(Submission)
	m.delivered.WithLabelValues(Local)
	m.delivered.WithLabelValues(Remote)
	for _, r := range reasons {
		m.rejected.WithLabelValues(r)
	}
	return m
}

// Registry is where the metrics live, for tests and extra collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{MaxRequestsInFlight: 4, Timeout: 10 * time.Second})
}

func known(v string, set []string) string {
	for _, s := range set {
		if v == s {
			return v
		}
	}
	return ReasonOther
}

// Connection counts an accepted connection. A nil *Metrics counts nothing,
// so front ends can call it unconditionally.
func (m *Metrics) Connection(protocol string) {
	if m == nil {
		return
	}
	m.connections.WithLabelValues(known(protocol, protocols)).Inc()
}

// Login counts a login attempt.
func (m *Metrics) Login(protocol string, ok bool) {
	if m == nil {
		return
	}
	result := "failed"
	if ok {
		result = "ok"
	}
	m.logins.WithLabelValues(known(protocol, protocols), result).Inc()
}

// Received counts a message accepted on the MX (SMTP) or Submission listener.
func (m *Metrics) Received(protocol string) {
	if m == nil {
		return
	}
	m.received.WithLabelValues(known(protocol, []string{SMTP, Submission})).Inc()
}

// Delivered counts a delivery to a local mailbox or a remote server.
func (m *Metrics) Delivered(destination string) {
	if m == nil {
		return
	}
	m.delivered.WithLabelValues(known(destination, []string{Local, Remote})).Inc()
}

// Bounced counts an outbound message given up on.
func (m *Metrics) Bounced() {
	if m == nil {
		return
	}
	m.bounced.Inc()
}

// Rejected counts a refusal; reasons outside the Reason constants count as
// "other".
func (m *Metrics) Rejected(reason string) {
	if m == nil {
		return
	}
	m.rejected.WithLabelValues(known(reason, reasons)).Inc()
}

// Commit records how long a store write took to commit.
func (m *Metrics) Commit(d time.Duration) {
	if m == nil {
		return
	}
	m.commit.Observe(d.Seconds())
}

// IMAPCommand records an IMAP command's latency. The name is the command as
// the client sent it, in any case; names outside the IMAP command set count
// as "OTHER". "UID FETCH" and the like may be passed whole.
func (m *Metrics) IMAPCommand(name string, d time.Duration) {
	if m == nil {
		return
	}
	m.imapCommands.WithLabelValues(IMAPCommandLabel(name)).Observe(d.Seconds())
}

// IMAPCommandLabel maps a client's command name to its label value.
func IMAPCommandLabel(name string) string {
	if len(name) > 32 {
		return "OTHER"
	}
	up := strings.ToUpper(name)
	if rest, ok := strings.CutPrefix(up, "UID "); ok {
		if imapCommands[rest] {
			return "UID " + rest
		}
		return "OTHER"
	}
	if imapCommands[up] {
		return up
	}
	return "OTHER"
}

// stateCollector reads the gauges from State at scrape time.
type stateCollector struct{ st State }

var (
	queueSizeDesc = prometheus.NewDesc("postern_queue_messages",
		"Messages in the outbound queue.", nil, nil)
	queueAgeDesc = prometheus.NewDesc("postern_queue_oldest_age_seconds",
		"Age of the oldest message in the outbound queue (0 when empty).", nil, nil)
	dbSizeDesc = prometheus.NewDesc("postern_database_bytes",
		"Size of the store on disk (database and write-ahead log).", nil, nil)
)

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- queueSizeDesc
	ch <- queueAgeDesc
	ch <- dbSizeDesc
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	now := time.Now
	if c.st.Now != nil {
		now = c.st.Now
	}
	if c.st.Queue != nil {
		if n, oldest, err := c.st.Queue(); err != nil {
			ch <- prometheus.NewInvalidMetric(queueSizeDesc, err)
		} else {
			age := 0.0
			if n > 0 && !oldest.IsZero() {
				age = max(now().Sub(oldest).Seconds(), 0)
			}
			ch <- prometheus.MustNewConstMetric(queueSizeDesc, prometheus.GaugeValue, float64(n))
			ch <- prometheus.MustNewConstMetric(queueAgeDesc, prometheus.GaugeValue, age)
		}
	}
	if c.st.DatabaseBytes != nil {
		if n, err := c.st.DatabaseBytes(); err != nil {
			ch <- prometheus.NewInvalidMetric(dbSizeDesc, err)
		} else {
			ch <- prometheus.MustNewConstMetric(dbSizeDesc, prometheus.GaugeValue, float64(n))
		}
	}
}
