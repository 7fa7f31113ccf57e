// Package outbound is Postern's mail transfer agent: it delivers the messages
// in the store's outbound queue to the mail exchangers of their recipient
// domains (or through a smarthost relay), retries temporary failures on a
// growing schedule, reports permanent failures to the sender with delivery
// status notifications (RFC 3464), and signs the mail it vouches for with the
// DKIM key of its domain.
package outbound

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net"
	"sync"
	"time"

	"postern/delivery"
	"postern/dkim"
	"postern/storage"
)

// Relay TLS modes ([delivery] relay_tls).
const (
	RelayStartTLS = "starttls"
	RelayTLS      = "tls"
	RelayNone     = "none"
)

// Options configure a Runner. Store and Hostname are required.
type Options struct {
	Store    storage.QueueStore
	Hostname string   // said in EHLO and in DSNs (Reporting-MTA)
	Domains  []string // served domains: a bounce to a sender there is stored locally

	Resolver Resolver // nil: net.DefaultResolver
	MXPort   int      // port of mail exchangers; 0 means 25
	// VerifyMXTLS makes STARTTLS to a mail exchanger verify its certificate;
	// a failed verification then falls back to plaintext like any failed
	// handshake. Off by default: opportunistic TLS (RFC 7435).
	VerifyMXTLS bool
	MXRootCAs   *x509.CertPool // nil: the system roots

	// Relay is a smarthost "host:port" that takes all remote mail instead of
	// the recipients' MX. Its certificate is always verified unless RelayTLS
	// is "none", and credentials are never sent without TLS.
	Relay         string
	RelayUsername string
	RelayPassword string
	RelayTLS      string         // "starttls" (default), "tls" or "none"
	RelayRootCAs  *x509.CertPool // nil: the system roots

	MaxQueueAge       time.Duration   // 0: 120h
	Retry             []time.Duration // delays after the 1st, 2nd, ... failure; the last repeats
	MaxConns          int             // concurrent connections in all; 0: 20
	MaxConnsPerDomain int             // concurrent connections to one domain; 0: 3
	BatchSize         int             // queue entries carried by one connection; 0: 50

	DKIM   map[string]*dkim.Key // signing keys by domain (lower case)
	Logger *slog.Logger
	Now    func() time.Time // nil: time.Now
}

// DefaultRetry is the retry schedule: minutes at first, then every 4 hours.
var DefaultRetry = []time.Duration{
	time.Minute, 5 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 4 * time.Hour,
}

// Runner delivers the outbound queue. Start it once; Kick it after queueing.
type Runner struct {
	opts     Options
	st       storage.QueueStore
	hostname string
	resolver Resolver
	log      *slog.Logger
	router   *delivery.Router // finds the mailboxes of a local sender, for bounces

	kick chan struct{}
	sem  chan struct{} // global connection slots

	mu       sync.Mutex
	inflight map[int64]bool
	perDom   map[string]int

	cancel context.CancelFunc
	done   chan struct{}
	wg     sync.WaitGroup
}

// New returns a Runner; it does nothing until Run or Start.
func New(o Options) *Runner {
	if o.Resolver == nil {
		o.Resolver = net.DefaultResolver
	}
	if o.MXPort == 0 {
		o.MXPort = 25
	}
	if o.RelayTLS == "" {
		o.RelayTLS = RelayStartTLS
	}
	if o.MaxQueueAge <= 0 {
		o.MaxQueueAge = 120 * time.Hour
	}
	if len(o.Retry) == 0 {
		o.Retry = DefaultRetry
	}
	if o.MaxConns <= 0 {
		o.MaxConns = 20
	}
	if o.MaxConnsPerDomain <= 0 {
		o.MaxConnsPerDomain = 3
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 50
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	r := &Runner{
		opts:     o,
		st:       o.Store,
		hostname: o.Hostname,
		resolver: o.Resolver,
		log:      o.Logger,
		kick:     make(chan struct{}, 1),
		sem:      make(chan struct{}, o.MaxConns),
		inflight: map[int64]bool{},
		perDom:   map[string]int{},
	}
	r.router = delivery.NewRouter(o.Store, o.Domains, delivery.NoQueue{})
	return r
}

// Kick wakes the runner to look at the queue now (after something was queued).
func (r *Runner) Kick() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// Start runs the runner in the background until Shutdown.
func (r *Runner) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.done = make(chan struct{})
	go func() {
		defer close(r.done)
		r.Run(ctx)
	}()
}

