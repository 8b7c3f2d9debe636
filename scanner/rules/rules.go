// Package rules finds secrets with gitleaks v8 rules: the default gitleaks
// configuration, or a .gitleaks.toml that may extend it. It is the only
// package of secretgate that imports gitleaks.
//
// Rules uses gitleaks' own detector for every decision a rule makes (regex,
// secret group, entropy, allowlists, stopwords, decoding, gitleaks:allow), and
// adds one thing: it proves from each rule's regex which lines around a
// keyword a match can reach, and runs the rule only there (see plan). That
// finds what gitleaks finds at a fraction of its cost.
package rules

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	re2 "github.com/wasilibs/go-re2"
	"github.com/zricethezav/gitleaks/v8/config"
	gitleaks "github.com/zricethezav/gitleaks/v8/detect"
	"github.com/zricethezav/gitleaks/v8/report"

	"github.com/secretgate/secretgate/scanner/detect"
)

// DecodeDepth is how many rounds of decoding (base64, hex, percent,
// unicode escapes) run over text, as the gitleaks CLI does by default.
const DecodeDepth = 5

// Rules is a detect.Detector for a gitleaks configuration.
type Rules struct {
	cfg        config.Config
	rules      []*rule
	pathRules  []*rule // rules with a path and no regex: once per content
	always     []int   // rules with a regex and no keywords: every chunk
	keywords   *keywordSet
	byKeyword  [][]int // keyword index -> rules that have it
	maxLines   int     // the largest finite linesAfter, for decoded text
	ignore     map[string]bool
	configPath string
	depth      int
	placePaths []pathSet // global allowlists' paths that name places, by index
	typePaths  []pathSet // those that name a kind of file by its extension

	dirs sync.Map // directory path -> bool (allowlisted)
}

var _ detect.Detector = (*Rules)(nil)

type rule struct {
	id     string
	rule   config.Rule
	plan   plan
	prefix []string // short keywords that begin tokens, for redaction
	// allow are the allowlists, global and the rule's own, that decide a
	// finding by its secret or match alone (see dropped).
	allow []*config.Allowlist

	// The matchers, built by compile on first use: a scan pays only for the
	// rules its content may need (a pre-commit hook on a few files, most of
	// the 200), and workers build different rules at once.
	once     sync.Once
	build    func(*rule)
	detector *gitleaks.Detector // decodes, DecodeDepth rounds
	plain    *gitleaks.Detector // does not decode: for text with nothing to decode
	fast     *re2.Regexp        // the rule's regex in RE2, to find candidates fast; nil if RE2 rejects it
}

// compiled returns ru with its matchers built.
func (ru *rule) compiled() *rule {
	ru.once.Do(func() { ru.build(ru) })
	return ru
}

// Options configures New.
type Options struct {
	// IgnoreAllowComments makes findings on lines marked gitleaks:allow count.
	IgnoreAllowComments bool
	// DecodeDepth overrides the DecodeDepth default when positive.
	DecodeDepth int
}

