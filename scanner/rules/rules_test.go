package rules

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/spf13/viper"
	"github.com/zricethezav/gitleaks/v8/config"
	"github.com/zricethezav/gitleaks/v8/detect"

	"github.com/secretgate/secretgate/internal/fixture"
	"github.com/secretgate/secretgate/scanner"
	"github.com/secretgate/secretgate/scanner/files"
)

func defaultRules(t testing.TB) *Rules {
	t.Helper()
	cfg, err := Default()
	if err != nil {
		t.Fatalf("Default: %v", err)
	}
	return New(context.Background(), cfg, Options{})
}

func scan(t testing.TB, r *Rules, text string, chunk int) []scanner.Finding {
	t.Helper()
	res, err := scanner.Scan(context.Background(),
		[]scanner.Source{files.Reader{Label: "-", R: strings.NewReader(text)}},
		[]scanner.Detector{r}, scanner.Options{ChunkSize: chunk})
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	return res.Findings
}

// scanDir scans the directory tree at dir with the default rules.
func scanDir(t testing.TB, dir string) *scanner.Result {
	t.Helper()
	res, err := scanner.Scan(context.Background(), []scanner.Source{files.Path{Root: dir}},
		[]scanner.Detector{defaultRules(t)}, scanner.Options{})
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	return res
}

func keys(fs []scanner.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, fmt.Sprintf("%s:%d:%d", f.Rule, f.Line, f.Column))
	}
	sort.Strings(out)
	return out
}

// corpus is text with planted tokens in the shapes that exercise the
// windows: several per line, split over lines, base64 and percent encoded,
// next to generic assignments, one marked gitleaks:allow, and a key name
// spelled with a folded letter.
func corpus() string {
	pat, aws := fixture.GitHubPAT(11), fixture.AWSAccessKeyID(12)
	var b strings.Builder
	for i := range 300 {
		fmt.Fprintf(&b, "// filler line %d with key words like token and api and auth\n", i)
		switch i % 50 {
		case 3:
			fmt.Fprintf(&b, "export GITHUB_TOKEN=%s\n", pat)
		case 9:
			fmt.Fprintf(&b, "aws_access_key_id = %s\naws_secret = %q\n", aws, fixture.Password(uint64(i), 40))
		case 17:
			fmt.Fprintf(&b, "b64: %s\n", b64(pat))
		case 23:
			fmt.Fprintf(&b, "password =\n  \"%s\"\n", fixture.Password(uint64(i), 32))
		case 31:
			fmt.Fprintf(&b, "ok := %q // gitleaks:allow\n", pat)
		case 37:
			fmt.Fprintf(&b, "url: https://example.com/?token=%s%%3D\n", fixture.Password(uint64(i), 20))
		case 43:
			// A keyword spelled with the Kelvin sign, which gitleaks reads as k.
			fmt.Fprintf(&b, "to\u212aen = \"%s\"\n", fixture.Alnum(uint64(i), 24))
		}
	}
	return b.String()
}

func b64(s string) string {
	const enc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	var out strings.Builder
	for i := 0; i < len(s); i += 3 {
		var n uint32
		k := min(3, len(s)-i)
		for j := 0; j < 3; j++ {
			n <<= 8
			if j < k {
				n |= uint32(s[i+j])
			}
		}
		for j := 0; j < 4; j++ {
			if j <= k {
				out.WriteByte(enc[n>>(18-6*j)&63])
			} else {
				out.WriteByte('=')
			}
		}
	}
	return out.String()
}

// TestSameAsGitleaksDetector checks the windowed detector against gitleaks'
// own detector run over the whole text, as the gitleaks CLI does.
func TestSameAsGitleaksDetector(t *testing.T) {
	text := corpus()
	cfg, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	want := sameAsGitleaks(t, New(context.Background(), cfg, Options{}), cfg, text)
	if len(want) < 5 {
		t.Errorf("gitleaks found only %v: the corpus does not exercise the rules", want)
	}
}

// sameAsGitleaks scans text with r and checks that it finds what gitleaks'
// own detector finds with cfg, by rule and line; it returns what gitleaks
// found.
func sameAsGitleaks(t *testing.T, r *Rules, cfg *Config, text string) []string {
	t.Helper()
	want := gitleaksFinds(t, cfg, text)
	var got []string
	for _, f := range scan(t, r, text, 0) {
		got = append(got, fmt.Sprintf("%s:%d", f.Rule, f.Line))
	}
	sort.Strings(got)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("findings = %v\nwant (gitleaks) %v", got, want)
	}
	return want
}

