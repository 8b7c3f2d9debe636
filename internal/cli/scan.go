package cli

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/secretgate/secretgate/internal/ghactions"
	"github.com/secretgate/secretgate/internal/gitlabci"
	"github.com/secretgate/secretgate/internal/report"
	"github.com/secretgate/secretgate/scanner"
	"github.com/secretgate/secretgate/scanner/git"
	"github.com/secretgate/secretgate/scanner/image"
	"github.com/secretgate/secretgate/scanner/rules"
	"github.com/secretgate/secretgate/scanner/staged"
)

// ScanOptions is what `secretgate scan` was asked to do.
type ScanOptions struct {
	Targets  []string
	Format   string
	Reports  []string // FORMAT=PATH
	Config   string   // a .gitleaks.toml; "" to discover one or use the defaults
	ExitCode int
	Quiet    bool
	NoColor  bool
	Secrets  SecretOptions

	Strict          bool // incomplete targets are exit 2
	MaxArchiveDepth int
	NoBinaries      bool

	Staged         bool     // scan what the git index holds, as a commit will record it
	ExtraTargets   []string // --target: targets given as flags (the action's input)
	FailOnFindings bool

	LogOpts     string // git: targets: git log arguments
	SinceCommit string // git: targets: REV..HEAD for every ref

	Platform         string // one platform of a multi-platform image
	InsecureRegistry bool
	RegistryUsername string
	PasswordStdin    bool

	Baseline      string // a previous JSON report: its fingerprints are not reported again
	WriteBaseline string // write every finding as a baseline and succeed
	NoAnnotations bool   // no GitHub annotations or job summary inside GitHub Actions

	IO     IO
	Getenv Getenv
}

