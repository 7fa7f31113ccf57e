package managesieve

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"postern/sieve"
)

// The commands of the authenticated state (RFC 5804 §2.5-2.12, §2.14.1).
var scriptCommands map[string]func(*session, Command) error

func init() {
	scriptCommands = map[string]func(*session, Command) error{
		"HAVESPACE":      (*session).cmdHavespace,
		"PUTSCRIPT":      (*session).cmdPutscript,
		"CHECKSCRIPT":    (*session).cmdCheckscript,
		"LISTSCRIPTS":    (*session).cmdListscripts,
		"SETACTIVE":      (*session).cmdSetactive,
		"GETSCRIPT":      (*session).cmdGetscript,
		"DELETESCRIPT":   (*session).cmdDeletescript,
		"RENAMESCRIPT":   (*session).cmdRenamescript,
		"UNAUTHENTICATE": (*session).cmdUnauthenticate,
	}
}

// checkName refuses a name RFC 5804 §1.6 forbids or longer than the
// limit (which is never cut, §1.6).
func (s *session) checkName(name string) bool {
	switch {
	case !sieve.ValidScriptName(name):
		s.refuse("invalid script name " + quote(name) + ": it must be UTF-8 without control characters or \"/\"")
		return false
	case utf8.RuneCountInString(name) > s.srv.cfg.MaxNameLength:
		s.refuse(fmt.Sprintf("script name longer than %d characters", s.srv.cfg.MaxNameLength))
		return false
	}
	return true
}

// storeError answers a ScriptStore error with its response code (RFC 5804
// §1.3); other errors are the server's, logged, TRYLATER.
func (s *session) storeError(op string, err error) error {
	switch {
	case errors.Is(err, ErrNonexistent):
		s.no("NONEXISTENT", "there is no script by that name")
	case errors.Is(err, ErrActive):
		s.no("ACTIVE", "the active script cannot be deleted; deactivate it first")
	case errors.Is(err, ErrAlreadyExists):
		s.no("ALREADYEXISTS", "a script by that name exists already")
	default:
		s.srv.log.Error("managesieve store error", "remote", s.remote.String(), "user", s.account, "op", op, "err", err)
		s.no("TRYLATER", op+" failed on the server; try again later")
	}
	return nil
}

// quota checks a script of size octets under name against the limits,
// answering NO with QUOTA/MAXSIZE or QUOTA/MAXSCRIPTS (RFC 5804 §1.3).
func (s *session) quota(name string, size int) (ok bool, err error) {
	if size > s.srv.cfg.MaxScriptSize {
		s.no("QUOTA/MAXSIZE", fmt.Sprintf("the script is larger than the limit of %d octets", s.srv.cfg.MaxScriptSize))
		return false, nil
	}
	list, err := s.srv.cfg.Scripts.ListScripts(s.ctx, s.account)
	if err != nil {
		return false, s.storeError("listing scripts", err)
	}
	for _, sc := range list {
		if sc.Name == name {
			return true, nil // replacing a script adds none
		}
	}
	if len(list) >= s.srv.cfg.MaxScripts {
		s.no("QUOTA/MAXSCRIPTS", fmt.Sprintf("you have the most scripts allowed, %d; delete one first", s.srv.cfg.MaxScripts))
		return false, nil
	}
	return true, nil
}

// cmdHavespace: RFC 5804 §2.5.
func (s *session) cmdHavespace(cmd Command) error {
	if len(cmd.Args) != 2 || cmd.Args[0].IsNumber || !cmd.Args[1].IsNumber {
		return s.refuse("usage: HAVESPACE name size")
	}
	if !s.checkName(cmd.Args[0].Str) {
		return nil
	}
	if ok, err := s.quota(cmd.Args[0].Str, int(cmd.Args[1].Num)); !ok || err != nil {
		return err
	}
	s.ok("", "Putscript would succeed")
	return nil
}

// check compiles a script, answering NO with the first error and its
// line and column (RFC 5804 §2.6).
func (s *session) check(script string) bool {
	if script == "" {
		s.no("", "the script is empty")
		return false
	}
	if _, err := sieve.Compile([]byte(script), s.srv.cfg.Sieve); err != nil {
		s.no("", err.Error())
		return false
	}
	return true
}

