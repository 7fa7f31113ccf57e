package httpd

import (
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"strings"
)

// Outlook's "plain old XML" autodiscover (POX): the client POSTs its address
// and gets the servers back.
const (
	adResponseNS = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"
	adOutlookNS  = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
)

// Bounds of the request parse: a real request is a handful of elements.
const (
	adMaxDepth  = 8
	adMaxTokens = 256
)

var errBadRequest = errors.New("not an autodiscover request")

// parseAutodiscover returns the EMailAddress of an autodiscover request. It
// refuses DTDs outright (no entity can be declared, so none is expanded: no
// XML bomb), and bounds depth, token count and the size of the text.
func parseAutodiscover(r io.Reader) (string, error) {
	d := xml.NewDecoder(r)
	d.Strict = true
	d.Entity = nil // only the five predefined entities
	depth, tokens := 0, 0
	var path []string
	var addr strings.Builder
	found := false
	sawRoot := false
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", errBadRequest
		}
		if tokens++; tokens > adMaxTokens {
			return "", errBadRequest
		}
		switch t := tok.(type) {
		case xml.Directive: // <!DOCTYPE ...>, <!ENTITY ...>
			return "", errBadRequest
		case xml.StartElement:
			if depth == 0 {
				if sawRoot || !strings.EqualFold(t.Name.Local, "Autodiscover") {
					return "", errBadRequest
				}
				sawRoot = true
			}
			if depth++; depth > adMaxDepth {
				return "", errBadRequest
			}
			path = append(path, t.Name.Local)
		case xml.EndElement:
			if depth == 0 {
				return "", errBadRequest
			}
			depth--
			if path[len(path)-1] == "EMailAddress" {
				found = true
			}
			path = path[:len(path)-1]
		case xml.CharData:
			if len(path) == 3 && path[1] == "Request" && path[2] == "EMailAddress" && !found {
				if addr.Len()+len(t) > maxAddressLen+64 {
					return "", errBadRequest
				}
				addr.Write(t)
			}
		}
	}
	if !found || depth != 0 {
		return "", errBadRequest
	}
	return addr.String(), nil
}

type adResponse struct {
	XMLName  xml.Name  `xml:"Autodiscover"`
	NS       string    `xml:"xmlns,attr"`
	Response adOutlook `xml:"Response"`
}

type adOutlook struct {
	NS      string    `xml:"xmlns,attr"`
	Account adAccount `xml:"Account"`
}

type adAccount struct {
	AccountType string       `xml:"AccountType"`
	Action      string       `xml:"Action"`
	Protocols   []adProtocol `xml:"Protocol"`
}

type adProtocol struct {
	Type           string `xml:"Type"`
	Server         string `xml:"Server"`
	Port           int    `xml:"Port"`
	LoginName      string `xml:"LoginName"`
	DomainRequired string `xml:"DomainRequired"`
	SPA            string `xml:"SPA"`
	SSL            string `xml:"SSL"`
	Encryption     string `xml:"Encryption"` // SSL (implicit) or TLS (STARTTLS)
	AuthRequired   string `xml:"AuthRequired"`
}

func (s *Server) autodiscover(w http.ResponseWriter, r *http.Request) {
	raw, err := parseAutodiscover(r.Body)
	if err != nil {
		http.Error(w, "expected an autodiscover request naming EMailAddress", http.StatusBadRequest)
		return
	}
	addr, ok := checkAddress(raw)
	if !ok {
		http.Error(w, "EMailAddress is not an email address", http.StatusBadRequest)
		return
	}
	resp := adResponse{NS: adResponseNS, Response: adOutlook{NS: adOutlookNS, Account: adAccount{
		AccountType: "email", Action: "settings",
	}}}
	// Outlook takes the first entry of each type: the services are listed
	// implicit TLS first.
	for _, sv := range s.services() {
		p := adProtocol{Type: strings.ToUpper(sv.proto), Server: s.cfg.Hostname, Port: sv.port, LoginName: addr,
			DomainRequired: "off", SPA: "off", SSL: "on", Encryption: "TLS", AuthRequired: "on"}
		if sv.implicit {
			p.Encryption = "SSL"
		}
		resp.Response.Account.Protocols = append(resp.Response.Account.Protocols, p)
	}
	writeXML(w, "application/xml", resp)
}
