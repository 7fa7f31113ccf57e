// Package bayes is the per-account spam classifier: a Bayesian filter over
// the words of a message's header fields and text, trained by what the
// account's user does (moving mail into or out of Junk, sending mail).
//
// Token probabilities follow Gary Robinson's estimate with a prior of 0.5
// and strength 1, and the 150 most telling tokens are combined with Fisher's
// chi-square method, as SpamBayes does: the result is near 0 for ham, near 1
// for spam, and near 0.5 when the evidence is weak or mixed. Tokens are
// stored as 64-bit FNV-1a hashes, so that counts take no space for words
// and the message text is never kept.
package bayes

import (
	"context"
	"math"
	"slices"
	"sync"
)

// Counts are how many spam and ham messages held a token, or, as totals,
// how many spam and ham messages an account has trained.
type Counts struct {
	Spam, Ham uint32
}

// Store keeps the token counts of every account.
type Store interface {
	// Lookup fills counts[i] with the counts of tokens[i] (zero when
	// unknown) and returns the account's totals.
	Lookup(ctx context.Context, account string, tokens []uint64, counts []Counts) (totals Counts, err error)
	// Add adds delta (+1 to learn, -1 to unlearn) to the spam or ham count
	// of every token and to that total, never going below zero.
	Add(ctx context.Context, account string, tokens []uint64, spam bool, delta int) error
}

// Defaults of Classifier.
const (
	// DefaultMinTrained is how many messages of each class an account must
	// have trained before its scores mean anything.
	DefaultMinTrained = 20
	// maxClues is how many tokens decide (SpamBayes max_discriminators).
	maxClues = 150
	// minStrength drops tokens whose probability is within this of 0.5
	// (SpamBayes minimum_prob_strength).
	minStrength = 0.1
)

// Classifier scores and trains messages for accounts.
type Classifier struct {
	Store Store
	// MinTrained is DefaultMinTrained when 0.
	MinTrained int
}

// Score is a classification.
type Score struct {
	// Probability that the message is spam, 0 to 1.
	Probability float64
	// Trained is false while the account has trained too few messages;
	// Probability is then 0.5.
	Trained bool
	// Tokens is the number of distinct tokens of the message; Clues how
	// many of them decided.
	Tokens, Clues int
}