func newScanCmd(stdio IO, getenv Getenv) *cobra.Command {
	opts := &ScanOptions{IO: stdio, Getenv: getenv}
	cmd := &cobra.Command{
		Use:   "scan [TARGET]...",
		Short: "Find secrets in files, directories, images, git history and standard input",
		Long: `Scan files, directories (walked without following symbolic links), standard
input (-), container images (docker://REF, docker-daemon:REF,
docker-archive:PATH, oci:DIR, oci-archive:PATH) and git history (git:PATH;
in CI the commits the pull or merge request or the push adds) with the
gitleaks v8 default rules, or a .gitleaks.toml (--config, or the one of the
directory or repository scanned), and with exact matching of known secret
values in every encoding (--secret, --secrets-file, --known-env).

Whatever is not fully read is said (stats.incomplete); --strict makes it exit 2.

Exit status: 0 when nothing is found, 1 (or --exit-code) on findings, 2 when
the scan could not be done or its result cannot be trusted.`,
		Example: `  secretgate scan .
  secretgate scan --format json --report json=findings.json ./build
  git diff | secretgate scan -
  secretgate scan --known-env DB_PASSWORD ./dist
  secretgate scan git:. --log-opts "main..HEAD"
  secretgate scan --strict docker-archive:build/app.tar`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := bindEnv(cmd, getenv); err != nil {
				return err
			}
			opts.Targets = append(args, opts.ExtraTargets...)
			if opts.Staged && len(opts.Targets) > 0 {
				return usageError("--staged scans the git index: name no targets")
			}
			if len(opts.Targets) == 0 && !opts.Staged {
				opts.Targets = []string{"."}
			}
			return runScan(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.Format, "format", "f", "text", "output format on stdout: "+strings.Join(report.Formats, ", "))
	f.StringArrayVar(&opts.Reports, "report", nil, "also write a report, FORMAT=PATH (repeatable)")
	f.StringVarP(&opts.Config, "config", "c", "", "gitleaks configuration (.gitleaks.toml); GITLEAKS_CONFIG is read too")
	f.IntVar(&opts.ExitCode, "exit-code", ExitFindings, "exit status when there are findings")
	f.BoolVar(&opts.FailOnFindings, "fail-on-findings", true, "exit with --exit-code when there are findings; false reports them and exits 0")
	f.BoolVar(&opts.Staged, "staged", false, "scan the files staged in the git index, as the next commit will record them (for a pre-commit hook)")
	f.StringArrayVar(&opts.ExtraTargets, "target", nil, "a target, as an argument would name it (repeatable)")
	f.BoolVarP(&opts.Quiet, "quiet", "q", false, "print no progress and no summary on stderr")
	f.BoolVar(&opts.NoColor, "no-color", false, "never colour the text output")
	f.BoolVar(&opts.Strict, "strict", false, "exit 2 when anything could not be fully scanned (a limit, a corrupt or encrypted member)")
	f.IntVar(&opts.MaxArchiveDepth, "max-archive-depth", 5, "how many archives deep to open members; 0 leaves archives closed")
	f.BoolVar(&opts.NoBinaries, "no-binaries", false, "do not read binary content (its printable runs), as gitleaks dir does")
	f.StringVar(&opts.LogOpts, "log-opts", "", "git: targets: git log arguments, a revision range and limiting options (\"main..HEAD\")")
	f.StringVar(&opts.SinceCommit, "since-commit", "", "git: targets: scan what every ref added since REV (REV..HEAD for every ref)")
	f.StringVar(&opts.Platform, "platform", "", "scan only this platform of a multi-platform image (linux/amd64); default: all")
	f.BoolVar(&opts.InsecureRegistry, "insecure-registry", false, "allow plain HTTP registries for docker:// targets")
	f.StringVar(&opts.RegistryUsername, "registry-username", "", "user name for the registry of docker:// targets")
	f.BoolVar(&opts.PasswordStdin, "registry-password-stdin", false, "read the registry password from standard input")
	f.StringVar(&opts.Baseline, "baseline", "", "a previous JSON report; findings with its fingerprints are not reported")
	f.StringVar(&opts.WriteBaseline, "write-baseline", "", "write every finding to this file as a baseline and exit 0")
	f.BoolVar(&opts.NoAnnotations, "no-annotations", false, "inside GitHub Actions, write no annotations and no job summary")
	addSecretFlags(f, &opts.Secrets, true)
	f.BoolVar(&opts.Secrets.Previous, "previous-versions", false, "also look for the previous version of each --secret, where the store keeps one (AWSPREVIOUS, Vault KV v2, Key Vault and Secret Manager versions), reported as known:NAME@previous: a rotated value that may not be revoked yet")
	return cmd
}

type reportSpec struct{ format, path string }

func parseReports(specs []string) ([]reportSpec, error) {
	var out []reportSpec
	for _, s := range specs {
		format, path, ok := strings.Cut(s, "=")
		if !ok || path == "" {
			return nil, usageError("--report %q: want FORMAT=PATH", s)
		}
		if !report.Known(format) {
			return nil, usageError("--report %q: unknown format %q (want one of %s)", s, format, strings.Join(report.Formats, ", "))
		}
		out = append(out, reportSpec{format, path})
	}
	return out, nil
}

func runScan(ctx context.Context, opts *ScanOptions) error {
	if opts.ExitCode < 0 || opts.ExitCode > 125 || opts.ExitCode == ExitError {
		return usageError("--exit-code %d: want 0 to 125, and not 2 (which says the scan could not be trusted)", opts.ExitCode)
	}
	if !report.Known(opts.Format) {
		return usageError("--format %q: want one of %s", opts.Format, strings.Join(report.Formats, ", "))
	}
	reports, err := parseReports(opts.Reports)
	if err != nil {
		return err
	}
	sources, dirs, err := scanSources(opts)
	if err != nil {
		return err
	}
	detector, err := loadRules(ctx, opts, dirs)
	if err != nil {
		return &exitError{code: ExitError, err: err}
	}
	detectors := []scanner.Detector{detector}
	warn := warner(opts.IO.Err)
	known, err := loadKnown(ctx, &opts.Secrets, opts.Getenv, opts.IO.Lookup, warn)
	if err != nil {
		return err
	}
	if known != nil {
		detectors = append(detectors, known)
	}

	ignored, err := loadIgnored(opts, dirs, warn)
	if err != nil {
		return err
	}
	key, err := fingerprintKey(opts, dirs)
	if err != nil {
		return err
	}

	if opts.MaxArchiveDepth < 0 {
		return usageError("--max-archive-depth %d: want 0 or more", opts.MaxArchiveDepth)
	}
	progress := &scanner.Progress{}
	stop := showProgress(opts, progress)
	start := time.Now()
	limits := scanner.Limits{MaxDepth: opts.MaxArchiveDepth, NoArchives: opts.MaxArchiveDepth == 0, SkipBinaries: opts.NoBinaries}
	scanOpts := scanner.Options{Warn: warn, Progress: progress, Limits: limits, FingerprintKey: key}
	if opts.Quiet {
		scanOpts.Note = func(error) {} // per-member notes; what was not read is still said
	}
	res, err := scanner.Scan(ctx, sources, detectors, scanOpts)
	stop()
	if err != nil {
		return &exitError{code: ExitError, err: err}
	}
	root, _ := os.Getwd()
	rep := &report.Report{
		Root:  root,
		Stats: res.Stats, Targets: opts.Targets, Incomplete: res.Incomplete, Start: start, End: time.Now(), Version: version,
		CommitSHA:     cmp.Or(opts.Getenv("CI_COMMIT_SHA"), opts.Getenv("GITHUB_SHA")),
		RepositoryURI: repositoryURI(opts.Getenv),
	}
	if opts.WriteBaseline != "" {
		rep.Findings = res.Findings
		if err := writeReportFile(reportSpec{"json", opts.WriteBaseline}, rep); err != nil {
			return &exitError{code: ExitError, err: err}
		}
		fmt.Fprintf(opts.IO.Err, "secretgate: wrote %s to the baseline %s\n", plural(len(res.Findings), "finding"), opts.WriteBaseline)
		return nil
	}
	for _, f := range res.Findings {
		if ignored[f.Fingerprint] {
			rep.Baselined++
			continue
		}
		rep.Findings = append(rep.Findings, f)
	}
	if err := writeOutputs(opts, rep, reports); err != nil {
		return err
	}
	if !opts.Quiet {
		baselined := ""
		if rep.Baselined > 0 {
			baselined = fmt.Sprintf(" (%d more in the baseline or ignore file)", rep.Baselined)
		}
		fmt.Fprintf(opts.IO.Err, "secretgate: %s%s in %d files (%s) in %s\n",
			plural(len(rep.Findings), "finding"), baselined, res.Stats.Files, humanBytes(res.Stats.Bytes),
			(time.Duration(res.Stats.DurationMS) * time.Millisecond).String())
	}
	if len(res.Failed) > 0 {
		var errs []error
		for _, f := range res.Failed {
			errs = append(errs, f)
		}
		return &exitError{code: ExitError, err: errors.Join(errs...)}
	}
	if len(res.Incomplete) > 0 {
		fmt.Fprintf(opts.IO.Err, "secretgate: warning: %s not fully scanned: the result is no proof that they are clean\n",
			plural(len(res.Incomplete), "content"))
		if opts.Strict {
			return &exitError{code: ExitError, err: errors.New("--strict: the scan was incomplete")}
		}
	}
	if len(rep.Findings) > 0 && opts.FailOnFindings {
		return &exitError{code: opts.ExitCode}
	}
	return nil
}

// writeOutputs writes the results where they go: stdout in the chosen
// format (inside a collapsible section in GitLab CI), the report files, and
// inside GitHub Actions annotations (on stderr, so stdout stays parseable)
// and the job summary.
func writeOutputs(opts *ScanOptions, rep *report.Report, reports []reportSpec) error {
	color := opts.IO.OutTTY && !opts.NoColor && opts.Getenv("NO_COLOR") == ""
	end := func() {}
	if opts.Format == "text" && gitlabci.InJob(opts.Getenv) && len(rep.Findings) > 0 {
		end = gitlabci.Section(opts.IO.Out, "secretgate_findings", "secretgate: "+plural(len(rep.Findings), "finding"), false, time.Now)
	}
	if err := report.Write(opts.IO.Out, opts.Format, rep, report.Options{Color: color}); err != nil {
		return &exitError{code: ExitError, err: fmt.Errorf("writing results: %w", err)}
	}
	end()
	for _, r := range reports {
		if err := writeReportFile(r, rep); err != nil {
			return &exitError{code: ExitError, err: err}
		}
	}
	// Annotations go to stderr, so stdout stays parseable.
	step := ghactions.New(opts.IO.Err, opts.Getenv)
	if step.InActions() && !opts.NoAnnotations {
		for _, a := range report.Annotations(rep) {
			step.Annotate(a)
		}
		if err := step.Err(); err != nil {
			return &exitError{code: ExitError, err: fmt.Errorf("writing annotations: %w", err)}
		}
		if opts.Getenv("GITHUB_STEP_SUMMARY") != "" {
			if err := step.AppendSummary(report.Summary(rep)); err != nil {
				return &exitError{code: ExitError, err: fmt.Errorf("writing the job summary: %w", err)}
			}
		}
	}
	return nil
}

// loadIgnored returns the fingerprints not to report: those of the
// --baseline report, and those listed in .secretgateignore files (in the
// working directory and at the top of each directory scanned), one a line
// with a # comment saying why.
func loadIgnored(opts *ScanOptions, dirs []string, warn func(error)) (map[string]bool, error) {
	ignored := map[string]bool{}
	if opts.Baseline != "" {
		f, err := os.Open(opts.Baseline)
		if err != nil {
			return nil, usageError("--baseline %q: %v", opts.Baseline, unwrapPath(err))
		}
		base, err := report.ReadJSON(f)
		f.Close()
		if err != nil {
			return nil, usageError("--baseline %q: not a secretgate JSON report: %v", opts.Baseline, err)
		}
		if base.FormatVersion < report.Version {
			warn(hinted{fmt.Errorf("--baseline %q has version %d fingerprints, which match no finding of this version", opts.Baseline, base.FormatVersion),
				"write the baseline again: secretgate scan --write-baseline " + opts.Baseline + " (README: Fingerprints)"})
		}
		for _, b := range base.Findings {
			ignored[b.Fingerprint] = true
		}
	}
	for _, p := range ignoreFiles(dirs, ".secretgateignore") {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, usageError("reading %s: %v", p, unwrapPath(err))
		}
		for n, line := range strings.Split(string(data), "\n") {
			fp, reason, _ := strings.Cut(line, "#")
			fp = strings.TrimSpace(fp)
			if fp == "" {
				continue
			}
			if !isFingerprint(fp) {
				return nil, usageError("%s:%d: %q is not a fingerprint (16 hex digits)", p, n+1, fp)
			}
			if strings.TrimSpace(reason) == "" {
				warn(fmt.Errorf("%s:%d: fingerprint %s has no # reason", p, n+1, fp))
			}
			ignored[fp] = true
		}
	}
	return ignored, nil
}

