package outbound

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/emersion/go-smtp"

	"postern/mailaddr"
	"postern/storage"
)

// outcome is what happened to one recipient in one attempt.
type outcome struct {
	status storage.RcptStatus
	code   int    // SMTP reply code, 0 if the attempt did not get that far
	enh    string // enhanced status code (RFC 3463) for the DSN
	msg    string // diagnostic text
	remote string // the host that answered
}

// deliverBatch makes one attempt for a batch of entries of one domain over one
// connection: the attempt is recorded before connecting, and each entry's
// results right after the server's reply to its DATA.
func (r *Runner) deliverBatch(ctx context.Context, dom string, batch []storage.QueueEntry) {
	// Bookkeeping must finish even when shutdown cancels the connection: a
	// remote 250 that is not recorded means a second copy later.
	bctx := context.WithoutCancel(ctx)
	now := r.opts.Now()
	ids := make([]int64, len(batch))
	for i, e := range batch {
		ids[i] = e.ID
	}
	claimed, err := r.st.QueueAttempt(bctx, ids, now, now.Add(r.retryDelay(batch[0].Attempts+1)))
	if err != nil {
		r.log.Error("outbound: recording an attempt", "domain", dom, "err", err)
		return
	}
	// Keep only what this attempt claimed: an entry read while another
	// attempt was finishing it is not ours to send.
	mine := make(map[int64]bool, len(claimed))
	for _, id := range claimed {
		mine[id] = true
	}
	kept := batch[:0]
	for _, e := range batch {
		if mine[e.ID] {
			e.Attempts++
			kept = append(kept, e)
		}
	}
	batch = kept
	if len(batch) == 0 {
		return
	}

	s, fail := r.connect(ctx, dom)
	if fail != nil {
		for _, e := range batch {
			r.finish(bctx, e, allPending(e, *fail), nil)
		}
		return
	}
	defer s.quit()
	for i, e := range batch {
		res, broken := r.send(ctx, s, e)
		r.finish(bctx, e, res, s)
		if broken != nil {
			// The connection is gone: the rest of the batch waits for the retry.
			o := outcome{status: storage.RcptPending, enh: "4.4.2", msg: broken.Error(), remote: s.host}
			for _, rest := range batch[i+1:] {
				r.finish(bctx, rest, allPending(rest, o), nil)
			}
			return
		}
	}
}

// allPending gives every pending recipient of e the same outcome.
func allPending(e storage.QueueEntry, o outcome) map[int]outcome {
	m := map[int]outcome{}
	for _, rc := range e.Pending() {
		m[rc.N] = o
	}
	return m
}

// connect opens a session to the relay or to the domain's mail exchangers, in
// preference order, trying each address of each host. On failure it returns
// the outcome to give every recipient.
func (r *Runner) connect(ctx context.Context, dom string) (*session, *outcome) {
	if r.opts.Relay != "" {
		return r.connectRelay(ctx)
	}
	hosts, err := mxHosts(ctx, r.resolver, dom)
	if err != nil {
		var re *routeError
		errors.As(err, &re)
		o := outcome{status: storage.RcptPending, enh: re.code, msg: re.msg}
		if re.perm {
			o.status = storage.RcptFailed
		}
		return nil, &o
	}
	var last error
	for _, h := range hosts {
		addrs, err := r.resolver.LookupHost(ctx, h)
		if err != nil {
			last = fmt.Errorf("%s: %w", h, err)
			continue
		}
		for _, a := range addrs {
			addr := net.JoinHostPort(a, strconv.Itoa(r.opts.MXPort))
			s, err := r.dialSession(ctx, addr, h, tlsOpportunistic, r.mxTLSConfig(h), "", "")
			if errors.Is(err, errHandshake) {
				// Opportunistic TLS: a failed handshake is no reason not to deliver.
				r.log.Warn("outbound: STARTTLS failed, sending in plaintext", "host", h, "err", err)
				s, err = r.dialSession(ctx, addr, h, tlsNone, nil, "", "")
			}
			if err == nil {
				return s, nil
			}
			last = err
			r.log.Info("outbound: mail exchanger unreachable", "domain", dom, "host", h, "addr", addr, "err", err)
			if ctx.Err() != nil {
				break
			}
		}
	}
	if last == nil {
		last = fmt.Errorf("no address for the mail exchangers of %s", dom)
	}
	return nil, &outcome{status: storage.RcptPending, enh: "4.4.1", msg: last.Error()}
}