// cmdPutscript: RFC 5804 §2.6.
func (s *session) cmdPutscript(cmd Command) error {
	if !s.args(cmd, 2, 2) || !s.checkName(cmd.Args[0].Str) {
		return nil
	}
	name, script := cmd.Args[0].Str, cmd.Args[1].Str
	if ok, err := s.quota(name, len(script)); !ok || err != nil {
		return err
	}
	if !s.check(script) {
		return nil
	}
	if err := s.srv.cfg.Scripts.PutScript(s.ctx, s.account, name, []byte(script)); err != nil {
		return s.storeError("storing the script", err)
	}
	s.srv.log.Info("managesieve script stored", "user", s.account, "script", name, "size", len(script))
	s.ok("", "Putscript completed")
	return nil
}

// cmdCheckscript: RFC 5804 §2.12; no quota is checked.
func (s *session) cmdCheckscript(cmd Command) error {
	if !s.args(cmd, 1, 1) {
		return nil
	}
	if s.check(cmd.Args[0].Str) {
		s.ok("", "Script is valid")
	}
	return nil
}

// cmdListscripts: RFC 5804 §2.7.
func (s *session) cmdListscripts(cmd Command) error {
	if !s.args(cmd, 0, 0) {
		return nil
	}
	list, err := s.srv.cfg.Scripts.ListScripts(s.ctx, s.account)
	if err != nil {
		return s.storeError("listing scripts", err)
	}
	active := false
	for _, sc := range list {
		s.writeString(sc.Name)
		if sc.Active && !active {
			s.w.WriteString(" ACTIVE")
			active = true
		}
		s.w.WriteString("\r\n")
	}
	s.ok("", "Listscripts completed")
	return nil
}

// cmdSetactive: RFC 5804 §2.8; "" deactivates.
func (s *session) cmdSetactive(cmd Command) error {
	if !s.args(cmd, 1, 1) {
		return nil
	}
	name := cmd.Args[0].Str
	if name != "" && !s.checkName(name) {
		return nil
	}
	if err := s.srv.cfg.Scripts.SetActive(s.ctx, s.account, name); err != nil {
		return s.storeError("activating the script", err)
	}
	s.srv.log.Info("managesieve script activated", "user", s.account, "script", name)
	s.ok("", "Setactive completed")
	return nil
}

// cmdGetscript: RFC 5804 §2.9.
func (s *session) cmdGetscript(cmd Command) error {
	if !s.args(cmd, 1, 1) || !s.checkName(cmd.Args[0].Str) {
		return nil
	}
	script, err := s.srv.cfg.Scripts.GetScript(s.ctx, s.account, cmd.Args[0].Str)
	if err != nil {
		return s.storeError("reading the script", err)
	}
	// Always a literal: a script has line breaks.
	fmt.Fprintf(s.w, "{%d}\r\n", len(script))
	s.w.Write(script)
	s.w.WriteString("\r\n")
	s.ok("", "Getscript completed")
	return nil
}

// cmdDeletescript: RFC 5804 §2.10.
func (s *session) cmdDeletescript(cmd Command) error {
	if !s.args(cmd, 1, 1) || !s.checkName(cmd.Args[0].Str) {
		return nil
	}
	if err := s.srv.cfg.Scripts.DeleteScript(s.ctx, s.account, cmd.Args[0].Str); err != nil {
		return s.storeError("deleting the script", err)
	}
	s.ok("", "Deletescript completed")
	return nil
}

// cmdRenamescript: RFC 5804 §2.11.
func (s *session) cmdRenamescript(cmd Command) error {
	if !s.args(cmd, 2, 2) || !s.checkName(cmd.Args[0].Str) || !s.checkName(cmd.Args[1].Str) {
		return nil
	}
	if err := s.srv.cfg.Scripts.RenameScript(s.ctx, s.account, cmd.Args[0].Str, cmd.Args[1].Str); err != nil {
		return s.storeError("renaming the script", err)
	}
	s.ok("", "Renamescript completed")
	return nil
}
