// Package source opens what `postern import` is given as SOURCE: an IMAP
// URL, a Maildir, an mbox file, or a directory of mbox files.
package source

import (
	"context"
	"fmt"
	"os"
	"strings"

	"postern/mailport"
	"postern/mailport/imapsrc"
	"postern/mailport/maildir"
	"postern/mailport/mbox"
)

// Options are handed to the source opened.
type Options struct {
	Mbox mbox.Options
	IMAP imapsrc.Options // Password and State for a remote server
}

// Kind says what a SOURCE is.
type Kind int

const (
	IMAP    Kind = iota + 1 // imaps:// or imap:// URL
	Maildir                 // a directory with cur/ and new/, or Maildir folders in it
	Mbox                    // an mbox file, or a directory of them (Thunderbird, Takeout)
)

func (k Kind) String() string {
	switch k {
	case IMAP:
		return "IMAP server"
	case Maildir:
		return "Maildir"
	case Mbox:
		return "mbox"
	}
	return "unknown"
}

// Detect says what spec is: a URL with an imap or imaps scheme is a server;
// a directory that holds a Maildir (at the top or in folders) is a Maildir;
// any other directory, and a file, are mbox.
func Detect(spec string) (Kind, error) {
	low := strings.ToLower(spec)
	if strings.HasPrefix(low, "imaps://") || strings.HasPrefix(low, "imap://") {
		return IMAP, nil
	}
	fi, err := os.Stat(spec)
	if err != nil {
		return 0, fmt.Errorf("import source %s: %w (give a file, a directory, or imaps://USER@HOST)", spec, err)
	}
	if !fi.IsDir() {
		return Mbox, nil
	}
	if s, err := maildir.Open(spec); err == nil {
		s.Close()
		return Maildir, nil
	}
	return Mbox, nil
}

// Open opens spec as Detect says. The Source it returns also implements
// mailport.Lister and mailport.Estimator.
func Open(ctx context.Context, spec string, opts *Options) (mailport.Source, Kind, error) {
	if opts == nil {
		opts = &Options{}
	}
	kind, err := Detect(spec)
	if err != nil {
		return nil, 0, err
	}
	src, err := open(ctx, kind, spec, opts)
	if err != nil {
		return nil, 0, err
	}
	return src, kind, nil
}

func open(ctx context.Context, kind Kind, spec string, opts *Options) (mailport.Source, error) {
	// Each case checks its error itself: a nil *T in an interface is not nil.
	switch kind {
	case IMAP:
		r, err := imapsrc.ParseURL(spec)
		if err != nil {
			return nil, err
		}
		s, err := imapsrc.Open(ctx, r, &opts.IMAP)
		if err != nil {
			return nil, err
		}
		return s, nil
	case Maildir:
		s, err := maildir.Open(spec)
		if err != nil {
			return nil, err
		}
		return s, nil
	default:
		s, err := mbox.Open(spec, &opts.Mbox)
		if err != nil {
			return nil, err
		}
		return s, nil
	}
}
