package maildir

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"postern/mailport"
	"postern/mailport/internal/safefile"
)

// folderIter walks the messages of one folder.
type folderIter struct {
	f     folder
	kw    *Keywords
	files []entry
	i     int
}

type entry struct {
	name string
	sub  string // "cur" or "new"
	uid  uint32 // from dovecot-uidlist; 0: not listed
	t    int64  // delivery time from the name
}

// openFolder lists a folder's messages in the order to import them. The
// problems it returns are files it will not read.
func openFolder(f folder) (*folderIter, []error) {
	it := &folderIter{f: f}
	var probs []error
	problem := func(path string, err error) {
		probs = append(probs, &mailport.Problem{Path: path, Mailbox: f.mailbox, Err: err})
	}
	if kf, err := safefile.Open(filepath.Join(f.dir, "dovecot-keywords")); err == nil {
		it.kw, err = ParseKeywords(kf)
		kf.Close()
		if err != nil {
			problem(kf.Name(), err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		problem(filepath.Join(f.dir, "dovecot-keywords"), err)
	}
	uids := readUIDList(filepath.Join(f.dir, "dovecot-uidlist"))
	bases := map[string]bool{}
	for _, sub := range []string{"cur", "new"} {
		ents, err := os.ReadDir(filepath.Join(f.dir, sub))
		if err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				problem(filepath.Join(f.dir, sub), err)
			}
			continue
		}
		for _, e := range ents {
			name := e.Name()
			p := filepath.Join(f.dir, sub, name)
			switch {
			case strings.HasPrefix(name, "."):
				continue
			case e.Type()&os.ModeSymlink != 0:
				problem(p, errors.New("symbolic link, not followed"))
				continue
			case !e.Type().IsRegular():
				problem(p, fmt.Errorf("not a regular file (%s), not read", e.Type()))
				continue
			}
			base, _ := SplitName(name)
			if bases[base] {
				// The same message twice (in new/ and cur/, as a crash
				// between link and unlink leaves it): the key is the same.
				problem(p, errors.New("a second file of the same message, not read"))
				continue
			}
			bases[base] = true
			e := entry{name: name, sub: sub, uid: uids[base]}
			if t, ok := nameTime(name); ok {
				e.t = t.Unix()
			}
			it.files = append(it.files, e)
		}
	}
	slices.SortFunc(it.files, func(a, b entry) int {
		switch {
		case a.uid != b.uid && a.uid != 0 && b.uid != 0:
			return cmpInt(int64(a.uid), int64(b.uid))
		case a.uid != 0 && b.uid == 0:
			return -1
		case a.uid == 0 && b.uid != 0:
			return 1
		case a.t != b.t:
			return cmpInt(a.t, b.t)
		}
		return strings.Compare(a.name, b.name)
	})
	return it, probs
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (it *folderIter) next() (entry, bool) {
	if it.i >= len(it.files) {
		return entry{}, false
	}
	e := it.files[it.i]
	it.files[it.i] = entry{} // let the name go
	it.i++
	return e, true
}

// readUIDList reads the UIDs of a dovecot-uidlist file (Dovecot's Maildir
// documentation): a header line, then "UID [EXTENSIONS] :NAME" (version 3)
// or "UID NAME" (version 1) per message. A missing or broken file gives no
// UIDs: they only order the import.
func readUIDList(path string) map[string]uint32 {
	f, err := safefile.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	uids := map[string]uint32{}
	sc := bufio.NewScanner(io.LimitReader(f, 1<<30))
	sc.Buffer(nil, 64<<10)
	for first := true; sc.Scan(); first = false {
		if first {
			continue
		}
		line := sc.Text()
		num, rest, ok := strings.Cut(line, " ")
		uid, err := strconv.ParseUint(num, 10, 32)
		if !ok || err != nil || uid == 0 {
			continue
		}
		var name string
		if i := strings.Index(rest, " :"); i >= 0 {
			name = rest[i+2:]
		} else if n, ok := strings.CutPrefix(rest, ":"); ok {
			name = n
		} else {
			name, _, _ = strings.Cut(rest, " ") // version 1
		}
		base, _ := SplitName(strings.TrimSpace(name))
		uids[base] = uint32(uid)
	}
	return uids
}
