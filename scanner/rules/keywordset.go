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
	words  []string
	bits   [1 << 16 / 64]uint64 // first two bytes (lower case) of some keyword
	bucket [1 << 16]uint32      // first two bytes -> 1 + index into lists
	lists  []prefixed           // keywords by their first two bytes
	ones   [256][]int32         // one-byte keywords
	single bool                 // there are one-byte keywords
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
				k.bits[g>>6] |= 1 << (g & 63)
			}
			b := &k.lists[k.bucket[g]-1]
			if len(w) == 2 {
				b.two = append(b.two, int32(i))
				continue
			}
			b.third[w[2]>>6] |= 1 << (w[2] & 63)
			b.long = append(b.long, int32(i))
		}
	}
	return k
}

// each calls found for every occurrence of a keyword in text, by ascending
// start position (pos), with the keyword's index.
func (k *keywordSet) each(text []byte, found func(pos, kw int)) {
	if k.single {
		k.eachWithOnes(text, found)
		return
	}
	if len(text) < 2 {
		return
	}
	prev := uint16(lower[text[0]])
	for i := 1; i < len(text); i++ {
		cur := uint16(lower[text[i]])
		g := prev<<8 | cur
		prev = cur
		if k.bits[g>>6]&(1<<(g&63)) != 0 {
			k.at(text, i-1, g, found)
		}
	}
}

// at calls found for the keywords that start with g at text[start].
func (k *keywordSet) at(text []byte, start int, g uint16, found func(pos, kw int)) {
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
			if k.bits[g>>6]&(1<<(g&63)) != 0 {
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
