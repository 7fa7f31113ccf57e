// Package dkimtest makes DKIM keys and signs messages for tests, and gives
// the TXT record that publishes a key.
//
// RSA keys under 1024 bits need GODEBUG rsa1024min=0 in the test binary
// (a "//go:debug rsa1024min=0" line in a _test.go file): Go refuses to make
// or use them otherwise, and receivers must be shown to refuse them too.
package dkimtest

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"testing"

	"github.com/emersion/go-msgauth/dkim"
)

// Key is a signing key.
type Key struct {
	Signer crypto.Signer
}

// RSA makes an RSA key of bits bits.
func RSA(t testing.TB, bits int) Key {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatalf("dkimtest: RSA-%d: %v", bits, err)
	}
	return Key{k}
}

// Ed25519 makes an Ed25519 key (RFC 8463).
func Ed25519(t testing.TB) Key {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return Key{k}
}

// Record is the TXT record value that publishes the key (RFC 6376 §3.6.1).
func (k Key) Record() string {
	switch pub := k.Signer.Public().(type) {
	case ed25519.PublicKey:
		return "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(pub)
	default:
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			panic(err)
		}
		return "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(der)
	}
}

// Sign returns msg with a DKIM-Signature by domain and selector prepended,
// relaxed/relaxed, signing the header fields keys (nil: From, To, Subject,
// Date, Message-ID).
func Sign(t testing.TB, msg []byte, domain, selector string, k Key, keys []string) []byte {
	t.Helper()
	return SignWith(t, msg, &dkim.SignOptions{Domain: domain, Selector: selector, Signer: k.Signer, HeaderKeys: keys})
}

// SignWith signs with options, filling in relaxed canonicalization and the
// default header keys when they are left empty.
func SignWith(t testing.TB, msg []byte, o *dkim.SignOptions) []byte {
	t.Helper()
	opts := *o
	if opts.HeaderCanonicalization == "" {
		opts.HeaderCanonicalization = dkim.CanonicalizationRelaxed
	}
	if opts.BodyCanonicalization == "" {
		opts.BodyCanonicalization = dkim.CanonicalizationRelaxed
	}
	if opts.HeaderKeys == nil {
		opts.HeaderKeys = []string{"From", "To", "Subject", "Date", "Message-ID"}
	}
	var out bytes.Buffer
	if err := dkim.Sign(&out, bytes.NewReader(msg), &opts); err != nil {
		t.Fatalf("dkimtest: sign: %v", err)
	}
	return out.Bytes()
}
