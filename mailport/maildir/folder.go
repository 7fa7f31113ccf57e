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
	name    string
	baseLen int32 // the name without its info
	cur     bool  // in cur/, else new/
	uid     uint32
	t       int64 // delivery time from the name
}

func (e *entry) base() string { return e.name[:e.baseLen] }

// openFolder lists a folder's messages in the order to import them. The
// problems it returns are files it will not read. It holds about 100 octets
// per message: a folder of 200,000 takes 20 MB.
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
	for _, sub := range []string{"cur", "new"} {
		dir := filepath.Join(f.dir, sub)
		if err := it.list(dir, sub == "cur", problem); err != nil && !errors.Is(err, os.ErrNotExist) {
			problem(dir, err)
		}
	}
	// The same message twice (in new/ and cur/, as a crash between link
	// and unlink leaves it) has one key: read it once.
	slices.SortFunc(it.files, func(a, b entry) int { return strings.Compare(a.base(), b.base()) })
	it.files = slices.CompactFunc(it.files, func(a, b entry) bool {
		if a.base() == b.base() {
			sub := map[bool]string{true: "cur", false: "new"}[b.cur]
			problem(filepath.Join(f.dir, sub, b.name), errors.New("a second file of the same message, not read"))
			return true
		}
		return false
	})
	readUIDList(filepath.Join(f.dir, "dovecot-uidlist"), it.files)
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

// list adds the message files of dir, reading the directory in chunks.
func (it *folderIter) list(dir string, cur bool, problem func(string, error)) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	for {
		ents, err := d.ReadDir(1024)
		for _, e := range ents {
			name := e.Name()
			p := filepath.Join(dir, name)
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
			en := entry{name: strings.Clone(name), baseLen: int32(len(base)), cur: cur}
			if t, ok := nameTime(name); ok {
				en.t = t.Unix()
			}
			it.files = append(it.files, en)
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
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

// readUIDList sets the UIDs of files (sorted by base) from a dovecot-uidlist
// file (Dovecot's Maildir documentation): a header line, then "UID
// [EXTENSIONS] :NAME" (version 3) or "UID NAME" (version 1) per message.
// A missing or broken file sets none: UIDs only order the import.
func readUIDList(path string, files []entry) {
	f, err := safefile.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
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
		if i, ok := slices.BinarySearchFunc(files, base, func(e entry, b string) int { return strings.Compare(e.base(), b) }); ok {
			files[i].uid = uint32(uid)
		}
	}
}