// KeyFile is the name of the file that holds a repository's fingerprint
// key, kept beside .secretgateignore and the baseline.
const KeyFile = ".secretgate.key"

// fingerprintKey finds the fingerprint key: SECRETGATE_FINGERPRINT_KEY (a
// CI secret), else a .secretgate.key file in the working directory or at
// the top of a directory scanned or of its git work tree. With
// --write-baseline and no key, a new key is written beside the baseline.
func fingerprintKey(opts *ScanOptions, dirs []string) ([]byte, error) {
	if k := opts.Getenv("SECRETGATE_FINGERPRINT_KEY"); k != "" {
		if len(k) < 16 {
			return nil, usageError("SECRETGATE_FINGERPRINT_KEY: want at least 16 characters")
		}
		return []byte(k), nil
	}
	if files := ignoreFiles(dirs, KeyFile); len(files) > 0 {
		p := files[0] // the nearest: the working directory's, then the targets'
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, usageError("reading %s: %v", p, unwrapPath(err))
		}
		k := strings.TrimSpace(string(data))
		if len(k) < 16 {
			return nil, usageError("%s: want a key of at least 16 characters", p)
		}
		return []byte(k), nil
	}
	if opts.WriteBaseline == "" {
		return nil, nil
	}
	p := filepath.Join(filepath.Dir(opts.WriteBaseline), KeyFile)
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	k := hex.EncodeToString(raw)
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, &exitError{code: ExitError, err: fmt.Errorf("writing the fingerprint key %s: %w", p, unwrapPath(err))}
	}
	_, err = fmt.Fprintf(f, "%s\n", k)
	if err = errors.Join(err, f.Close()); err != nil {
		return nil, &exitError{code: ExitError, err: fmt.Errorf("writing the fingerprint key %s: %w", p, err)}
	}
	fmt.Fprintf(opts.IO.Err, "secretgate: wrote a new fingerprint key to %s: commit it beside the baseline, or keep it as the CI secret SECRETGATE_FINGERPRINT_KEY\n", p)
	return []byte(k), nil
}

