package inbound

import (
	"postern/mailauth/spf"
	"postern/spam/clientcheck"
)

// The scores of the built-in checks, on rspamd's scale (junk at 6, reject at
// 15 by default), so that rspamd's score adds up with ours. Each alone stays
// below the junk score: it takes several signs to junk a message.
const (
	scoreNoPTR       = 1.5 // no reverse DNS at all
	scorePTRMismatch = 1.0 // PTR names that do not resolve back
	scoreDNSBL       = 4.0 // per list that lists the client
	scoreSPFFail     = 1.5
	scoreSPFSoftFail = 0.5
	scoreSPFPermErr  = 0.5
	scoreDKIMFail    = 1.0 // signatures, none of which verified
	scoreDMARCNone   = 1.0 // failed a p=none policy
	scoreDMARCFail   = 3.0 // failed p=quarantine or p=reject, not enforced
	scoreBayesSpam   = 5.0 // at probability 1, scaled down to 0 at 0.5
	scoreBayesHam    = 3.0 // subtracted at probability 0, scaled to 0 at 0.5
	scoreKnownAddr   = -3.0
	scoreKnownDomain = -1.0
)

var heloScores = map[clientcheck.HELOProblem]float64{
	clientcheck.HELOLiteralMismatch: 1.0,
	clientcheck.HELONotFQDN:         1.5,
	clientcheck.HELOBareIP:          1.5,
	clientcheck.HELOInvalid:         2.0,
	clientcheck.HELOOurs:            4.0,
}

var spfScores = map[spf.Result]float64{
	spf.Fail:      scoreSPFFail,
	spf.SoftFail:  scoreSPFSoftFail,
	spf.PermError: scoreSPFPermErr,
}

// bayesScore maps a spam probability to a score.
func bayesScore(p float64) float64 {
	if p >= 0.5 {
		return scoreBayesSpam * (p - 0.5) * 2
	}
	return -scoreBayesHam * (0.5 - p) * 2
}
