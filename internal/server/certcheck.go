package server

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"postern/tlsutil"
)

// certWarnBefore is how long before its end a certificate in use is warned
// about, at start, at each reload and once a day.
const certWarnBefore = 14 * 24 * time.Hour

// generatesCertificate reports whether loading the TLS pair will make a
// self-signed certificate: no [tls] cert and key, and none generated yet.
func generatesCertificate(certFile, dataDir string) bool {
	if certFile != "" {
		return false
	}
	_, err := os.Stat(filepath.Join(dataDir, tlsutil.GeneratedCertFile))
	return errors.Is(err, os.ErrNotExist)
}

// checkCertificate warns when the certificate in use ends within
// certWarnBefore, or has ended. With ACME the certificates renew on their
// own and the one checked is only the fallback, so nothing is said.
func (s *Server) checkCertificate(now time.Time) {
	if s.ACME != nil || s.Certificate == nil {
		return
	}
	leaf := s.Certificate.Leaf()
	left := leaf.NotAfter.Sub(now)
	if left > certWarnBefore {
		return
	}
	what := "the TLS certificate expires in " + days(left) + "; renew it and send SIGHUP (or set [tls] acme)"
	if left <= 0 {
		what = "the TLS certificate has expired: clients refuse to connect; renew it and send SIGHUP (or set [tls] acme)"
	}
	s.Logger.Warn(what, "subject", leaf.Subject.String(), "not_after", leaf.NotAfter.UTC().Format(time.RFC3339),
		"cert", s.Config.TLS.Cert)
}

func days(d time.Duration) string {
	n := int(d.Hours() / 24)
	if n == 1 {
		return "1 day"
	}
	if n == 0 {
		return "less than a day"
	}
	return strconv.Itoa(n) + " days"
}

// watchCertificate checks the certificate once a day until stop is closed.
func (s *Server) watchCertificate(stop <-chan struct{}) {
	t := time.NewTicker(24 * time.Hour)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			s.checkCertificate(now)
		}
	}
}

// listenError says what to do about a listen error: a port below 1024
// needs a privilege the process does not have.
func listenError(key, addr string, err error) error {
	if errors.Is(err, os.ErrPermission) {
		if _, port, perr := net.SplitHostPort(addr); perr == nil {
			if p, _ := strconv.Atoi(port); p > 0 && p < 1024 {
				return fmt.Errorf("config %s = %q: %w: ports below 1024 need the capability CAP_NET_BIND_SERVICE: "+
					"run \"setcap cap_net_bind_service=+ep %s\" once, or start postern with the systemd unit in "+
					"contrib/systemd (AmbientCapabilities=CAP_NET_BIND_SERVICE), or listen on a high port", key, addr, err, executable())
			}
		}
	}
	return fmt.Errorf("config %s = %q: %w", key, addr, err)
}

func executable() string {
	if p, err := os.Executable(); err == nil {
		return p
	}
	return "/usr/local/bin/postern"
}
