// Package maildir reads Maildir and Maildir++ trees as a mailport.Source
// and writes Maildir++ trees, for export.
//
// # Reading
//
// The top directory, if it has cur/ or new/, is INBOX. Maildir++ folders are
// the directories beside it whose names start with "." (see FolderDir);
// folders in "fs" layout (mbsync, Dovecot's LAYOUT=fs: Work/2024/cur) are
// read too. Messages are the regular files of cur/ and new/; tmp/ holds
// deliveries in progress and is left alone, as are hidden files. Symbolic
// links are never followed (a Problem says so), FIFOs and devices never
// opened, and nothing outside the tree is read.
//
// Flags come from the ":2," info (SplitName, ParseFlags) and the folder's
// dovecot-keywords file. INTERNALDATE is the file's modification time, which
// Dovecot sets to the received date; when that is unusable (before 1980),
// the delivery time at the start of the file name. Messages are read in the
// order of the folder's dovecot-uidlist where there is one, then by the
// delivery time in their names, so that they keep their order.
//
// Message.Key is "maildir:" DIR "/" BASE: DIR the folder's directory
// relative to the top ("." for INBOX), BASE the file name without its info.
// The base is unique in the folder and does not change when a mail reader
// changes flags or moves the file from new/ to cur/; a re-run finds the
// same keys without opening a file.
package maildir

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"postern/mailport"
	"postern/mailport/internal/safefile"
)

// Source reads a Maildir tree.
type Source struct {
	folders []folder
	probs   []error
	cur     *folderIter
	body    *lazyFile
}

var _ mailport.Source = (*Source)(nil)

type folder struct {
	dir     string // on disk
	rel     string // relative to the top, "." for the top
	mailbox string
}

const maxDepth = 32

// Open opens the Maildir tree at root.
func Open(root string) (*Source, error) {
	fi, err := os.Stat(root)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%s is not a directory: a Maildir is one (with cur/, new/, tmp/)", root)
	}
	s := &Source{}
	if isMaildir(root) {
		s.folders = append(s.folders, folder{dir: root, rel: ".", mailbox: mailport.Inbox})
	}
	s.walk(root, "", nil, 0)
	if len(s.folders) == 0 {
		return nil, fmt.Errorf("%s holds no Maildir: no cur/ or new/ in it or in its folders", root)
	}
	return s, nil
}

// isMaildir reports whether dir has a cur/ or new/ directory (not a link).
func isMaildir(dir string) bool {
	for _, sub := range []string{"cur", "new"} {
		if fi, err := os.Lstat(filepath.Join(dir, sub)); err == nil && fi.IsDir() {
			return true
		}
	}
	return false
}

// walk finds the folders under dir: Maildir++ ".Name" directories at the
// top, "fs" layout subdirectories at any depth.
func (s *Source) walk(dir, rel string, levels []string, depth int) {
	if depth > maxDepth {
		s.probs = append(s.probs, &mailport.Problem{Path: dir, Err: fmt.Errorf("deeper than %d levels, not read", maxDepth)})
		return
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		s.probs = append(s.probs, &mailport.Problem{Path: dir, Err: err})
		return
	}
	for _, e := range ents {
		name := e.Name()
		p := filepath.Join(dir, name)
		r := name
		if rel != "" {
			r = rel + "/" + name
		}
		switch {
		case name == "cur" || name == "new" || name == "tmp":
			continue
		case e.Type()&os.ModeSymlink != 0:
			s.probs = append(s.probs, &mailport.Problem{Path: p, Err: errors.New("symbolic link, not followed")})
		case !e.IsDir():
			continue // dovecot-uidlist, dovecot-keywords, indexes, subscriptions
		case strings.HasPrefix(name, "."):
			if depth > 0 || name == "." || name == ".." || !isMaildir(p) {
				continue
			}
			mb, err := FolderName(name)
			if err != nil {
				s.probs = append(s.probs, &mailport.Problem{Path: p, Mailbox: mb, Err: err})
			}
			s.folders = append(s.folders, folder{dir: p, rel: r, mailbox: mb})
		default:
			lv := append(levels[:len(levels):len(levels)], name)
			if isMaildir(p) {
				s.folders = append(s.folders, folder{dir: p, rel: r, mailbox: mailport.Name(lv...)})
			}
			s.walk(p, r, lv, depth+1)
		}
	}
}

// Mailboxes lists the folders' mailboxes (mailport.Lister).
func (s *Source) Mailboxes(ctx context.Context) ([]string, error) {
	var out []string
	for _, f := range s.folders {
		if !slices.Contains(out, f.mailbox) {
			out = append(out, f.mailbox)
		}
	}
	return out, nil
}

