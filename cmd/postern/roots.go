package main

// The container image has no CA certificates of its own (FROM scratch):
// this bundle of Mozilla's roots is used only when the system has none, for
// the ACME CA, a relay's certificate and other servers' STARTTLS.
import _ "golang.org/x/crypto/x509roots/fallback"