// gitleaksFinds runs gitleaks' own detector over the whole text, as the
// gitleaks CLI does, and returns "rule:line" for each finding.
func gitleaksFinds(t *testing.T, cfg *Config, text string) []string {
	t.Helper()
	d := detect.NewDetector(cfg.cfg)
	d.MaxDecodeDepth = DecodeDepth
	var want []string
	for _, f := range d.DetectString(text) {
		// A fragment's lines count from 0 unless it says where it starts.
		want = append(want, fmt.Sprintf("%s:%d", f.RuleID, f.StartLine+1))
	}
	sort.Strings(want)
	return want
}

// TestFoldedLettersAsGitleaks: gitleaks lowers text with strings.ToLower
// before it looks for keywords (the Kelvin sign becomes k) and runs a
// rule's case-insensitive regex over the whole text, whose matches may
// spell a keyword with a Kelvin sign or a long s. Neither hides a finding
// from the scan that gitleaks makes.
func TestFoldedLettersAsGitleaks(t *testing.T) {
	cfg, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	r := New(context.Background(), cfg, Options{})
	for _, text := range []string{
		"to\u212aen = \"" + fixture.Alnum(41, 32) + "\"\n",
		"// a note on secrets\nfiller\n\u017fecret = \"" + fixture.Alnum(42, 32) + "\"\n",
		"api_\u212aey: " + fixture.Alnum(43, 24) + "\n",
	} {
		if want := sameAsGitleaks(t, r, cfg, text); len(want) == 0 {
			t.Errorf("gitleaks finds nothing in %q: the case does not test anything", text)
		}
	}
}

// TestStopwordsAsGitleaks: the stop words of generic-api-key's allowlist,
// which loading moves to an allowlist of their own, still drop the same
// findings as gitleaks' own configuration, loaded the way gitleaks loads it.
func TestStopwordsAsGitleaks(t *testing.T) {
	v := viper.New()
	v.SetConfigType("toml")
	if err := v.ReadConfig(strings.NewReader(config.DefaultConfig)); err != nil {
		t.Fatal(err)
	}
	var vc config.ViperConfig
	if err := v.Unmarshal(&vc); err != nil {
		t.Fatal(err)
	}
	theirs, err := vc.Translate()
	if err != nil {
		t.Fatal(err)
	}
	words := theirs.Rules["generic-api-key"].Allowlists
	var stop []string
	for _, a := range words {
		stop = append(stop, a.StopWords...)
	}
	if len(stop) < 1000 {
		t.Fatalf("generic-api-key has %d stop words, want its 1,447", len(stop))
	}
	sort.Strings(stop)
	var text strings.Builder
	for i, w := range []string{stop[0], stop[len(stop)/3], stop[len(stop)/2], stop[len(stop)-1]} {
		// A value holding a stop word, and the same value without it.
		fmt.Fprintf(&text, "token = \"%s%s%s\"\n", fixture.Alnum(uint64(50+i), 8), strings.ToUpper(w), fixture.Alnum(uint64(60+i), 8))
		fmt.Fprintf(&text, "token = \"%s%s\"\n", fixture.Alnum(uint64(50+i), 8), fixture.Alnum(uint64(60+i), 8))
	}
	d := detect.NewDetector(theirs)
	d.MaxDecodeDepth = DecodeDepth
	var want []string
	for _, f := range d.DetectString(text.String()) {
		want = append(want, fmt.Sprintf("%s:%d", f.RuleID, f.StartLine+1))
	}
	sort.Strings(want)
	if len(want) != 4 {
		t.Fatalf("gitleaks finds %v in\n%s\nwant the 4 values without a stop word", want, text.String())
	}
	cfg, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range scan(t, New(context.Background(), cfg, Options{}), text.String(), 0) {
		got = append(got, fmt.Sprintf("%s:%d", f.Rule, f.Line))
	}
	sort.Strings(got)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("findings = %v, want (gitleaks) %v", got, want)
	}
}

// TestChunkBoundaries scans the same text cut into chunks of many sizes:
// every finding is found once, wherever the cut falls.
func TestChunkBoundaries(t *testing.T) {
	r := defaultRules(t)
	text := corpus()
	want := keys(scan(t, r, text, 0))
	for _, size := range []int{17, 100, 333, 1000, 4096} {
		got := keys(scan(t, r, text, size))
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("chunks of %d: findings = %v\nwant %v", size, got, want)
		}
	}
}

// TestHugeLine scans a line far longer than a chunk, with a token at its
// end, in bounded memory.
func TestHugeLine(t *testing.T) {
	r := defaultRules(t)
	pat := fixture.GitHubPAT(5)
	size := int64(hugeLine)
	src := io.MultiReader(io.LimitReader(repeat('a'), size), strings.NewReader(" tok="+pat+" "))
	res, err := scanner.Scan(context.Background(), []scanner.Source{files.Reader{Label: "-", R: src}},
		[]scanner.Detector{r}, scanner.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) != 1 || res.Findings[0].Rule != "github-pat" || res.Findings[0].Line != 1 {
		t.Fatalf("findings = %+v, want one github-pat on line 1", res.Findings)
	}
	if got, want := res.Findings[0].Column, int(size)+6; got != want {
		t.Errorf("column = %d, want %d", got, want)
	}
}

