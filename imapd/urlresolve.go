package imapd

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"postern/imapd/internal/imapurl"
	"postern/mimeinfo"
	"postern/storage"
)

// IMAP URLs (RFC 5092) that name a message or a part of one: CATENATE
// copies from them (RFC 4469), URLFETCH reads them (RFC 4467).

// errBadURL is a URL that names nothing this session may read.
var errBadURL = errors.New("the URL names no message this session may read")

// badURL is the NO of CATENATE for a URL it cannot use (RFC 4469 §6).
func badURL(url, why string) error {
	return noCode(`BADURL "`+strings.NewReplacer(`"`, "", `\`, "", "]", "", "\r", "", "\n", "").Replace(wireSafeLong(url))+`"`, "%s", why)
}

func wireSafeLong(s string) string {
	if len(s) > 512 {
		s = s[:512]
	}
	return s
}

// urlTarget is what a URL names: the message, parsed, in its owner's
// mailbox.
type urlTarget struct {
	tree *mimeinfo.Tree
	url  *imapurl.URL
}

// openURL finds the message a URL names in acct's mailboxes; ctx is
// scoped to that account.
func (c *conn) openURL(ctx context.Context, acct storage.Account, u *imapurl.URL) (*urlTarget, error) {
	st := c.srv.cfg.Store
	mb, err := st.Mailbox(ctx, acct.ID, u.Mailbox)
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return nil, errBadURL
		}
		return nil, err
	}
	if u.UIDValidity != 0 && u.UIDValidity != mb.UIDValidity {
		return nil, errBadURL
	}
	rows, err := st.FetchMessages(ctx, mb.ID, []uint32{u.UID}, storage.FetchWant{})
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, errBadURL
	}
	whole, err := st.ReadBody(ctx, rows[0].BodyID)
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return nil, errBadURL
		}
		return nil, err
	}
	return &urlTarget{tree: mimeinfo.NewTree(whole), url: u}, nil
}

// section returns the bytes the URL's section and partial name.
func (t *urlTarget) section() ([]byte, bool) {
	u := t.url
	var filter *mimeinfo.HeaderFilter
	if u.Fields != nil {
		filter = mimeinfo.NewHeaderFilter(u.Fields, u.Spec == "HEADER.FIELDS.NOT")
	}
	data, ok := t.tree.Section(u.Part, u.Spec, filter)
	if !ok {
		return nil, false
	}
	return clip(data, u), true
}

// clip applies ;PARTIAL= (RFC 5092 §5).
func clip(data []byte, u *imapurl.URL) []byte {
	if !u.Partial {
		return data
	}
	off := min(u.Offset, int64(len(data)))
	end := int64(len(data))
	if u.Length >= 0 {
		end = min(off+u.Length, end)
	}
	return data[off:end]
}

// ownURL resolves a URL of CATENATE: relative, or absolute naming this
// user; a URL with URLAUTH is checked as URLFETCH checks it.
func (c *conn) ownURL(u *imapurl.URL) (*urlTarget, error) {
	if u.Access != "" {
		return c.authorizedURL(u)
	}
	if u.Absolute && !strings.EqualFold(u.User, c.acct.Address) {
		return nil, errBadURL
	}
	return c.openURL(c.ctx, c.acct, u)
}

// authorizedURL checks a URLAUTH URL (RFC 4467 §3.3): an INTERNAL token
// made with the mailbox's current key, not expired, and an access
// identifier this session meets. The message is read from the mailbox of
// the user the URL names.
func (c *conn) authorizedURL(u *imapurl.URL) (*urlTarget, error) {
	if !u.Absolute || u.User == "" || u.Mechanism != "INTERNAL" || u.Token == "" {
		return nil, errBadURL
	}
	if !u.Expire.IsZero() && !time.Now().Before(u.Expire) {
		return nil, errBadURL
	}
	switch {
	case u.Access == "anonymous", u.Access == "authuser":
	case strings.HasPrefix(u.Access, "user+"):
		if !strings.EqualFold(u.Access[len("user+"):], c.acct.Address) {
			return nil, errBadURL
		}
	default:
		// submit+: only a submission server fetching for the user may,
		// and Postern's submission does not fetch URLs.
		return nil, errBadURL
	}
	owner, err := c.srv.cfg.Store.AccountByAddress(c.ctx, u.User)
	if err != nil {
		return nil, errBadURL
	}
	// The token lets this session read the owner's message, and only
	// that: the store calls are scoped to the owner's account.
	ctx := storage.WithAccount(c.ctx, owner.ID)
	mb, err := c.srv.cfg.Store.Mailbox(ctx, owner.ID, u.Mailbox)
	if err != nil {
		return nil, errBadURL
	}
	key, err := c.srv.cfg.URLAuthKeys.Key(ctx, mb.ID, false)
	if err != nil {
		return nil, err
	}
	if key == nil || !hmac.Equal([]byte(urlToken(key, u.Rump)), []byte(u.Token)) {
		return nil, errBadURL
	}
	return c.openURL(ctx, owner, u)
}

// urlToken is the INTERNAL token of a rump URL: RFC 4467 §7 leaves its
// making to the server and suggests an HMAC of the rump with the mailbox
// key; this is HMAC-SHA256, in lower-case hex (64 digits, §3: at least 32).
func urlToken(key []byte, rump string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(rump))
	return hex.EncodeToString(m.Sum(nil))
}
