package server

// frontendSet holds one server per protocol; a protocol's two listeners (plain
// and implicit TLS) share it.
type frontendSet struct {
	byKey map[string]frontend
}

func (f frontendSet) forKey(key string) (frontend, bool) {
	fe := f.byKey[key]
	implicit := key == "[submission] listen_tls" || key == "[imap] listen_tls" || key == "[pop3] listen_tls"
	return fe, implicit
}

// frontends builds the protocol servers from the config.
func (s *Server) frontends() frontendSet {
	set := frontendSet{byKey: map[string]frontend{}}
	return set
}