type repeat byte

func (r repeat) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

func TestPlanProvesDefaultRules(t *testing.T) {
	r := defaultRules(t)
	whole := 0
	for _, ru := range r.rules {
		if ru.plan.whole {
			whole++
		}
	}
	// Most default rules must get keyword windows; those that cannot be
	// proven (unbounded newlines, such as private-key) run whole.
	if whole > len(r.rules)/5 {
		t.Errorf("%d of %d rules run over whole chunks, want at most a fifth", whole, len(r.rules))
	}
	if p := newPlan(`(?i)\b(ghp_[0-9a-z]{36})\b`, []string{"ghp_"}); p.whole || p.linesAfter != 0 {
		t.Errorf("newPlan(ghp) = %+v, want a one-line window", p)
	}
	if p := newPlan(`-----BEGIN[\s\S]*KEY-----`, []string{"-----begin"}); !p.whole {
		t.Errorf("newPlan(unbounded) = %+v, want whole", p)
	}
	if p := newPlan(`[a-z]{10}`, []string{"abc"}); !p.whole {
		t.Errorf("newPlan(no keyword in the pattern) = %+v, want whole", p)
	}
}

func TestRedactionKeepsOnlyTokenPrefix(t *testing.T) {
	r := defaultRules(t)
	fs := scan(t, r, "token="+fixture.GitHubPAT(9)+"\n", 0)
	if len(fs) != 1 || fs[0].Redacted != "ghp_****" {
		t.Fatalf("findings = %+v, want one redacted as ghp_****", fs)
	}
}

// TestAllowlistByContent: gitleaks' allowlist patterns that name a kind of
// file by extension skip binary content only: text is scanned whatever its
// name. Patterns that name places (node_modules, lock files) still skip.
func TestAllowlistByContent(t *testing.T) {
	token := fixture.GitHubPAT(4711)
	dir := t.TempDir()
	put := func(name string, body []byte) {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	text := []byte("GITHUB_TOKEN=" + token + "\n")
	binary := append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), append(text, 0, 0, 0)...)
	put("assets/logo.png", text)            // text named like an image: scanned
	put("docs/manual.pdf", text)            // text named like a document: scanned
	put("assets/real.png", binary)          // a real image: skipped by name, as gitleaks does
	put("node_modules/pkg/config.js", text) // a place gitleaks skips: still skipped
	put("package-lock.json", text)          // likewise
	var got []string
	for _, f := range scanDir(t, dir).Findings {
		got = append(got, f.Path)
	}
	sort.Strings(got)
	if want := []string{"assets/logo.png", "docs/manual.pdf"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("findings in %v, want %v", got, want)
	}
}

// TestPathRuleWhateverTheContent: a rule that names files by path alone
// (gitleaks' pkcs12-file) reports every non-empty file it names: one of
// line breaks only, and a binary with no printable run to read.
func TestPathRuleWhateverTheContent(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string][]byte{
		"blank.p12": []byte("\n\n\n\n"),
		"der.pfx":   {0x30, 0x82, 0x01, 0x00, 0x02, 0x01, 0x03, 0x30, 0x00, 0x06, 0x09},
		"empty.p12": nil, // nothing to report, as gitleaks
	} {
		if err := os.WriteFile(filepath.Join(dir, name), body, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, f := range scanDir(t, dir).Findings {
		got = append(got, f.Rule+" "+f.Path)
	}
	sort.Strings(got)
	if want := "pkcs12-file blank.p12,pkcs12-file der.pfx"; strings.Join(got, ",") != want {
		t.Errorf("findings %q, want %q", got, want)
	}
}

// TestEntropyScreenSameAsGitleaks runs secrets on both sides of the
// generic rule's entropy floor (3.5) through the windowed detector, which
// drops low-entropy candidates before gitleaks confirms them, and through
// gitleaks' own detector: the findings must be the same.
func TestEntropyScreenSameAsGitleaks(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	var b strings.Builder
	for i := range 400 {
		alphabet := []rune("a1b2c3d4e5f6g7h8i9j0kLmNoPqRsTuV")[:8+rng.IntN(14)]
		if i%7 == 0 {
			alphabet = append(alphabet, 'é', 'ß')
		}
		secret := make([]rune, 10+rng.IntN(20))
		for j := range secret {
			secret[j] = alphabet[rng.IntN(len(alphabet))]
		}
		fmt.Fprintf(&b, "api_key = \"%s\"\n", string(secret))
	}
	text := b.String()
	cfg, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	d := detect.NewDetector(cfg.cfg)
	var want []string
	for _, f := range d.DetectString(text) {
		want = append(want, fmt.Sprintf("%s:%d", f.RuleID, f.StartLine+1))
	}
	var got []string
	for _, f := range scan(t, New(context.Background(), cfg, Options{}), text, 0) {
		got = append(got, fmt.Sprintf("%s:%d", f.Rule, f.Line))
	}
	sort.Strings(want)
	sort.Strings(got)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("findings = %v\nwant (gitleaks) %v", got, want)
	}
	if len(want) < 50 || len(want) > 350 {
		t.Errorf("gitleaks kept %d of 400 secrets: want the corpus to straddle the floor", len(want))
	}
}

