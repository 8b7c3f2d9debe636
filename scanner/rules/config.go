package rules

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/spf13/viper"
	"github.com/zricethezav/gitleaks/v8/config"
)

// Config is a loaded gitleaks configuration.
type Config struct {
	cfg  config.Config
	path string
}

// gitleaks reads configurations through viper's process-wide instance and a
// package-level [extend] depth counter; loadMu keeps loads one at a time.
// gitleaks never resets that counter, so a configuration that extends
// another can be loaded once per process.
var loadMu sync.Mutex

// Default returns gitleaks' default configuration (v8.30.1).
func Default() (*Config, error) {
	return load(func(v *viper.Viper) error {
		return v.ReadConfig(strings.NewReader(config.DefaultConfig))
	}, "")
}

// Load reads a .gitleaks.toml at path. Its [extend] section may pull in the
// default rules (useDefault = true) or another file.
func Load(path string) (*Config, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("reading gitleaks config: %w", err)
	}
	c, err := load(func(v *viper.Viper) error {
		v.SetConfigFile(path)
		return v.ReadInConfig()
	}, path)
	if err != nil {
		return nil, fmt.Errorf("loading gitleaks config %q: %w", path, err)
	}
	return c, nil
}

func load(read func(*viper.Viper) error, path string) (c *Config, err error) {
	loadMu.Lock()
	defer loadMu.Unlock()
	defer func() {
		// gitleaks compiles rule patterns with MustCompile.
		if p := recover(); p != nil {
			c, err = nil, fmt.Errorf("invalid rule: %v", p)
		}
	}()
	v := viper.GetViper()
	v.SetConfigType("toml")
	if err := read(v); err != nil {
		return nil, err
	}
	var vc config.ViperConfig
	if err := v.Unmarshal(&vc); err != nil {
		return nil, err
	}
	taken := takeStopwords(&vc)
	cfg, err := vc.Translate()
	if err != nil {
		return nil, err
	}
	putStopwords(&cfg, taken)
	return &Config{cfg: cfg, path: path}, nil
}

// stopwords are a rule's allowlist's stop words, set aside.
type stopwords struct {
	rule, description string
	words             []string
}

// takeStopwords moves the stop words out of the rules' "OR" allowlists
// before Translate, which would build an Aho-Corasick trie of them:
// generic-api-key's 1,447 cost 38-55 ms, a third of loading the default
// configuration and of starting every scan (issue 15). putStopwords gives
// them back as allowlists of their own, which gitleaks searches one word
// after another: a few milliseconds for the few hundred candidate secrets a
// large scan checks. Under "OR" an allowlist allows what any of its checks
// allows, so its stop words may stand apart; "AND" allowlists keep theirs.
// Each allowlist keeps its first word, so Translate still checks it whole.
func takeStopwords(vc *config.ViperConfig) []stopwords {
	var taken []stopwords
	// take sets aside one allowlist's stop words (by its fields: gitleaks
	// does not export its type).
	take := func(id, description, condition string, words *[]string) {
		switch strings.ToUpper(condition) {
		case "", "OR", "||":
			if len(*words) > 1 {
				taken = append(taken, stopwords{id, description, (*words)[1:]})
				*words = (*words)[:1]
			}
		}
	}
	for i := range vc.Rules {
		r := &vc.Rules[i]
		if a := r.AllowList; a != nil {
			take(r.ID, a.Description, a.Condition, &a.StopWords)
		}
		for _, a := range r.Allowlists {
			take(r.ID, a.Description, a.Condition, &a.StopWords)
		}
	}
	return taken
}

// putStopwords gives back what takeStopwords took, lowered and without
// repeats, as gitleaks' own validation leaves them.
func putStopwords(cfg *config.Config, taken []stopwords) {
	for _, t := range taken {
		rule, ok := cfg.Rules[t.rule]
		if !ok {
			continue
		}
		words := make([]string, len(t.words))
		for i, w := range t.words {
			words[i] = strings.ToLower(w)
		}
		slices.Sort(words)
		rule.Allowlists = append(rule.Allowlists, &config.Allowlist{
			Description:    t.description,
			MatchCondition: config.AllowlistMatchOr,
			StopWords:      slices.Compact(words),
		})
		cfg.Rules[t.rule] = rule
	}
}

// AddIgnoreFile reads a .gitleaksignore: one fingerprint a line
// (path:rule-id:line, or commit:path:rule-id:line, which scans of files
// never match), # comments.
func (r *Rules) AddIgnoreFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	defer f.Close()
	return r.addIgnore(f, path)
}

func (r *Rules) addIgnore(rd io.Reader, name string) error {
	s := bufio.NewScanner(rd)
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		parts := strings.Split(line, ":")
		switch len(parts) {
		case 3:
			parts[0] = strings.ReplaceAll(parts[0], `\`, "/")
		case 4:
			parts[1] = strings.ReplaceAll(parts[1], `\`, "/")
		default:
			continue
		}
		r.ignore[strings.Join(parts, ":")] = true
	}
	if err := s.Err(); err != nil {
		return fmt.Errorf("reading %s: %w", name, err)
	}
	return nil
}