func isFingerprint(s string) bool {
	if len(s) != 16 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// scanSources opens every target, so that a typo fails before anything is
// scanned. It also returns where configuration files (.gitleaks.toml,
// .gitleaksignore, .secretgateignore, .secretgate.key) are looked for
// besides the working directory: each path target's directory (a file's
// own), and the top of the git work tree that holds it, as the gitleaks
// CLI finds a repository's configuration.
func scanSources(opts *ScanOptions) ([]scanner.Source, []string, error) {
	var sources []scanner.Source
	var dirs []string
	if opts.Staged {
		top := workTreeTop(".")
		if top == "" {
			return nil, nil, usageError("--staged: not inside a git repository (run it in a work tree, as a pre-commit hook does)")
		}
		sources = append(sources, staged.Index{})
		dirs = append(dirs, top)
	}
	logOpts, err := splitWords(opts.LogOpts)
	if err != nil {
		return nil, nil, usageError("--log-opts: %v", err)
	}
	open := scanner.OpenOptions{Stdin: opts.IO.In, Image: image.Options{
		Platform: opts.Platform, Insecure: opts.InsecureRegistry, Username: opts.RegistryUsername,
		Getenv: opts.Getenv, Workers: 4,
	}, Git: git.Options{LogOpts: logOpts, SinceCommit: opts.SinceCommit, Getenv: opts.Getenv}}
	if opts.PasswordStdin {
		pw, err := io.ReadAll(io.LimitReader(opts.IO.In, 64<<10))
		if err != nil {
			return nil, nil, usageError("--registry-password-stdin: %v", err)
		}
		open.Image.Password = strings.TrimRight(string(pw), "\r\n")
		open.Stdin = nil // standard input is taken
	}
	stdin := 0
	for _, t := range opts.Targets {
		if t == "-" {
			if stdin++; stdin > 1 || open.Stdin == nil {
				return nil, nil, usageError("standard input is taken twice (the target -, or --registry-password-stdin)")
			}
		}
		src, err := scanner.Open(t, open)
		if err != nil {
			return nil, nil, &exitError{code: ExitError, err: hinted{err, imageHint(t)}}
		}
		p := t
		if rest, ok := strings.CutPrefix(t, "git:"); ok && !fileExists(t) {
			p = rest // history: the repository's own configuration applies
		}
		if info, err := os.Stat(p); err == nil {
			dir := p
			if !info.IsDir() {
				dir = filepath.Dir(t)
			}
			dirs = append(dirs, dir)
			if top := workTreeTop(dir); top != "" {
				dirs = append(dirs, top)
			}
		}
		sources = append(sources, src)
	}
	return sources, dirs, nil
}

// imageHint helps with a target that was meant as an image.
func imageHint(target string) string {
	if image.IsTarget(target) || strings.Contains(target, "://") {
		return "image targets: " + scanner.ImageTransports + "; history: git:PATH"
	}
	return ""
}

// loadRules loads the gitleaks configuration as the gitleaks CLI finds it:
// --config, then GITLEAKS_CONFIG, then .gitleaks.toml at the top of the
// first directory scanned, then the defaults. .gitleaksignore files are read
// from the working directory and from the top of each directory scanned.
func loadRules(ctx context.Context, opts *ScanOptions, dirs []string) (*rules.Rules, error) {
	path := opts.Config
	if path == "" {
		path = opts.Getenv("GITLEAKS_CONFIG")
	}
	for _, dir := range dirs {
		if p := filepath.Join(dir, ".gitleaks.toml"); path == "" && fileExists(p) {
			path = p
		}
	}
	var cfg *rules.Config
	var err error
	if path != "" {
		cfg, err = rules.Load(path)
	} else {
		cfg, err = rules.Default()
	}
	if err != nil {
		return nil, err
	}
	r := rules.New(ctx, cfg, rules.Options{})
	for _, p := range ignoreFiles(dirs, ".gitleaksignore") {
		if err := r.AddIgnoreFile(p); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// defaultRules returns gitleaks' default rules, for masking.
func defaultRules(ctx context.Context) (*rules.Rules, error) {
	cfg, err := rules.Default()
	if err != nil {
		return nil, err
	}
	return rules.New(ctx, cfg, rules.Options{}), nil
}

// ignoreFiles returns the files called name in the working directory and
// at the top of each directory scanned, each once.
func ignoreFiles(dirs []string, name string) []string {
	var files []string
	seen := map[string]bool{}
	for _, dir := range append([]string{"."}, dirs...) {
		p := filepath.Clean(filepath.Join(dir, name))
		abs, err := filepath.Abs(p)
		if err != nil {
			abs = p
		}
		// A directory may come twice, relative and as a work tree's top.
		if !seen[abs] && fileExists(p) {
			seen[abs] = true
			files = append(files, p)
		}
	}
	return files
}

// repositoryURI is the CI system's address of the repository scanned.
func repositoryURI(getenv Getenv) string {
	if u := getenv("CI_PROJECT_URL"); u != "" {
		return u
	}
	if server, repo := getenv("GITHUB_SERVER_URL"), getenv("GITHUB_REPOSITORY"); server != "" && repo != "" {
		return server + "/" + repo
	}
	return ""
}

// workTreeTop returns the top of the git work tree holding dir (where a
// .git directory or file is), or "".
func workTreeTop(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	for d := abs; ; d = filepath.Dir(d) {
		if _, err := os.Lstat(filepath.Join(d, ".git")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

func fileExists(p string) bool {
	info, err := os.Stat(p)
	return err == nil && info.Mode().IsRegular()
}

// writeReportFile writes a report next to its final path and renames it
// into place, so a reader never sees half a report.
func writeReportFile(r reportSpec, rep *report.Report) error {
	dir := filepath.Dir(r.path)
	tmp, err := os.CreateTemp(dir, ".secretgate-report-*")
	if err != nil {
		return fmt.Errorf("writing report %q: %w", r.path, unwrapPath(err))
	}
	defer os.Remove(tmp.Name())
	if err := report.Write(tmp, r.format, rep, report.Options{}); err != nil {
		tmp.Close()
		return fmt.Errorf("writing report %q: %w", r.path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("writing report %q: %w", r.path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing report %q: %w", r.path, err)
	}
	if err := os.Rename(tmp.Name(), r.path); err != nil {
		return fmt.Errorf("writing report %q: %w", r.path, unwrapPath(err))
	}
	return nil
}

// showProgress prints a progress line on a terminal's stderr once a scan
// has run for a second, and returns a function that clears it.
func showProgress(opts *ScanOptions, p *scanner.Progress) (stop func()) {
	if opts.Quiet || !opts.IO.ErrTTY {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-done:
			return
		case <-time.After(time.Second):
		}
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			fmt.Fprintf(opts.IO.Err, "\r\x1b[Kscanning: %d files, %s, %s",
				p.Files.Load(), humanBytes(p.Bytes.Load()), plural(int(p.Findings.Load()), "finding"))
			select {
			case <-done:
				fmt.Fprint(opts.IO.Err, "\r\x1b[K")
				return
			case <-tick.C:
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
