package sieve

import (
	"slices"
	"time"
)

// Defaults for zero Options fields.
const (
	DefaultMaxScriptSize   = 1 << 20 // octets of one script
	DefaultMaxNesting      = 32      // blocks, test lists and nested tests; RFC 5228 §2.10.7 asks for 15
	DefaultMaxActions      = 32      // actions a run may take (RFC 5228 §2.10.4)
	DefaultMaxRedirects    = 4       // distinct redirects per message ([sieve] max_redirects)
	DefaultMaxSteps        = 2000000 // work units per run, see Options.MaxSteps
	DefaultMaxVariableSize = 4096    // octets of one variable value (RFC 5229 §6)
	DefaultMaxExpansion    = 1 << 20 // octets of one string once its variables are expanded
	DefaultMaxVariables    = 256     // variables per script scope
	DefaultMaxIncludeDepth = 8       // nested includes (RFC 6609 §3.2)
	DefaultMaxIncludes     = 64      // include commands run per message
	DefaultMaxBodyBytes    = 1 << 20 // octets of body a body test looks at
	DefaultMaxDeduplicates = 64      // duplicate tests run per message

	DefaultVacationPeriod    = 7 * 24 * time.Hour  // RFC 5230 §4.1
	DefaultVacationMaxPeriod = 90 * 24 * time.Hour // RFC 5230 §4.1: more than 30 days
	DefaultDuplicatePeriod   = 12 * time.Hour      // RFC 7352 §3.3 leaves it to the site
	DefaultDuplicateMax      = 7 * 24 * time.Hour
)

// Options are the limits and site settings of compiling and running
// scripts. The zero value of a field means its default. Every limit keeps a
// hostile script or message within a bounded amount of work and memory:
// exceeding one is an error, which makes the message be kept (RFC 5228
// §2.10.6).
type Options struct {
	// MaxScriptSize caps a script's size in octets.
	MaxScriptSize int
	// MaxNesting caps how deep blocks, test lists and tests given to
	// tests nest.
	MaxNesting int
	// MaxActions caps the actions one run takes, implicit keep aside.
	MaxActions int
	// MaxRedirects caps the distinct addresses a message is redirected
	// to (RFC 5228 §4.2: "MUST provide means of limiting").
	MaxRedirects int
	// MaxSteps caps the work of one run, counted in steps rather than
	// time so that a run is deterministic: one step per command or test
	// run, and one per 64 octets a comparison, expansion or body scan
	// goes through.
	MaxSteps int
	// MaxVariableSize caps one variable's value in octets; longer values
	// are cut at a character boundary (RFC 5229 §6 allows truncation).
	MaxVariableSize int
	// MaxExpansion caps one string once its variables are expanded: a
	// string of many references to long variables is an error, not a
	// large allocation.
	MaxExpansion int
	// MaxVariables caps the variables of one script, and the global ones.
	MaxVariables int
	// MaxIncludeDepth caps how deep includes nest; MaxIncludes caps the
	// include commands run for one message.
	MaxIncludeDepth, MaxIncludes int
	// MaxBodyBytes caps the octets of decoded text or raw body the body
	// test compares; the rest of a larger body is not looked at.
	MaxBodyBytes int
	// MaxDuplicateTests caps the duplicate tests run for one message.
	MaxDuplicateTests int

	// Separator splits a local part into user and detail for the
	// subaddress extension (RFC 5233 §4); default "+".
	Separator string

	// VacationPeriod is the reply period when :days and :seconds are
	// absent; VacationMinPeriod and VacationMaxPeriod bound the periods a
	// script may ask for (RFC 5230 §4.1, RFC 6131 §2). :days is at least
	// one day whatever the minimum; :seconds may go below, down to
	// VacationMinPeriod (default 0: a reply to every message, which the
	// rules of VacationEligible still keep from looping).
	VacationPeriod, VacationMinPeriod, VacationMaxPeriod time.Duration
	// DuplicatePeriod is how long the duplicate test remembers an ID when
	// :seconds is absent; DuplicateMaxPeriod bounds :seconds (RFC 7352
	// §3.3).
	DuplicatePeriod, DuplicateMaxPeriod time.Duration

	// Extensions lists the capabilities scripts may require; nil means
	// all that Extensions() returns.
	Extensions []string
}

// withDefaults returns o with every zero field set to its default.
func (o *Options) withDefaults() Options {
	var r Options
	if o != nil {
		r = *o
	}
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&r.MaxScriptSize, DefaultMaxScriptSize)
	def(&r.MaxNesting, DefaultMaxNesting)
	def(&r.MaxActions, DefaultMaxActions)
	def(&r.MaxRedirects, DefaultMaxRedirects)
	def(&r.MaxSteps, DefaultMaxSteps)
	def(&r.MaxVariableSize, DefaultMaxVariableSize)
	def(&r.MaxExpansion, DefaultMaxExpansion)
	def(&r.MaxVariables, DefaultMaxVariables)
	def(&r.MaxIncludeDepth, DefaultMaxIncludeDepth)
	def(&r.MaxIncludes, DefaultMaxIncludes)
	def(&r.MaxBodyBytes, DefaultMaxBodyBytes)
	def(&r.MaxDuplicateTests, DefaultMaxDeduplicates)
	if r.Separator == "" {
		r.Separator = "+"
	}
	dur := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	dur(&r.VacationPeriod, DefaultVacationPeriod)
	dur(&r.VacationMaxPeriod, DefaultVacationMaxPeriod)
	dur(&r.DuplicatePeriod, DefaultDuplicatePeriod)
	dur(&r.DuplicateMaxPeriod, DefaultDuplicateMax)
	r.VacationMinPeriod = max(r.VacationMinPeriod, 0)
	return r
}

// extensions are the capabilities this package implements, in the order
// ManageSieve lists them.
var extensions = []string{
	"fileinto", "reject", "ereject", "envelope", "encoded-character",
	"imap4flags", "copy", "body", "variables", "vacation", "vacation-seconds",
	"relational", "comparator-i;ascii-numeric", "subaddress", "date", "index",
	"mailbox", "include", "spamtest", "spamtestplus", "virustest", "duplicate",
}

// Extensions returns the capability strings scripts may require, for the
// ManageSieve SIEVE capability (RFC 5804 §1.7). The comparators i;octet and
// i;ascii-casemap are always available and not listed (RFC 5228 §2.7.3).
func Extensions() []string { return slices.Clone(extensions) }

// Capabilities returns the capabilities scripts compiled with these
// options may require: Extensions(), or those of o.Extensions this
// package implements. ManageSieve lists them as SIEVE (RFC 5804 §1.7).
func (o *Options) Capabilities() []string {
	var out []string
	for _, ext := range extensions {
		if o == nil || o.enabled(ext) {
			out = append(out, ext)
		}
	}
	return out
}

// enabled reports whether the options allow capability ext.
func (o *Options) enabled(ext string) bool {
	switch ext {
	case "comparator-i;octet", "comparator-i;ascii-casemap":
		return true
	}
	if !slices.Contains(extensions, ext) {
		return false
	}
	return o.Extensions == nil || slices.Contains(o.Extensions, ext)
}
