// Package dkim keeps the DKIM signing keys of the served domains (RFC 6376)
// and signs outgoing mail with them. A key is a PEM file in data_dir/dkim
// named DOMAIN.SELECTOR.key; a domain with such a file has its mail signed,
// with no other configuration.
package dkim

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/emersion/go-msgauth/dkim"
)

// Key types for Generate.
const (
	Ed25519 = "ed25519" // RFC 8463: short keys, not yet verified by every receiver
	RSA     = "rsa"     // RSA-2048, verified everywhere
)

// rsaBits is the RSA key size (RFC 8301 §3.2 requires at least 1024; 2048 is
// the common choice that still fits a DNS TXT record).
const rsaBits = 2048

// Key is one domain's signing key.
type Key struct {
	Domain   string
	Selector string
	Signer   crypto.Signer
	Path     string
}

// Dir is where the keys of a data directory live.
func Dir(dataDir string) string { return filepath.Join(dataDir, "dkim") }

// Path is the file of a domain's key for a selector.
func Path(dataDir, domain, selector string) string {
	return filepath.Join(Dir(dataDir), strings.ToLower(domain)+"."+selector+".key")
}

// Generate creates a key for domain, writes it (mode 0600) and returns it.
// It refuses to overwrite an existing key: replacing a published key breaks
// the signatures of mail still in transit.
func Generate(dataDir, domain, selector, kind string) (*Key, error) {
	if err := checkName(domain, selector); err != nil {
		return nil, err
	}
	var signer crypto.Signer
	switch kind {
	case Ed25519, "":
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		signer = priv
	case RSA:
		priv, err := rsa.GenerateKey(rand.Reader, rsaBits)
		if err != nil {
			return nil, err
		}
		signer = priv
	default:
		return nil, fmt.Errorf("key type %q: want %q or %q", kind, Ed25519, RSA)
	}
	der, err := x509.MarshalPKCS8PrivateKey(signer)
	if err != nil {
		return nil, err
	}
	path := Path(dataDir, domain, selector)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("%s exists already: delete it first to replace the key (and publish the new record)", path)
	}
	if err != nil {
		return nil, err
	}
	if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		f.Close()
		os.Remove(path)
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	return &Key{Domain: strings.ToLower(domain), Selector: selector, Signer: signer, Path: path}, nil
}

func checkName(domain, selector string) error {
	if domain == "" || strings.ContainsAny(domain, "/\\@ \t") || strings.HasPrefix(domain, ".") {
		return fmt.Errorf("%q is not a domain name", domain)
	}
	if selector == "" || strings.ContainsAny(selector, "/\\@ \t;") {
		return fmt.Errorf("%q is not a DKIM selector", selector)
	}
	return nil
}

// ReadKey reads a key file written by Generate.
func ReadKey(path, domain, selector string) (*Key, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%s: no PEM block (want a PKCS#8 private key)", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%s: unsupported key type %T", path, k)
	}
	switch signer.(type) {
	case ed25519.PrivateKey, *rsa.PrivateKey:
	default:
		return nil, fmt.Errorf("%s: unsupported key type %T (want Ed25519 or RSA)", path, k)
	}
	return &Key{Domain: strings.ToLower(domain), Selector: selector, Signer: signer, Path: path}, nil
}

// Load reads the keys of the given domains for selector. A domain without a
// key file is left out; a key file that cannot be read is an error.
func Load(dataDir string, domains []string, selector string) (map[string]*Key, error) {
	keys := map[string]*Key{}
	for _, d := range domains {
		path := Path(dataDir, d, selector)
		k, err := ReadKey(path, d, selector)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		keys[k.Domain] = k
	}
	return keys, nil
}

// TXT is the value of the DNS TXT record that publishes the public key
// (RFC 6376 §3.6.1).
func (k *Key) TXT() string {
	switch pub := k.Signer.Public().(type) {
	case ed25519.PublicKey:
		// RFC 8463 §4: p= is the raw 32-byte key.
		return "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(pub)
	default:
		der, _ := x509.MarshalPKIXPublicKey(pub)
		return "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(der)
	}
}

// RecordName is the DNS name the TXT record goes under.
func (k *Key) RecordName() string { return k.Selector + "._domainkey." + k.Domain + "." }

// Record is the zone-file line to publish. A TXT string holds at most 255
// octets (RFC 1035 §3.3), so a long value is split into several quoted
// strings, which resolvers join again (RFC 6376 §3.6.2.2).
func (k *Key) Record() string {
	txt := k.TXT()
	var parts []string
	for len(txt) > 255 {
		parts = append(parts, `"`+txt[:255]+`"`)
		txt = txt[255:]
	}
	parts = append(parts, `"`+txt+`"`)
	return k.RecordName() + " IN TXT " + strings.Join(parts, " ")
}

// signedHeaders are the fields the signature covers (RFC 6376 §5.4.1). A
// field absent from the message is still listed, so that adding it later
// breaks the signature.
var signedHeaders = []string{
	"From", "Reply-To", "Subject", "Date", "To", "Cc", "Message-ID", "In-Reply-To", "References",
	"MIME-Version", "Content-Type", "Content-Transfer-Encoding", "List-Unsubscribe",
}

// Sign returns msg with a DKIM-Signature field prepended. It uses relaxed
// canonicalization for header and body, which survives the whitespace
// changes relays commonly make.
func (k *Key) Sign(msg []byte) ([]byte, error) {
	s, err := dkim.NewSigner(&dkim.SignOptions{
		Domain:                 k.Domain,
		Selector:               k.Selector,
		Signer:                 k.Signer,
		HeaderCanonicalization: dkim.CanonicalizationRelaxed,
		BodyCanonicalization:   dkim.CanonicalizationRelaxed,
		HeaderKeys:             signedHeaders,
	})
	if err != nil {
		return nil, err
	}
	if _, err := s.Write(msg); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.Close(); err != nil {
		return nil, fmt.Errorf("dkim: signing for %s: %w", k.Domain, err)
	}
	var out bytes.Buffer
	out.Grow(len(msg) + 600)
	out.WriteString(s.Signature())
	out.Write(msg)
	return out.Bytes(), nil
}