type scratch struct {
	counts []Counts
	probs  []float64
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// Classify scores msg (the whole message, or its header and the start of its
// body) for account.
func (c *Classifier) Classify(ctx context.Context, account string, msg []byte) (Score, error) {
	return c.ClassifyTokens(ctx, account, Tokens(msg))
}

// ClassifyTokens scores a message given as its Tokens.
func (c *Classifier) ClassifyTokens(ctx context.Context, account string, tokens []uint64) (Score, error) {
	s := scratchPool.Get().(*scratch)
	defer scratchPool.Put(s)
	s.counts = slices.Grow(s.counts[:0], len(tokens))[:len(tokens)]
	clear(s.counts)
	totals, err := c.Store.Lookup(ctx, account, tokens, s.counts)
	if err != nil {
		return Score{Probability: 0.5}, err
	}
	score := Score{Probability: 0.5, Tokens: len(tokens)}
	minTrained := c.MinTrained
	if minTrained <= 0 {
		minTrained = DefaultMinTrained
	}
	if int(totals.Spam) < minTrained || int(totals.Ham) < minTrained {
		return score, nil
	}
	score.Trained = true
	nspam, nham := float64(totals.Spam), float64(totals.Ham)
	s.probs = s.probs[:0]
	for _, cnt := range s.counts {
		if cnt.Spam == 0 && cnt.Ham == 0 {
			continue
		}
		// Robinson's f(w) with s=1, x=0.5: the ratio of the token's
		// frequencies in each class, pulled towards 0.5 when rarely seen.
		spamRatio := min(float64(cnt.Spam)/nspam, 1)
		hamRatio := min(float64(cnt.Ham)/nham, 1)
		p := spamRatio / (spamRatio + hamRatio)
		n := float64(cnt.Spam + cnt.Ham)
		f := (0.5 + n*p) / (1 + n)
		if math.Abs(f-0.5) >= minStrength {
			s.probs = append(s.probs, f)
		}
	}
	if len(s.probs) > maxClues {
		slices.SortFunc(s.probs, func(a, b float64) int {
			da, db := math.Abs(a-0.5), math.Abs(b-0.5)
			switch {
			case da > db:
				return -1
			case da < db:
				return 1
			}
			return 0
		})
		s.probs = s.probs[:maxClues]
	}
	score.Clues = len(s.probs)
	if len(s.probs) == 0 {
		return score, nil
	}
	// Fisher's method: how unlikely the probabilities are if the tokens
	// were random, once towards spam and once towards ham.
	var lnHam, lnSpam float64
	for _, f := range s.probs {
		lnSpam += math.Log(1 - f)
		lnHam += math.Log(f)
	}
	df := 2 * len(s.probs)
	spamminess := 1 - chi2Q(-2*lnSpam, df)
	hamminess := 1 - chi2Q(-2*lnHam, df)
	score.Probability = (1 + spamminess - hamminess) / 2
	return score, nil
}

// chi2Q is the probability that a chi-square variable with v (even) degrees
// of freedom is at least x2.
func chi2Q(x2 float64, v int) float64 {
	m := x2 / 2
	term := math.Exp(-m)
	sum := term
	for i := 1; i < v/2; i++ {
		term *= m / float64(i)
		sum += term
	}
	return min(sum, 1)
}

// Learn trains msg as spam or ham for account.
func (c *Classifier) Learn(ctx context.Context, account string, msg []byte, spam bool) error {
	return c.Store.Add(ctx, account, Tokens(msg), spam, 1)
}

// Unlearn takes back an earlier Learn of msg with the same class, as when a
// message trained as spam is moved out of Junk (then Learn it as ham).
func (c *Classifier) Unlearn(ctx context.Context, account string, msg []byte, spam bool) error {
	return c.Store.Add(ctx, account, Tokens(msg), spam, -1)
}

// MemStore is a Store in memory, for tests and as a cache in front of a
// persistent store.
type MemStore struct {
	mu       sync.Mutex
	accounts map[string]*memAccount
}

type memAccount struct {
	mu     sync.RWMutex
	totals Counts
	tokens map[uint64]Counts
}

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore { return &MemStore{accounts: map[string]*memAccount{}} }

func (m *MemStore) account(name string, create bool) *memAccount {
	m.mu.Lock()
	defer m.mu.Unlock()
	a := m.accounts[name]
	if a == nil && create {
		a = &memAccount{tokens: map[uint64]Counts{}}
		m.accounts[name] = a
	}
	return a
}

// Lookup implements Store.
func (m *MemStore) Lookup(_ context.Context, account string, tokens []uint64, counts []Counts) (Counts, error) {
	a := m.account(account, false)
	if a == nil {
		return Counts{}, nil
	}
	a.mu.RLock()
	defer a.mu.RUnlock()
	for i, t := range tokens {
		counts[i] = a.tokens[t]
	}
	return a.totals, nil
}

// Add implements Store.
func (m *MemStore) Add(_ context.Context, account string, tokens []uint64, spam bool, delta int) error {
	a := m.account(account, true)
	a.mu.Lock()
	defer a.mu.Unlock()
	add := func(c *Counts) {
		p := &c.Ham
		if spam {
			p = &c.Spam
		}
		*p = uint32(max(int64(*p)+int64(delta), 0))
	}
	add(&a.totals)
	for _, t := range tokens {
		c := a.tokens[t]
		add(&c)
		if c == (Counts{}) {
			delete(a.tokens, t)
		} else {
			a.tokens[t] = c
		}
	}
	return nil
}
