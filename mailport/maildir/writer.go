package maildir

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"postern/mailport"
)

// Writer writes messages into a Maildir++ tree, the form `postern export`
// produces: INBOX at the top, other mailboxes in ".Name" folders (FolderDir),
// flags in the ":2," info with keywords in each folder's dovecot-keywords,
// INTERNALDATE as the file's modification time. Reading the tree back with
// Open gives the same mailboxes, flags, dates and octets.
//
// Each message is written into tmp/ and renamed into cur/, so a reader (or
// an interrupted export) never sees half a message. Close flushes the file
// system: an export is on disk once Close returns nil.
type Writer struct {
	root    string
	folders map[string]*wfolder
	host    string
	pid     int
	seq     uint64
	buf     []byte
	now     func() time.Time
}

type wfolder struct {
	dir string
	kw  *Keywords
}

// Create makes (or opens) the Maildir++ tree at root.
func Create(root string) (*Writer, error) {
	host, _ := os.Hostname()
	// The Maildir specification spells "/" and ":" in the host name as octal escapes.
	host = strings.NewReplacer("/", `\057`, ":", `\072`).Replace(host)
	if host == "" {
		host = "localhost"
	}
	w := &Writer{root: root, folders: map[string]*wfolder{}, host: host, pid: os.Getpid(),
		buf: make([]byte, 64<<10), now: time.Now}
	if _, err := w.folder(mailport.Inbox); err != nil {
		return nil, err
	}
	return w, nil
}

// Mkdir creates the folder of a mailbox, so that an empty mailbox is kept.
func (w *Writer) Mkdir(mailbox string) error {
	_, err := w.folder(mailbox)
	return err
}

func (w *Writer) folder(mailbox string) (*wfolder, error) {
	if f := w.folders[mailbox]; f != nil {
		return f, nil
	}
	for _, l := range strings.Split(mailbox, mailport.Delimiter) {
		if l == "" {
			return nil, fmt.Errorf("export: mailbox name %q has an empty level", mailbox)
		}
	}
	dir := w.root
	if d := FolderDir(mailbox); d != "" {
		dir = filepath.Join(w.root, d)
	}
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return nil, fmt.Errorf("export of mailbox %s: %w", mailbox, err)
		}
	}
	f := &wfolder{dir: dir, kw: &Keywords{}}
	if dir != w.root {
		// Maildir++ marks a folder with an empty "maildirfolder" file.
		if err := os.WriteFile(filepath.Join(dir, "maildirfolder"), nil, 0o600); err != nil {
			return nil, fmt.Errorf("export of mailbox %s: %w", mailbox, err)
		}
	}
	if kf, err := os.Open(filepath.Join(dir, "dovecot-keywords")); err == nil {
		f.kw, err = ParseKeywords(kf)
		kf.Close()
		if err != nil {
			return nil, fmt.Errorf("export of mailbox %s: %w", mailbox, err)
		}
	}
	w.folders[mailbox] = f
	return f, nil
}

// Write writes a message into each of its mailboxes: the first gets the
// file, the others a hard link to it (or a copy where links fail). Keywords
// beyond the 26 a folder can name are left out; the message is written and
// a *mailport.Problem names them.
func (w *Writer) Write(m *mailport.Message) error {
	if len(m.Mailboxes) == 0 {
		return errors.New("export: message without a mailbox")
	}
	date := m.InternalDate
	if date.IsZero() {
		date = w.now()
	}
	var first string
	var dropped []string
	for _, mb := range m.Mailboxes {
		f, err := w.folder(mb)
		if err != nil {
			return err
		}
		letters, drop := FormatFlags(m.Flags, f.kw)
		dropped = append(dropped, drop...)
		if f.kw.added {
			if err := writeAtomic(filepath.Join(f.dir, "dovecot-keywords"), f.kw.Bytes()); err != nil {
				return fmt.Errorf("export of mailbox %s: %w", mb, err)
			}
			f.kw.added = false
		}
		tmp, base, err := w.create(f.dir, m.Size)
		if err != nil {
			return fmt.Errorf("export of mailbox %s: %w", mb, err)
		}
		final := filepath.Join(f.dir, "cur", base+":2,"+letters)
		if first != "" {
			// Dovecot copies between folders the same way: the flags are
			// in each name, the octets and the date are shared.
			if os.Link(first, final) == nil {
				tmp.Close()
				os.Remove(tmp.Name())
				continue
			}
		}
		if first == "" {
			err = w.fill(tmp, m)
		} else {
			err = copyFile(tmp, first, w.buf)
		}
		if err == nil {
			err = os.Chtimes(tmp.Name(), date, date)
		}
		if err == nil {
			err = os.Rename(tmp.Name(), final)
		}
		if err != nil {
			os.Remove(tmp.Name())
			return fmt.Errorf("export of mailbox %s: %w", mb, err)
		}
		if first == "" {
			first = final
		}
	}
	if len(dropped) > 0 {
		return &mailport.Problem{Path: first, Err: fmt.Errorf("keywords %q not written: a Maildir folder holds 26 keywords", dropped)}
	}
	return nil
}

// create makes a new file in tmp/ with a unique name: time, microseconds,
// process and a counter, host, size (as Dovecot names its files).
func (w *Writer) create(dir string, size int64) (*os.File, string, error) {
	for range 100 {
		now := w.now()
		w.seq++
		base := fmt.Sprintf("%d.M%dP%dQ%d.%s,S=%d", now.Unix(), now.Nanosecond()/1000, w.pid, w.seq, w.host, size)
		f, err := os.OpenFile(filepath.Join(dir, "tmp", base), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return f, base, err
	}
	return nil, "", errors.New("no unique file name in tmp/")
}

// fill writes the body, which must be exactly m.Size octets, and closes f.
func (w *Writer) fill(f *os.File, m *mailport.Message) error {
	n, err := io.CopyBuffer(onlyWriter{f}, m.Body, w.buf)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && n != m.Size {
		err = fmt.Errorf("message %s: %d octets, not the %d announced", m.Key, n, m.Size)
	}
	return err
}

// onlyWriter hides ReadFrom, so that CopyBuffer uses the buffer given.
type onlyWriter struct{ io.Writer }

// copyFile copies src into dst (open) and closes dst, where a hard link
// cannot be made.
func copyFile(dst *os.File, src string, buf []byte) error {
	s, err := os.Open(src)
	if err == nil {
		_, err = io.CopyBuffer(onlyWriter{dst}, s, buf)
		s.Close()
	}
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	return err
}

// writeAtomic replaces a small file by writing a temporary one beside it.
func writeAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

// Close flushes what was written to disk.
func (w *Writer) Close() error {
	return syncTree(w.root)
}
