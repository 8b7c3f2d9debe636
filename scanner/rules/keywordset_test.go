package rules

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// naive finds what keywordSet.each must: every occurrence of every keyword
// in the text lower-cased in ASCII, by start.
func naive(words []string, text []byte) []string {
	low := lowerASCII(string(text))
	var out []string
	for pos := range len(low) {
		for kw, w := range words {
			if w != "" && strings.HasPrefix(low[pos:], w) {
				out = append(out, fmt.Sprint(pos, " ", kw))
			}
		}
	}
	return out
}

func checkKeywords(t *testing.T, words []string, text []byte) {
	t.Helper()
	var got []string
	last := -1
	newKeywordSet(words).each(text, func(pos, kw int) {
		if pos < last {
			t.Fatalf("keyword at %d reported after one at %d: want ascending starts", pos, last)
		}
		last = pos
		got = append(got, fmt.Sprint(pos, " ", kw))
	})
	want := naive(words, text)
	slices.Sort(got) // the order within one start is free
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("keywords %q in %q:\n got %v\nwant %v", words, text, got, want)
	}
}

func TestKeywordSet(t *testing.T) {
	gitleaks := []string{"s.", "api", "key", "apikey", "akia", "xoxb", "ghp_", "-----begin", "token", "secret", "pass", "\xe2\x82\xac"}
	for _, text := range []string{
		"", "a", "s.", "S.", "API_KEY=x", "apikey", "APIKEY", "xoxB-1", "-----BEGIN RSA", "tokentoken",
		"€ key", "pass\npassword", "ke", "kEy",
	} {
		checkKeywords(t, gitleaks, []byte(text))
		checkKeywords(t, append(slices.Clone(gitleaks), "k", "-", ""), []byte(text))
	}
	rng := rand.New(rand.NewPCG(3, 4))
	alphabet := []byte("aAkKeEyYsS.-_\n\x00\xe2")
	for range 2000 {
		words := make([]string, 1+rng.IntN(6))
		for i := range words {
			w := make([]byte, 1+rng.IntN(4))
			for j := range w {
				w[j] = lower[alphabet[rng.IntN(len(alphabet))]]
			}
			words[i] = string(w)
		}
		text := make([]byte, rng.IntN(40))
		for j := range text {
			text[j] = alphabet[rng.IntN(len(alphabet))]
		}
		checkKeywords(t, words, text)
	}
}

func FuzzKeywordSet(f *testing.F) {
	f.Add("api\x00key\x00s.", []byte("API_KEY = os.Getenv"))
	f.Fuzz(func(t *testing.T, list string, text []byte) {
		words := strings.Split(list, "\x00")
		for i, w := range words {
			words[i] = lowerASCII(w)
		}
		checkKeywords(t, words, text)
	})
}
