package smtpd

import (
	"strconv"

	"github.com/emersion/go-smtp"
)

// reply builds an SMTP error reply. Every reply text here is meant for the
// client: it never carries internal error text.
func reply(code int, class, subject, detail int, msg string) *smtp.SMTPError {
	return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{class, subject, detail}, Message: msg}
}

var (
	// RFC 4954 §6: authentication required.
	errAuthRequired = reply(530, 5, 7, 0, "Authentication required: log in with AUTH first")
	// RFC 4954 §4 and go-smtp's own reply when AUTH is tried without TLS.
	errTLSRequired = reply(523, 5, 7, 10, "TLS is required: use STARTTLS first")
	errAuthTwice   = reply(503, 5, 5, 1, "Already authenticated")
	errAuthLocked  = reply(454, 4, 7, 0, "Too many failed logins from your address; try again later")
	// RFC 3463 X.7.13 User Account Disabled, after a successful
	// authentication, with the code the registry gives it.
	errAuthDisabled = reply(525, 5, 7, 13, "Your account is disabled; ask the administrator")
	errAuthTemp     = reply(454, 4, 7, 0, "Temporary authentication failure; try again later")
	errAuthBadResp  = reply(501, 5, 5, 2, "Malformed authentication response")
	errAuthzid      = reply(535, 5, 7, 8, "Authorization identity must be empty or equal to the user name")

	errNestedMail = reply(503, 5, 5, 1, "Nested MAIL command: finish or RSET the current transaction first")

	errNotYours    = reply(553, 5, 7, 1, "Sender address is not yours: use your own address or one of your aliases")
	errBadSender   = reply(553, 5, 1, 7, "Bad sender address syntax")
	errBadRcpt     = reply(501, 5, 1, 3, "Bad recipient address syntax")
	errUnknownUser = reply(550, 5, 1, 1, "No such user here")
	errDisabled    = reply(550, 5, 2, 1, "Mailbox disabled, not accepting messages")
	errAliasLoop   = reply(550, 5, 4, 6, "Alias expansion loops; the postmaster must fix it")
	// RFC 3463 X.1.6: the destination mailbox has moved or is gone; the
	// alias's targets are not named to the sender.
	errAliasDangling = reply(550, 5, 1, 6, "This address leads to no mailbox any more; the postmaster must fix its alias")
	errRelayDenied   = reply(554, 5, 7, 1, "Relay access denied: this server only accepts mail for its own domains")
	errTooManyErrs   = reply(421, 4, 7, 0, "Too many errors on this connection, closing")
	errProbing       = reply(421, 4, 7, 0, "Too many unknown recipients or failed logins from your address; try again later")
	errTempLookup    = reply(451, 4, 3, 0, "Temporary lookup failure; try again later")
	errNoOutbound    = reply(451, 4, 3, 0, "Outbound delivery is not enabled yet; try again later")
	errQueueFailed   = reply(451, 4, 3, 0, "Cannot queue the message for remote delivery now; try again later")
	errStoreFailed   = reply(451, 4, 3, 0, "Cannot store the message now; nothing was delivered, try again later")
	errNoSpace       = reply(452, 4, 3, 1, "Insufficient system storage; nothing was delivered, try again later") // RFC 3463 §3.4
	errReadFailed    = reply(451, 4, 4, 2, "Connection problem while reading the message; nothing was delivered")
	errBareNewline   = reply(550, 5, 6, 0, "Message contains a bare CR or LF; lines must end with CRLF (RFC 5321 §2.3.8)")
	errLongLine      = reply(554, 5, 6, 0, "Message has a line longer than the server accepts; closing")
	errShuttingDown  = reply(421, 4, 3, 2, "Server shutting down; try again later")
	errAccountEnded  = reply(421, 4, 7, 0, "Your account was deleted or disabled; closing")
)

// errSizeExceeded refuses a message, declared or sent, over the size limit
// (RFC 1870 §6.1, RFC 3463 X.3.4).
func errSizeExceeded(limit int64) *smtp.SMTPError {
	return reply(552, 5, 3, 4, "Message size exceeds the fixed maximum of "+strconv.FormatInt(limit, 10)+" octets")
}