// New builds a detector for cfg (see Default and Load).
func New(ctx context.Context, cfg *Config, opts Options) *Rules {
	depth := DecodeDepth
	if opts.DecodeDepth > 0 {
		depth = opts.DecodeDepth
	}
	r := &Rules{cfg: cfg.cfg, ignore: map[string]bool{}, configPath: cfg.path, depth: depth}
	var keywords []string
	index := map[string]int{}
	ids := make([]string, 0, len(cfg.cfg.Rules))
	for id := range cfg.cfg.Rules {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	contentAllowlists := withoutPaths(cfg.cfg.Allowlists)
	for _, id := range ids {
		cr := cfg.cfg.Rules[id]
		one := config.Config{
			Rules:      map[string]config.Rule{id: cr},
			Keywords:   map[string]struct{}{},
			Allowlists: contentAllowlists,
		}
		for _, req := range cr.RequiredRules {
			one.Rules[req.RuleID] = cfg.cfg.Rules[req.RuleID]
		}
		for _, k := range cr.Keywords {
			one.Keywords[k] = struct{}{}
		}
		ru := &rule{id: id, rule: cr, allow: decisive(contentAllowlists, cr.Allowlists), build: func(ru *rule) {
			ru.detector = gitleaks.NewDetectorContext(ctx, one)
			ru.detector.MaxDecodeDepth = depth
			ru.detector.IgnoreGitleaksAllow = opts.IgnoreAllowComments
			ru.plain = gitleaks.NewDetectorContext(ctx, one)
			ru.plain.IgnoreGitleaksAllow = opts.IgnoreAllowComments
			if cr.Regex != nil {
				// RE2 has Go's syntax but rejects a few constructs; those
				// rules simply go without the fast path.
				if fast, err := re2.Compile(cr.Regex.String()); err == nil {
					ru.fast = fast
				}
			}
		}}
		for _, k := range cr.Keywords {
			if len(k) <= 4 && !strings.Contains(id, "generic") {
				ru.prefix = append(ru.prefix, k)
			}
		}
		i := len(r.rules)
		switch {
		case cr.Regex == nil:
			r.pathRules = append(r.pathRules, ru)
			continue
		case len(cr.Keywords) == 0:
			ru.plan = plan{whole: true}
			r.always = append(r.always, i)
		default:
			ru.plan = newPlan(cr.Regex.String(), cr.Keywords)
			if !ru.plan.whole {
				r.maxLines = max(r.maxLines, ru.plan.linesAfter, ru.plan.linesBefore)
			}
		}
		r.rules = append(r.rules, ru)
		for _, k := range cr.Keywords {
			ki, ok := index[k]
			if !ok {
				ki = len(keywords)
				index[k] = ki
				keywords = append(keywords, k)
				r.byKeyword = append(r.byKeyword, nil)
			}
			r.byKeyword[ki] = append(r.byKeyword[ki], i)
		}
	}
	r.placePaths, r.typePaths = splitPaths(cfg.cfg.Allowlists)
	r.keywords = newKeywordSet(keywords)
	return r
}

// Overlap implements detect.Overlapper: gitleaks fragments are about
// 100 KB, so no match of a bounded rule reaches further.
func (r *Rules) Overlap() int { return 128 << 10 }

// decisive returns the allowlists of lists that drop a finding for its
// secret or its match alone, as gitleaks checks a finding against them:
// those whose condition is OR (an AND one also weighs the path or commit)
// and whose regexes do not read the line.
func decisive(lists ...[]*config.Allowlist) []*config.Allowlist {
	var out []*config.Allowlist
	for _, l := range lists {
		for _, a := range l {
			if a.MatchCondition == config.AllowlistMatchOr && a.RegexTarget != "line" && (len(a.Regexes) > 0 || len(a.StopWords) > 0) {
				out = append(out, a)
			}
		}
	}
	return out
}

// withoutPaths returns the global allowlists as the per-window detectors
// need them: Detect already skips every file a global allowlist's paths
// name (as gitleaks does while walking), so "OR" allowlists keep only what
// applies to findings. gitleaks would otherwise match every path pattern
// again for each window.
func withoutPaths(lists []*config.Allowlist) []*config.Allowlist {
	out := make([]*config.Allowlist, 0, len(lists))
	for _, a := range lists {
		if a.MatchCondition == config.AllowlistMatchAnd || len(a.Paths) == 0 {
			out = append(out, a)
			continue
		}
		if len(a.Regexes) == 0 && len(a.StopWords) == 0 && len(a.Commits) == 0 {
			continue
		}
		b := &config.Allowlist{
			Description:    a.Description,
			MatchCondition: a.MatchCondition,
			Commits:        a.Commits,
			RegexTarget:    a.RegexTarget,
			Regexes:        a.Regexes,
			StopWords:      a.StopWords,
		}
		if err := b.Validate(); err != nil {
			out = append(out, a)
			continue
		}
		out = append(out, b)
	}
	return out
}

// toOffset turns gitleaks' line and column, relative to a fragment that
// starts at Data[start], back into an offset within Data. gitleaks counts
// columns from the newline before a line (not after it) on every line but a
// fragment's first.
func toOffset(c *detect.Chunk, start, startLine int, f report.Finding) int {
	if f.StartLine == startLine {
		return start + f.StartColumn - 1
	}
	return c.LineStart(f.StartLine-c.Line) + f.StartColumn - 2
}

// preferSpecific drops a generic rule's finding where a specific rule found
// the same secret on the same line, as gitleaks does within a fragment. The
// dropped entries are cleared, so indexes stay valid.
func preferSpecific(fs []report.Finding) []report.Finding {
	for i := range fs {
		if !strings.Contains(strings.ToLower(fs[i].RuleID), "generic") {
			continue
		}
		for j := range fs {
			if i != j && fs[j].StartLine == fs[i].StartLine && fs[j].RuleID != fs[i].RuleID &&
				!strings.Contains(strings.ToLower(fs[j].RuleID), "generic") &&
				strings.Contains(fs[j].Secret, fs[i].Secret) {
				fs[i] = report.Finding{}
				break
			}
		}
	}
	return fs
}

// tokenPrefix returns the rule keyword that begins secret, when showing it
// reveals nothing: a short, fixed token prefix such as "ghp_" before at
// least eight more characters.
func (ru *rule) tokenPrefix(secret string) string {
	best := ""
	for _, k := range ru.prefix {
		if len(k) > len(best) && len(secret) >= len(k)+8 && strings.EqualFold(secret[:len(k)], k) {
			best = secret[:len(k)]
		}
	}
	return best
}

// pathAllowed reports whether a global allowlist skips the file at p or one
// of its directories, as gitleaks skips them while walking. Patterns that
// name a kind of file by its extension (.png, .pdf, .woff, .bin, .gem) only
// skip binary content: text is scanned whatever its name, as the kind of
// content is told from the content itself.
func (r *Rules) pathAllowed(p string, binary bool) bool {
	if len(r.cfg.Allowlists) == 0 {
		return false
	}
	dir := path.Dir(p)
	if v, ok := r.dirs.Load(dir); ok {
		if v.(bool) {
			return true
		}
	} else {
		allowed := false
		for d := dir; ; d = path.Dir(d) {
			if r.allowlisted(d, r.placePaths) {
				allowed = true
				break
			}
			if d == "." || d == "/" || path.Dir(d) == d {
				break
			}
		}
		r.dirs.Store(dir, allowed)
		if allowed {
			return true
		}
	}
	return r.allowlisted(p, r.placePaths) || binary && r.allowlisted(p, r.typePaths)
}

func (r *Rules) allowlisted(p string, sets []pathSet) bool {
	for _, s := range sets {
		if s.match(p) {
			return true
		}
	}
	return false
}

// pathSet is one allowlist's path patterns: joined into one RE2 pattern,
// as gitleaks joins them, or each on its own where RE2 rejects that.
type pathSet struct {
	fast *re2.Regexp
	all  []interface{ MatchString(string) bool }
}

func (s pathSet) match(p string) bool {
	if s.fast != nil && utf8.ValidString(p) {
		return s.fast.MatchString(p)
	}
	for _, re := range s.all {
		if re.MatchString(p) {
			return true
		}
	}
	return false
}

// splitPaths splits each global allowlist's paths into those that name
// places (directories, file names) and those that name a kind of file by
// its extension alone.
func splitPaths(lists []*config.Allowlist) (place, kind []pathSet) {
	place = make([]pathSet, len(lists))
	kind = make([]pathSet, len(lists))
	for i, a := range lists {
		var ps, ks []string
		for _, p := range a.Paths {
			if extensionOnly(p.String()) {
				ks = append(ks, p.String())
				kind[i].all = append(kind[i].all, p)
			} else {
				ps = append(ps, p.String())
				place[i].all = append(place[i].all, p)
			}
		}
		place[i].fast, kind[i].fast = joinRE2(ps), joinRE2(ks)
	}
	return place, kind
}

// extensionOnly reports whether a path pattern names files by their
// extension alone: (?i)\.(?:png|gif)$ or \.gem$.
func extensionOnly(p string) bool {
	p = strings.TrimPrefix(p, "(?i)")
	return strings.HasPrefix(p, `\.`) && strings.HasSuffix(p, "$") && !strings.Contains(p, "/")
}

func joinRE2(parts []string) *re2.Regexp {
	if len(parts) == 0 {
		return nil
	}
	re, err := re2.Compile("(?:" + strings.Join(parts, "|") + ")")
	if err != nil {
		return nil
	}
	return re
}

// ignored reports whether a .gitleaksignore entry names the finding.
func (r *Rules) ignored(c *detect.Chunk, f report.Finding) bool {
	if len(r.ignore) == 0 {
		return false
	}
	for _, p := range []string{c.FilePath, c.Path} {
		if r.ignore[fmt.Sprintf("%s:%s:%d", p, f.RuleID, f.StartLine)] {
			return true
		}
	}
	return false
}
