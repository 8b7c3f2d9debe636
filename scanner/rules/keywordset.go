package rules

// keywordSet finds every occurrence of a set of keywords in text, with the
// text's ASCII letters read as lower case, as gitleaks matches keywords.
//
// It replaces an Aho-Corasick automaton (github.com/BobuSumisu/aho-corasick,
// what gitleaks uses) that walked a lower-cased copy of each chunk: the walk
// and the copy took 15% of a scan of GOROOT/src. Here each position costs
// two table loads and a test in an 8 KB bitmap of the keywords' first two
// bytes, which stays in L1; only positions that pass compare keywords.
type keywordSet struct {
	words   []string
	longest int             // bytes of the longest word
	tri     bitset          // first three bytes (lower case) of some keyword, hashed
	bits    bitset          // first two bytes of some keyword
	bucket  [1 << 16]uint32 // first two bytes -> 1 + index into lists
	lists   []prefixed      // keywords by their first two bytes
	ones    [256][]int32    // one-byte keywords
	single  bool            // there are one-byte keywords
}

// prefixed holds the keywords that begin with the same two bytes. In source
// code one position in seven passes the bitmap ("te", "se", "ke"...); the
// third byte turns most of those away before any keyword is compared.
type prefixed struct {
	two   []int32   // keywords of two bytes: a match already
	third [4]uint64 // the third bytes of the longer ones
	long  []int32   // keywords of three bytes or more
}

// lower maps each byte to itself, ASCII letters to lower case.
var lower = func() (t [256]byte) {
	for i := range t {
		t[i] = byte(i)
		if 'A' <= i && i <= 'Z' {
			t[i] = byte(i + 'a' - 'A')
		}
	}
	return t
}()

func newKeywordSet(words []string) *keywordSet {
	k := &keywordSet{words: words}
	for i, w := range words {
		k.longest = max(k.longest, len(w))
		switch {
		case w == "":
		case len(w) == 1:
			k.ones[w[0]] = append(k.ones[w[0]], int32(i))
			k.single = true
		default:
			g := uint16(w[0])<<8 | uint16(w[1])
			if k.bucket[g] == 0 {
				k.lists = append(k.lists, prefixed{})
				k.bucket[g] = uint32(len(k.lists))
				k.bits.set(uint32(g))
			}
			b := &k.lists[k.bucket[g]-1]
			if len(w) == 2 {
				b.two = append(b.two, int32(i))
				for c := range 256 {
					k.tri.set(triHash(uint32(g)<<8 | uint32(lower[c])))
				}
				continue
			}
			k.tri.set(triHash(uint32(g)<<8 | uint32(w[2])))
			b.third[w[2]>>6] |= 1 << (w[2] & 63)
			b.long = append(b.long, int32(i))
		}
	}
	return k
}

// each calls found for every occurrence of a keyword in text, by ascending
// start position (pos), with the keyword's index.
//
// Each position costs a hash of its three bytes and a test in an 8 KB
// bitmap. Testing two bytes exactly was simpler, but one position in six of
// source code passed ("ke", "to", "se"); three bytes pass one in thirty:
// 255 -> 400 MB/s on net/http (BenchmarkKeywords, issue 15).
func (k *keywordSet) each(text []byte, found func(pos, kw int)) {
	if k.single {
		k.eachWithOnes(text, found)
		return
	}
	n := len(text)
	if n < 2 {
		return
	}
	// Positions that pass are noted without a branch (each is written,
	// and the count moves past it only if it passed), then looked at a
	// block at a time: a branch taken at random one time in thirty costs
	// more than the write.
	h := uint32(text[0])<<8 | uint32(text[1])
	var passed [256]int32
	for block := 2; block < n; block += len(passed) {
		m, end := 0, min(n, block+len(passed))
		for i := block; i < end; i++ {
			h = h<<8 | uint32(text[i])
			x := triHash(h)
			passed[m&(len(passed)-1)] = int32(i - 2)
			m += int(k.tri[x>>6&(1<<10-1)] >> (x & 63) & 1)
		}
		for _, start := range passed[:m] {
			k.at(text, int(start), pair(text, int(start)), found)
		}
	}
	// Only a two-byte keyword can start at the last position but one.
	if g := pair(text, n-2); k.bits.has(uint32(g)) {
		k.at(text, n-2, g, found)
	}
}

// pair returns the two bytes at text[i], lower case.
func pair(text []byte, i int) uint16 { return uint16(lower[text[i]])<<8 | uint16(lower[text[i+1]]) }

// triHash maps three bytes (the low 24 bits of t) to a bit of a bitset. It
// sets bit 5 of each byte, which lowers ASCII letters (and folds a few
// other bytes together, which at tells apart), so the text need not be
// lowered first.
func triHash(t uint32) uint32 { return (t | 0x202020) & 0xffffff * 0x9E3779B1 >> 16 }

// bitset is a set of 16-bit values.
type bitset [1 << 16 / 64]uint64

func (b *bitset) set(v uint32)      { b[v>>6&(1<<10-1)] |= 1 << (v & 63) }
func (b *bitset) has(v uint32) bool { return b[v>>6&(1<<10-1)]&(1<<(v&63)) != 0 }

// at calls found for the keywords that start with g at text[start].
func (k *keywordSet) at(text []byte, start int, g uint16, found func(pos, kw int)) {
	if k.bucket[g] == 0 {
		return // the hash of another three bytes
	}
	b := &k.lists[k.bucket[g]-1]
	for _, kw := range b.two {
		found(start, int(kw))
	}
	if len(b.long) == 0 || start+2 >= len(text) {
		return
	}
	if c := lower[text[start+2]]; b.third[c>>6]&(1<<(c&63)) == 0 {
		return
	}
	for _, kw := range b.long {
		if w := k.words[kw]; start+len(w) <= len(text) && equalLower(text[start+3:start+len(w)], w[3:]) {
			found(start, int(kw))
		}
	}
}

// eachWithOnes is each for a set that has one-byte keywords.
func (k *keywordSet) eachWithOnes(text []byte, found func(pos, kw int)) {
	for i, c := range text {
		for _, kw := range k.ones[lower[c]] {
			found(i, int(kw))
		}
		if i+1 < len(text) {
			g := uint16(lower[c])<<8 | uint16(lower[text[i+1]])
			if k.bits.has(uint32(g)) {
				k.at(text, i, g, found)
			}
		}
	}
}

// equalLower reports whether text, lower-cased in ASCII, is w.
func equalLower(text []byte, w string) bool {
	for i := range len(w) {
		if lower[text[i]] != w[i] {
			return false
		}
	}
	return true
}