// Shutdown stops a started runner and waits, up to ctx, for deliveries in
// progress. An interrupted delivery stays queued and is tried again later.
func (r *Runner) Shutdown(ctx context.Context) error {
	if r.cancel == nil {
		return nil
	}
	r.cancel()
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// maxSleep bounds the wait between queue scans, so that a wrong clock or a
// write from another process (the CLI's queue retry) is noticed.
const maxSleep = 30 * time.Second

// Run delivers the queue until ctx ends, then waits for its connections.
func (r *Runner) Run(ctx context.Context) error {
	defer r.wg.Wait()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.kick:
		case <-timer.C:
		}
		r.dispatch(ctx)
		sleep := maxSleep
		if next, ok, err := r.st.QueueNext(ctx); err == nil && ok {
			if d := next.Sub(r.opts.Now()); d < sleep {
				sleep = max(d, 10*time.Millisecond)
			}
		}
		timer.Reset(sleep)
	}
}

// dispatch starts a connection for every group of due entries that the
// concurrency limits allow. One connection carries up to BatchSize entries
// of one domain, one after the other.
func (r *Runner) dispatch(ctx context.Context) {
	due, err := r.st.QueueDue(ctx, r.opts.Now(), 1000)
	if err != nil {
		if ctx.Err() == nil {
			r.log.Error("outbound: reading the queue", "err", err)
		}
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var order []string
	groups := map[string][]storage.QueueEntry{}
	for _, e := range due {
		if r.inflight[e.ID] {
			continue
		}
		if _, ok := groups[e.Domain]; !ok {
			order = append(order, e.Domain)
		}
		groups[e.Domain] = append(groups[e.Domain], e)
	}
	for _, dom := range order {
		list := groups[dom]
		for len(list) > 0 && r.perDom[dom] < r.opts.MaxConnsPerDomain {
			select {
			case r.sem <- struct{}{}:
			default:
				return // every connection slot is taken
			}
			n := min(len(list), r.opts.BatchSize)
			batch := list[:n]
			list = list[n:]
			r.perDom[dom]++
			for _, e := range batch {
				r.inflight[e.ID] = true
			}
			r.wg.Add(1)
			go r.work(ctx, dom, batch)
		}
	}
}

// work delivers one batch and gives back its slots.
func (r *Runner) work(ctx context.Context, dom string, batch []storage.QueueEntry) {
	defer r.wg.Done()
	r.deliverBatch(ctx, dom, batch)
	r.mu.Lock()
	for _, e := range batch {
		delete(r.inflight, e.ID)
	}
	r.perDom[dom]--
	if r.perDom[dom] == 0 {
		delete(r.perDom, dom)
	}
	r.mu.Unlock()
	<-r.sem
	r.Kick() // a slot is free: entries left waiting may go now
}

// retryDelay is the wait after the n-th failed attempt (n >= 1).
func (r *Runner) retryDelay(n int) time.Duration {
	s := r.opts.Retry
	if n < 1 {
		n = 1
	}
	if n > len(s) {
		return s[len(s)-1]
	}
	return s[n-1]
}

func (r *Runner) mxTLSConfig(host string) *tls.Config {
	return &tls.Config{
		ServerName:         host,
		InsecureSkipVerify: !r.opts.VerifyMXTLS,
		RootCAs:            r.opts.MXRootCAs,
		MinVersion:         tls.VersionTLS12,
	}
}
