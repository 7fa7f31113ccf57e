package mbox

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"postern/mailport"
	"postern/mailport/internal/safefile"
)

// Source reads an mbox file or a tree of them.
//
// A single file goes to INBOX, unless its name ends in ".mbox": then to the
// mailbox of that name ("Sent.mbox" → Sent; special-use names map as
// mailport.SpecialName says). In a directory, every file that starts with a
// From_ line is a mailbox named after its path: "Work/2024.mbox" → Work/2024;
// Thunderbird's "Inbox.sbd/Lists" → INBOX/Lists. Thunderbird's index (.msf)
// and data files are left out, and so are hidden entries. Symbolic links are
// not followed (a Problem says so), nor is the tree read deeper than 32
// levels.
type Source struct {
	opts    Options
	files   []file
	probs   []error
	cur     *Reader
	curFile *os.File
}

type file struct {
	path    string // on disk
	rel     string // relative to the source, "/"-separated
	mailbox string
	size    int64
}

var _ mailport.Source = (*Source)(nil)

const maxDepth = 32

// metaExt are the files of a Thunderbird profile's mail folders that are not
// mbox: left out without a Problem.
var metaExt = []string{".msf", ".dat", ".html", ".json", ".sqlite", ".mab", ".bak", ".log"}

// Open opens the mbox file or directory at path.
func Open(path string, opts *Options) (*Source, error) {
	s := &Source{}
	if opts != nil {
		s.opts = *opts
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		name := filepath.Base(path)
		mb := mailport.Inbox
		if strings.HasSuffix(strings.ToLower(name), ".mbox") {
			mb = mailport.Name(name[:len(name)-len(".mbox")])
		}
		if ok, err := looksLikeMbox(path, fi.Size()); err != nil || !ok {
			if err == nil {
				err = fmt.Errorf("%s: %w", path, ErrNotMbox)
			}
			return nil, err
		}
		s.files = []file{{path: path, rel: name, mailbox: mb, size: fi.Size()}}
		return s, nil
	}
	s.walk(path, "", nil, 0)
	return s, nil
}

// walk lists the mbox files under dir; levels are the mailbox levels of dir.
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
		case strings.HasPrefix(name, "."):
			continue
		case e.Type()&os.ModeSymlink != 0:
			s.probs = append(s.probs, &mailport.Problem{Path: p, Err: fmt.Errorf("symbolic link, not followed")})
		case e.IsDir():
			level := strings.TrimSuffix(name, ".sbd") // Thunderbird's subfolders of NAME
			level = strings.TrimSuffix(level, ".mbox")
			s.walk(p, r, append(levels[:len(levels):len(levels)], level), depth+1)
		case e.Type().IsRegular():
			if hasExt(name, metaExt) {
				continue
			}
			fi, err := e.Info()
			if err != nil {
				s.probs = append(s.probs, &mailport.Problem{Path: p, Err: err})
				continue
			}
			ok, err := looksLikeMbox(p, fi.Size())
			if err != nil || !ok {
				if err == nil {
					err = ErrNotMbox
				}
				s.probs = append(s.probs, &mailport.Problem{Path: p, Err: err})
				continue
			}
			lv := append(levels[:len(levels):len(levels)], strings.TrimSuffix(name, ".mbox"))
			s.files = append(s.files, file{path: p, rel: r, mailbox: mailport.Name(lv...), size: fi.Size()})
		default:
			s.probs = append(s.probs, &mailport.Problem{Path: p, Err: fmt.Errorf("not a regular file (%s), not read", e.Type())})
		}
	}
}

func hasExt(name string, exts []string) bool {
	for _, x := range exts {
		if strings.HasSuffix(strings.ToLower(name), x) {
			return true
		}
	}
	return false
}

// looksLikeMbox reports whether the file starts with "From " (after blank
// lines) or is empty (an empty folder).
func looksLikeMbox(path string, size int64) (bool, error) {
	if size == 0 {
		return true, nil
	}
	f, err := safefile.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	buf := make([]byte, 512)
	n, _ := io.ReadFull(f, buf)
	b := bytes.TrimLeft(buf[:n], "\r\n")
	return bytes.HasPrefix(b, fromPrefix) || len(b) == 0 && n < len(buf), nil
}

// Mailboxes lists the mailboxes of the files, in order (mailport.Lister).
// Google Takeout labels are known only message by message and are not listed.
func (s *Source) Mailboxes(ctx context.Context) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, f := range s.files {
		if !seen[f.mailbox] {
			seen[f.mailbox] = true
			out = append(out, f.mailbox)
		}
	}
	return out, nil
}

// Estimate returns the total size of the files (mailport.Estimator); the
// number of messages is not known before reading them.
func (s *Source) Estimate(ctx context.Context) (messages, bytes int64, err error) {
	for _, f := range s.files {
		bytes += f.size
	}
	return -1, bytes, nil
}

// Next returns the next message (see mailport.Source).
func (s *Source) Next(ctx context.Context) (*mailport.Message, error) {
	for {
		if len(s.probs) > 0 {
			p := s.probs[0]
			s.probs = s.probs[1:]
			return nil, p
		}
		if s.cur == nil {
			if len(s.files) == 0 {
				return nil, io.EOF
			}
			f := s.files[0]
			s.files = s.files[1:]
			fh, err := safefile.Open(f.path)
			if err != nil {
				return nil, &mailport.Problem{Path: f.path, Mailbox: f.mailbox, Err: err}
			}
			fi, err := fh.Stat()
			if err != nil {
				fh.Close()
				return nil, &mailport.Problem{Path: f.path, Mailbox: f.mailbox, Err: err}
			}
			s.curFile = fh
			s.cur = NewReader(fh, fi.Size(), f.rel, f.mailbox, &s.opts)
		}
		m, err := s.cur.Next(ctx)
		if err == io.EOF {
			s.closeFile()
			continue
		}
		if err != nil && ctx.Err() == nil {
			if _, ok := err.(*mailport.Problem); !ok {
				// The file cannot be read on: report it and go on with the next.
				path := s.curFile.Name()
				s.closeFile()
				return nil, &mailport.Problem{Path: path, Err: err}
			}
		}
		return m, err
	}
}

func (s *Source) closeFile() {
	if s.curFile != nil {
		s.curFile.Close()
	}
	s.cur, s.curFile = nil, nil
}

// Close closes the file being read.
func (s *Source) Close() error {
	s.closeFile()
	s.files = nil
	return nil
}
