package server

import (
	"fmt"

	"postern/delivery/outbound"
	"postern/dkim"
	"postern/imapd"
	"postern/pop3d"
	"postern/smtpd"
)

// frontendSet holds one server per protocol; a protocol's two listeners (plain
// and implicit TLS) share it.
type frontendSet struct {
	byKey map[string]frontend
}

func (f frontendSet) forKey(key string) (frontend, bool) {
	fe := f.byKey[key]
	implicit := key == "[submission] listen_tls" || key == "[imap] listen_tls" || key == "[pop3] listen_tls"
	return fe, implicit
}

// outboundRunner builds the MTA that delivers the outbound queue, with the
// DKIM keys found in data_dir for the served domains.
func (s *Server) outboundRunner() (*outbound.Runner, error) {
	keys, err := dkim.Load(s.Config.DataDir, s.Config.Domains, s.Config.DKIM.Selector)
	if err != nil {
		return nil, fmt.Errorf("[dkim]: %w", err)
	}
	d := s.Config.Delivery
	opts := outbound.Options{
		Store:         s.Store,
		Hostname:      s.Config.Hostname,
		Domains:       s.Config.Domains,
		Relay:         d.Relay,
		RelayUsername: d.RelayUsername,
		RelayPassword: d.RelayPassword,
		RelayTLS:      d.RelayTLS,
		MaxQueueAge:   d.MaxQueueAge,
		DKIM:          keys,
		Logger:        s.Logger,
	}
	if s.TuneOutbound != nil {
		s.TuneOutbound(&opts)
	}
	return outbound.New(opts), nil
}

// frontends builds the protocol servers from the config.
func (s *Server) frontends() frontendSet {
	c := s.Config
	set := frontendSet{byKey: map[string]frontend{}}

	sc := smtpd.Config{
		Store:            s.Store,
		Hostname:         c.Hostname,
		TLS:              s.TLS,
		Auth:             s.Auth,
		Logger:           s.Logger,
		Domains:          c.Domains,
		MaxMessageBytes:  c.SMTP.MaxMessageBytes,
		MaxRecipients:    c.SMTP.MaxRecipients,
		Queue:            &outbound.Queue{Runner: s.Outbound},
		AllowFromDomains: c.Submission.AllowFromDomains,
	}
	set.byKey["[smtp] listen"] = smtpd.NewMX(sc)
	sub := smtpd.NewSubmission(sc)
	set.byKey["[submission] listen"] = sub
	set.byKey["[submission] listen_tls"] = sub

	im := imapd.New(imapd.Config{
		Store:           s.Store,
		Hostname:        c.Hostname,
		TLS:             s.TLS,
		Auth:            s.Auth,
		Logger:          s.Logger,
		MaxMessageBytes: c.SMTP.MaxMessageBytes,
	})
	set.byKey["[imap] listen"] = im
	set.byKey["[imap] listen_tls"] = im

	pop := pop3d.New(pop3d.Config{
		Store:        s.Store,
		Hostname:     c.Hostname,
		TLS:          s.TLS,
		Auth:         s.Auth,
		Logger:       s.Logger,
		DeletePolicy: c.POP3.Delete,
	})
	set.byKey["[pop3] listen"] = pop
	set.byKey["[pop3] listen_tls"] = pop
	return set
}