func (r *Runner) connectRelay(ctx context.Context) (*session, *outcome) {
	host, _, err := net.SplitHostPort(r.opts.Relay)
	if err != nil {
		return nil, &outcome{status: storage.RcptPending, enh: "4.3.5", msg: fmt.Sprintf("[delivery] relay %q: %v", r.opts.Relay, err)}
	}
	mode := tlsStartTLS
	switch r.opts.RelayTLS {
	case RelayTLS:
		mode = tlsImplicit
	case RelayNone:
		mode = tlsNone
	}
	cfg := &tls.Config{ServerName: host, RootCAs: r.opts.RelayRootCAs, MinVersion: tls.VersionTLS12}
	s, err := r.dialSession(ctx, r.opts.Relay, host, mode, cfg, r.opts.RelayUsername, r.opts.RelayPassword)
	if err != nil {
		r.log.Warn("outbound: relay unusable", "relay", r.opts.Relay, "err", err)
		return nil, &outcome{status: storage.RcptPending, enh: "4.4.1", msg: "relay " + r.opts.Relay + ": " + err.Error()}
	}
	return s, nil
}

// send carries one entry over s. It returns the outcome per recipient and,
// when the connection broke, the error that broke it.
func (r *Runner) send(ctx context.Context, s *session, e storage.QueueEntry) (map[int]outcome, error) {
	res := map[int]outcome{}
	pending := e.Pending()
	setAll := func(o outcome) {
		for _, rc := range pending {
			if _, done := res[rc.N]; !done || res[rc.N].status == storage.RcptDelivered {
				res[rc.N] = o
			}
		}
	}
	msg, err := r.st.ReadBody(ctx, e.BodyID)
	if err != nil {
		setAll(outcome{status: storage.RcptPending, enh: "4.3.0", msg: "reading the queued message: " + err.Error()})
		return res, nil
	}
	msg = r.sign(e, msg)

	// RFC 3461 §5.2.1: ENVID, RET, NOTIFY and ORCPT go on to a next hop that
	// offers DSN (go-smtp sends them only then), which reports on its own.
	opts := &smtp.MailOptions{Size: int64(len(msg)), UTF8: e.UTF8, RequireTLS: e.RequireTLS, EnvelopeID: e.EnvelopeID}
	switch {
	case returnsContent(e):
		opts.Return = smtp.DSNReturnFull
	case e.Return != "":
		// RET=FULL on mail that arrived unauthenticated goes on as HDRS: the
		// next hop's failure notice would otherwise carry the message to a
		// sender address nobody verified. Propagating the parameters of an
		// alias is a SHOULD (RFC 3461 §5.2.7.2), and this is the reason not to.
		opts.Return = smtp.DSNReturnHeaders
	}
	if e.RequireTLS && s.tls == nil {
		// RFC 8689 §4.2.1: never send a REQUIRETLS message in the clear.
		setAll(outcome{status: storage.RcptFailed, code: 550, enh: "5.7.30", msg: "REQUIRETLS: " + s.host + " did not offer TLS", remote: s.host})
		return res, nil
	}
	if err := s.c.Mail(mailaddr.Quote(e.From), opts); err != nil {
		o, broken := replyOutcome(err, s.host)
		setAll(o)
		if broken == nil {
			s.c.Reset()
		}
		return res, broken
	}
	accepted := 0
	for _, rc := range pending {
		if err := s.c.Rcpt(mailaddr.Quote(rc.Address), rcptOptions(rc)); err != nil {
			o, broken := replyOutcome(err, s.host)
			res[rc.N] = o
			if broken != nil {
				setAll(o)
				return res, broken
			}
			continue
		}
		res[rc.N] = outcome{status: storage.RcptDelivered, code: 250, enh: "2.0.0", remote: s.host}
		accepted++
	}
	if accepted == 0 {
		s.c.Reset()
		return res, nil
	}
	w, err := s.c.Data()
	if err != nil {
		o, broken := replyOutcome(err, s.host)
		setAll(o)
		if broken == nil {
			s.c.Reset()
		}
		return res, broken
	}
	if _, err := w.Write(msg); err != nil {
		w.Close()
		o, _ := replyOutcome(err, s.host)
		setAll(o)
		return res, err
	}
	resp, err := w.CloseWithResponse()
	if err != nil {
		o, broken := replyOutcome(err, s.host)
		setAll(o)
		return res, broken
	}
	for n, o := range res {
		if o.status == storage.RcptDelivered {
			o.msg = "250 " + resp.StatusText
			res[n] = o
		}
	}
	return res, nil
}

