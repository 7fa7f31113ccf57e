package httpd

import (
	"net/http"
	"strings"

	"howett.net/plist"
)

// An Apple configuration profile with one mail account (Apple's
// "com.apple.mail.managed" payload), unsigned.
type mobileConfig struct {
	PayloadContent     []mailPayload `plist:"PayloadContent"`
	PayloadDisplayName string        `plist:"PayloadDisplayName"`
	PayloadIdentifier  string        `plist:"PayloadIdentifier"`
	PayloadType        string        `plist:"PayloadType"`
	PayloadUUID        string        `plist:"PayloadUUID"`
	PayloadVersion     int           `plist:"PayloadVersion"`
}

type mailPayload struct {
	EmailAccountDescription                string `plist:"EmailAccountDescription"`
	EmailAccountType                       string `plist:"EmailAccountType"` // EmailTypeIMAP | EmailTypePOP
	EmailAddress                           string `plist:"EmailAddress"`
	IncomingMailServerAuthentication       string `plist:"IncomingMailServerAuthentication"`
	IncomingMailServerHostName             string `plist:"IncomingMailServerHostName"`
	IncomingMailServerPortNumber           int    `plist:"IncomingMailServerPortNumber"`
	IncomingMailServerUseSSL               bool   `plist:"IncomingMailServerUseSSL"`
	IncomingMailServerUsername             string `plist:"IncomingMailServerUsername"`
	OutgoingMailServerAuthentication       string `plist:"OutgoingMailServerAuthentication"`
	OutgoingMailServerHostName             string `plist:"OutgoingMailServerHostName"`
	OutgoingMailServerPortNumber           int    `plist:"OutgoingMailServerPortNumber"`
	OutgoingMailServerUseSSL               bool   `plist:"OutgoingMailServerUseSSL"`
	OutgoingMailServerUsername             string `plist:"OutgoingMailServerUsername"`
	OutgoingPasswordSameAsIncomingPassword bool   `plist:"OutgoingPasswordSameAsIncomingPassword"`
	PayloadDisplayName                     string `plist:"PayloadDisplayName"`
	PayloadIdentifier                      string `plist:"PayloadIdentifier"`
	PayloadType                            string `plist:"PayloadType"`
	PayloadUUID                            string `plist:"PayloadUUID"`
	PayloadVersion                         int    `plist:"PayloadVersion"`
}

// reverseDNS turns "mail.example.com" into "com.example.mail", the form of
// profile identifiers.
func reverseDNS(host string) string {
	labels := strings.Split(strings.ToLower(host), ".")
	for i, j := 0, len(labels)-1; i < j; i, j = i+1, j-1 {
		labels[i], labels[j] = labels[j], labels[i]
	}
	return strings.Join(labels, ".")
}

func (s *Server) mobileconfig(w http.ResponseWriter, r *http.Request) {
	addr, ok := checkAddress(r.URL.Query().Get("address"))
	if !ok {
		http.Error(w, "give the account's address: /mobileconfig?address=you@example.com", http.StatusBadRequest)
		return
	}
	var in, out *service
	for _, sv := range s.services() {
		if sv.proto == "smtp" && out == nil {
			out = &sv
		} else if sv.proto != "smtp" && in == nil {
			in = &sv
		}
	}
	if in == nil || out == nil {
		http.Error(w, "no IMAP/POP3 or submission listener is on", http.StatusNotFound)
		return
	}
	domain := s.domainFor(r, addr)
	id := reverseDNS(s.cfg.Hostname) + ".postern"
	accountType := "EmailTypeIMAP"
	if in.proto == "pop3" {
		accountType = "EmailTypePOP"
	}
	p := mobileConfig{
		PayloadDisplayName: domain + " mail",
		PayloadIdentifier:  id,
		PayloadType:        "Configuration",
		PayloadUUID:        stableUUID(s.cfg.Hostname, "profile", addr),
		PayloadVersion:     1,
		PayloadContent: []mailPayload{{
			EmailAccountDescription: domain,
			EmailAccountType:        accountType,
			EmailAddress:            addr,
			// Apple's "UseSSL" means TLS: implicit on 993/465, STARTTLS on
			// 143/587.
			IncomingMailServerAuthentication:       "EmailAuthPassword",
			IncomingMailServerHostName:             s.cfg.Hostname,
			IncomingMailServerPortNumber:           in.port,
			IncomingMailServerUseSSL:               true,
			IncomingMailServerUsername:             addr,
			OutgoingMailServerAuthentication:       "EmailAuthPassword",
			OutgoingMailServerHostName:             s.cfg.Hostname,
			OutgoingMailServerPortNumber:           out.port,
			OutgoingMailServerUseSSL:               true,
			OutgoingMailServerUsername:             addr,
			OutgoingPasswordSameAsIncomingPassword: true,
			PayloadDisplayName:                     domain + " mail",
			PayloadIdentifier:                      id + ".mail",
			PayloadType:                            "com.apple.mail.managed",
			PayloadUUID:                            stableUUID(s.cfg.Hostname, "mail", addr),
			PayloadVersion:                         1,
		}},
	}
	body, err := plist.MarshalIndent(p, plist.XMLFormat, "\t")
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/x-apple-aspen-config")
	w.Header().Set("Content-Disposition", `attachment; filename="`+domain+`.mobileconfig"`)
	w.Header().Set("Cache-Control", "no-store")
	w.Write(body)
}
