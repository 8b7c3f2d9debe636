package rules

import (
	"bufio"
	"fmt"
	"io"
	"os"
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
	cfg, err := vc.Translate()
	if err != nil {
		return nil, err
	}
	return &Config{cfg: cfg, path: path}, nil
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