// replyOutcome classifies an error of an SMTP command: a 5xx reply is
// permanent, a 4xx reply temporary; anything else broke the connection.
func replyOutcome(err error, host string) (outcome, error) {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		enh := fmt.Sprintf("%d.%d.%d", se.EnhancedCode[0], se.EnhancedCode[1], se.EnhancedCode[2])
		if se.EnhancedCode[0] == 0 {
			enh = fmt.Sprintf("%d.0.0", se.Code/100)
		}
		msg := fmt.Sprintf("%d %s %s", se.Code, enh, se.Message)
		if se.Code >= 500 {
			return outcome{status: storage.RcptFailed, code: se.Code, enh: enh, msg: msg, remote: host}, nil
		}
		if se.Code == 421 {
			// RFC 5321 §3.8: the server is closing the connection.
			return outcome{status: storage.RcptPending, code: se.Code, enh: enh, msg: msg, remote: host}, err
		}
		return outcome{status: storage.RcptPending, code: se.Code, enh: enh, msg: msg, remote: host}, nil
	}
	// A refusal by our own client before anything was sent (SMTPUTF8 or
	// REQUIRETLS not offered) is permanent for this message.
	if strings.Contains(err.Error(), "does not support SMTPUTF8") {
		return outcome{status: storage.RcptFailed, code: 550, enh: "5.6.7", msg: host + " does not support SMTPUTF8", remote: host}, nil
	}
	if strings.Contains(err.Error(), "does not support REQUIRETLS") {
		return outcome{status: storage.RcptFailed, code: 550, enh: "5.7.30", msg: host + " does not support REQUIRETLS", remote: host}, nil
	}
	return outcome{status: storage.RcptPending, enh: "4.4.2", msg: err.Error(), remote: host}, err
}

// rcptOptions passes NOTIFY and ORCPT on (RFC 3461 §4); go-smtp sends them
// only when the server offers DSN.
func rcptOptions(rc storage.QueueRcpt) *smtp.RcptOptions {
	o := &smtp.RcptOptions{}
	for _, n := range rc.Notify {
		o.Notify = append(o.Notify, smtp.DSNNotify(strings.ToUpper(n)))
	}
	if typ, addr, ok := strings.Cut(rc.ORCPT, ";"); ok && addr != "" {
		switch strings.ToLower(typ) {
		case "rfc822":
			o.OriginalRecipientType, o.OriginalRecipient = smtp.DSNAddressTypeRFC822, addr
			if !printableASCII(addr) {
				// An alias's own address, recorded as the original recipient
				// of what it forwards, may be an internationalised one; rfc822
				// allows only printable ASCII (RFC 3461 §4.2), and go-smtp
				// refuses the command, which would fail the whole connection.
				// RFC 6533 §3 gives such an address the utf-8 type.
				o.OriginalRecipientType = smtp.DSNAddressTypeUTF8
			}
		case "utf-8":
			o.OriginalRecipientType, o.OriginalRecipient = smtp.DSNAddressTypeUTF8, addr
		}
	}
	return o
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}