// TestDecodedEntropyScreenSameAsGitleaks: in text that gitleaks decodes
// (base64 here), a generic assignment is found as gitleaks finds it, above
// or below the entropy floor, and next to a plain assignment below it (a
// minified line holds both: the screen must not let the plain one stand
// for the decoded one, nor skip the decoded one for the plain one).
func TestDecodedEntropyScreenSameAsGitleaks(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	var b strings.Builder
	for i := range 300 {
		alphabet := []rune("a1b2c3d4e5f6g7h8i9j0kLmNoPqRsTuV")[:8+rng.IntN(14)]
		secret := make([]rune, 12+rng.IntN(20))
		for j := range secret {
			secret[j] = alphabet[rng.IntN(len(alphabet))]
		}
		encoded := b64(fmt.Sprintf("api_key = \"%s\"", string(secret)))
		switch i % 3 {
		case 0:
			fmt.Fprintf(&b, "blob: %s\n", encoded)
		case 1:
			fmt.Fprintf(&b, "auth_token = \"aaaabbbbaaaa\"; blob = \"%s\";\n", encoded)
		default:
			fmt.Fprintf(&b, "x = 1\n")
		}
	}
	text := b.String()
	cfg, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	want := sameAsGitleaks(t, New(context.Background(), cfg, Options{}), cfg, text)
	if len(want) < 30 || len(want) > 170 {
		t.Errorf("gitleaks kept %d of 200 encoded secrets: want the corpus to straddle the floor", len(want))
	}
}

func TestEntropyAsGitleaks(t *testing.T) {
	reference := func(s string) float64 { // gitleaks' shannonEntropy
		counts := map[rune]int{}
		for _, r := range s {
			counts[r]++
		}
		e := 0.0
		for _, n := range counts {
			f := float64(n) / float64(len(s))
			e -= f * math.Log2(f)
		}
		return e
	}
	for _, s := range []string{"a", "ab", "aab", "hunter2hunter2", "é", "\xff\xfeab", "0123456789abcdef", "ßßa"} {
		if got, want := entropy([]byte(s)), reference(s); math.Abs(got-want) > 1e-12 {
			t.Errorf("entropy(%q) = %v, want %v", s, got, want)
		}
	}
}

// TestAllowlistScreenAsGitleaks: candidates that an allowlist surely drops
// are not confirmed, and nothing else is skipped: allowlists on the
// secret, the match and the line, with either condition, global and the
// rule's own, each against values they drop and values they keep,
// against gitleaks' own detector with the same configuration.
func TestAllowlistScreenAsGitleaks(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "gitleaks.toml")
	toml := `
[[rules]]
id = "assign"
regex = '''(?i)(?:key|token)\s*=\s*"([a-z0-9]{12,40})"'''
secretGroup = 1
entropy = 2.0
keywords = ["key", "token"]
  [[rules.allowlists]]
  regexes = ['''^fake''']
  [[rules.allowlists]]
  regexTarget = "match"
  regexes = ['''^token''', '''^xfake''']
  [[rules.allowlists]]
  regexTarget = "line"
  regexes = ['''// ok$''', '''^plain''']
  [[rules.allowlists]]
  condition = "AND"
  regexes = ['''^and''']
  stopwords = ["zzz"]
  [[rules.allowlists]]
  stopwords = ["sample"]

[[allowlists]]
regexes = ['''^global''']
`
	if err := os.WriteFile(conf, []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(conf)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for i, v := range []string{"fake", "global", "and", "andzzz", "sample", "plain", "xfake", "xglobal"} {
		value := v + fixture.Alnum(uint64(70+i), 16)
		fmt.Fprintf(&b, "key = \"%s\"\n", value)
		fmt.Fprintf(&b, "token = \"%s\"\n", value)
		fmt.Fprintf(&b, "key = \"%s\" // ok\n", value)
	}
	text := b.String()
	want := sameAsGitleaks(t, New(context.Background(), cfg, Options{}), cfg, text)
	if len(want) < 4 || len(want) > 20 {
		t.Errorf("gitleaks kept %d of 24: want the allowlists to drop some and keep some", len(want))
	}
}