// Estimate counts the message files and adds up their sizes, from the
// ",S=" in their names where there is one (mailport.Estimator).
func (s *Source) Estimate(ctx context.Context) (messages, bytes int64, err error) {
	for _, f := range s.folders {
		for _, sub := range []string{"cur", "new"} {
			d, err := os.Open(filepath.Join(f.dir, sub))
			if err != nil {
				continue
			}
			for {
				names, err := d.Readdirnames(4096)
				for _, n := range names {
					if strings.HasPrefix(n, ".") {
						continue
					}
					messages++
					if sz, ok := nameSize(n); ok {
						bytes += sz
					} else if fi, err := os.Lstat(filepath.Join(f.dir, sub, n)); err == nil {
						bytes += fi.Size()
					}
				}
				if err != nil || ctx.Err() != nil {
					break
				}
			}
			d.Close()
		}
	}
	return messages, bytes, ctx.Err()
}

// nameSize reads the ",S=" size of a file name (Maildir++, Dovecot).
func nameSize(name string) (int64, bool) {
	base, _ := SplitName(name)
	for _, field := range strings.Split(base, ",")[1:] {
		if v, ok := strings.CutPrefix(field, "S="); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			return n, err == nil && n >= 0
		}
	}
	return 0, false
}

// nameTime reads the delivery time at the start of a file name.
func nameTime(name string) (time.Time, bool) {
	sec, _, _ := strings.Cut(name, ".")
	n, err := strconv.ParseInt(sec, 10, 64)
	if err != nil || n <= 0 || n > 1<<40 {
		return time.Time{}, false
	}
	return time.Unix(n, 0), true
}

var minDate = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// Next returns the next message (see mailport.Source).
func (s *Source) Next(ctx context.Context) (*mailport.Message, error) {
	s.closeBody()
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if len(s.probs) > 0 {
			p := s.probs[0]
			s.probs = s.probs[1:]
			return nil, p
		}
		if s.cur == nil {
			if len(s.folders) == 0 {
				return nil, io.EOF
			}
			f := s.folders[0]
			s.folders = s.folders[1:]
			it, probs := openFolder(f)
			s.probs = append(s.probs, probs...)
			s.cur = it
			continue
		}
		e, ok := s.cur.next()
		if !ok {
			s.cur = nil
			continue
		}
		f := s.cur.f
		sub := "new"
		if e.cur {
			sub = "cur"
		}
		path := filepath.Join(f.dir, sub, e.name)
		fi, err := os.Lstat(path)
		if err != nil {
			return nil, &mailport.Problem{Path: path, Mailbox: f.mailbox, Err: fmt.Errorf("gone while importing (another program moved it?): %w", err)}
		}
		if !fi.Mode().IsRegular() {
			return nil, &mailport.Problem{Path: path, Mailbox: f.mailbox, Err: fmt.Errorf("not a regular file (%s), not read", fi.Mode().Type())}
		}
		base, letters := SplitName(e.name)
		date := fi.ModTime()
		if date.Before(minDate) {
			date, _ = nameTime(e.name)
		}
		s.body = &lazyFile{path: path, size: fi.Size()}
		return &mailport.Message{
			Mailboxes:    []string{f.mailbox},
			Flags:        ParseFlags(letters, s.cur.kw),
			InternalDate: date,
			Size:         fi.Size(),
			Key:          "maildir:" + f.rel + "/" + base,
			Body:         s.body,
		}, nil
	}
}

func (s *Source) closeBody() {
	if s.body != nil {
		s.body.close()
		s.body = nil
	}
}

// Close closes the file being read.
func (s *Source) Close() error {
	s.closeBody()
	s.folders, s.cur = nil, nil
	return nil
}

// lazyFile opens a message file at its first read: a caller that skips the
// message (it has the key already) costs no open.
type lazyFile struct {
	path   string
	size   int64
	f      *os.File
	r      io.Reader
	n      int64
	err    error
	closed bool
}

func (l *lazyFile) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	if l.f == nil {
		if l.closed {
			return 0, errors.New("message body read after the next message was asked for")
		}
		f, err := safefile.Open(l.path)
		if err != nil {
			l.err = err
			return 0, err
		}
		l.f = f
		l.r = io.LimitReader(f, l.size)
	}
	n, err := l.r.Read(p)
	l.n += int64(n)
	if err == io.EOF && l.n < l.size {
		err = fmt.Errorf("%s: shrank to %d octets while read: %w", l.path, l.n, io.ErrUnexpectedEOF)
	}
	if err != nil {
		l.err = err
	}
	return n, err
}

func (l *lazyFile) close() {
	if l.f != nil {
		l.f.Close()
		l.f = nil
	}
	l.closed = true
}
