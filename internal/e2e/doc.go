// Package e2e holds end-to-end tests that cross packages: mail submitted over
// SMTP, delivered to a remote mail exchanger, bounced, read back over IMAP and
// POP3, across restarts of the whole server.
package e2e
