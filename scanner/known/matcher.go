package known

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"slices"
)

// Matcher finds every form of a set of secrets.
//
// It is a sampled k-gram index rather than an Aho-Corasick automaton: the
// Aho-Corasick libraries on the module proxy (BobuSumisu/aho-corasick,
// coregx/ahocorasick) step through every byte and, at thousands of
// secrets with ~10 forms each, grow transition tables far past the CPU
// caches (BenchmarkMatcher in this package measured them below the 1 GB/s
// target at 1,000 secrets). Here every form of length L ≥ S+k-1 holds, at
// one of its first S offsets, the k-gram found at any position that is a
// multiple of S; so only every S-th position of the input is probed, in a
// cache-resident Bloom filter, and only probes that pass are verified. The
// cost per byte is flat in the number of secrets.
type Matcher struct {
	secrets []Secret
	forms   []Form
	groups  []*group
	sorted  [][]byte // form texts, sorted: for prefix queries
	// Filters for prefix queries: pairs holds every prefix of one or two
	// bytes exactly (bit b0 | b1<<8, or 1<<16 | b0); prefix a hash of
	// every longer one, up to 8 bytes, and of its length.
	pairs  []uint64
	prefix []uint64
	pbits  uint
	maxLen int
	tail   int // tails shorter than this escape the groups' probes
}

// group indexes the forms of one length class.
type group struct {
	k, stride int
	// bloom is a blocked Bloom filter of the indexed grams: one word per
	// gram, two bits in it, so a probe costs one cache line.
	bloom []uint64
	shift uint
	table map[uint64][]entry
}

type entry struct {
	form   int32
	offset int32
}

// Match is one occurrence of a form.
type Match struct {
	Form       int // index into Forms()
	Start, End int
}

// New builds a matcher for the forms of secrets (see Forms).
func New(secrets []Secret, forms []Form) *Matcher {
	m := &Matcher{secrets: secrets, forms: forms}
	var short, long []int
	for i, f := range forms {
		m.maxLen = max(m.maxLen, len(f.Text))
		if len(f.Text) >= 16 {
			long = append(long, i)
		} else {
			short = append(short, i)
		}
	}
	for _, c := range []struct {
		idx []int
		k   int
	}{{long, 8}, {short, 4}} {
		if len(c.idx) > 0 {
			g, minLen := m.newGroup(c.idx, c.k)
			m.groups = append(m.groups, g)
			m.tail = max(m.tail, minLen)
		}
	}
	m.sorted = make([][]byte, len(forms))
	for i, f := range forms {
		m.sorted[i] = f.Text
	}
	slices.SortFunc(m.sorted, bytes.Compare)
	m.pairs = make([]uint64, (1<<16+256)/64)
	m.pbits = bitsFor(len(forms) * 6 * 16)
	m.prefix = make([]uint64, 1<<m.pbits/64)
	for _, f := range forms {
		t := f.Text
		setBit(m.pairs, pairKey(t[:1]))
		if len(t) > 2 {
			setBit(m.pairs, pairKey(t[:2]))
		}
		for n := 3; n <= min(8, len(t)-1); n++ {
			setBit(m.prefix, hashPrefix(t[:n], m.pbits))
		}
	}
	return m
}

// pairKey is the bit of pairs for a prefix of one or two bytes.
func pairKey(p []byte) uint64 {
	if len(p) == 1 {
		return 1<<16 | uint64(p[0])
	}
	return uint64(p[0]) | uint64(p[1])<<8
}

// newGroup indexes the forms idx with grams of k bytes, and returns the
// group and the length of its shortest form.
func (m *Matcher) newGroup(idx []int, k int) (*group, int) {
	minLen := len(m.forms[idx[0]].Text)
	for _, i := range idx {
		minLen = min(minLen, len(m.forms[i].Text))
	}
	k = min(k, minLen)
	g := &group{k: k, stride: minLen - k + 1}
	g.table = make(map[uint64][]entry, len(idx)*g.stride)
	for _, i := range idx {
		t := m.forms[i].Text
		for off := 0; off < g.stride; off++ {
			gram := load(t[off:], k)
			g.table[gram] = append(g.table[gram], entry{int32(i), int32(off)})
		}
	}
	// 16 bits a gram: two bits set in a word give about 1% false positives.
	b := bitsFor(len(g.table)*16) - 6
	g.shift = 64 - b
	g.bloom = make([]uint64, 1<<b)
	for gram := range g.table {
		h := hash(gram)
		g.bloom[h>>g.shift] |= bloomMask(h)
	}
	return g, minLen
}

// bloomMask picks the two bits of a Bloom word that hash h sets; the word
// itself is chosen by the top bits.
func bloomMask(h uint64) uint64 { return 1<<(h&63) | 1<<(h>>6&63) }

// bitsFor returns log2 of a bitset size (between 2^12 and 2^26 bits) with
// about n bits set at most.
func bitsFor(n int) uint {
	b := uint(bits.Len(uint(n)))
	return min(max(b, 12), 26)
}

func setBit(set []uint64, h uint64) { set[h/64] |= 1 << (h % 64) }
func hasBit(set []uint64, h uint64) bool {
	return set[h/64]&(1<<(h%64)) != 0
}

// hash mixes all bits of x into all bits of the result (the two halves of
// a 128-bit product), so that both its top and its bottom bits can be used.
func hash(x uint64) uint64 {
	hi, lo := bits.Mul64(x, 0x9E3779B97F4A7C15)
	return hi ^ lo
}

func hashPrefix(p []byte, b uint) uint64 {
	return hash(load(p, len(p))^uint64(len(p))<<59) >> (64 - b)
}

// load reads the first k (≤ 8) bytes of b as a little-endian integer.
func load(b []byte, k int) uint64 {
	switch k {
	case 8:
		return binary.LittleEndian.Uint64(b)
	case 4:
		return uint64(binary.LittleEndian.Uint32(b))
	}
	var x uint64
	for i := k - 1; i >= 0; i-- {
		x = x<<8 | uint64(b[i])
	}
	return x
}

// Secrets returns the secrets the matcher was built from.
func (m *Matcher) Secrets() []Secret { return m.secrets }

// Forms returns the forms the matcher looks for.
func (m *Matcher) Forms() []Form { return m.forms }

// MaxLen returns the length of the longest form.
func (m *Matcher) MaxLen() int { return m.maxLen }

// FindAll calls fn for every occurrence of every form in data, overlapping
// ones included, in no particular order.
func (m *Matcher) FindAll(data []byte, fn func(Match)) { m.find(data, fn, false) }

// FindHold is FindAll and Hold in one pass: a stream's way to find what is
// in a buffer and how much of it must wait for more.
func (m *Matcher) FindHold(data []byte, fn func(Match)) int { return m.find(data, fn, true) }

// Hold returns where the longest suffix of data that could still grow into
// a form begins (a proper prefix of some form), or len(data) if no suffix
// can. A stream must hold those bytes back until more data shows whether
// they are a secret.
func (m *Matcher) Hold(data []byte) int { return m.find(data, func(Match) {}, true) }

func (m *Matcher) find(data []byte, fn func(Match), hold bool) int {
	s := search{forms: m.forms, data: data, fn: fn, hold: len(data), partial: hold}
	for _, g := range m.groups {
		g.find(&s)
	}
	if hold {
		// A form's start less than a group's shortest form from the end
		// meets no probe of that group: look at those tails one by one.
		for p := max(0, len(data)-m.tail+1); p < s.hold; p++ {
			if m.isPrefix(data[p:]) {
				return p
			}
		}
	}
	return s.hold
}

// search is the state of one find over data.
type search struct {
	forms   []Form
	data    []byte
	fn      func(Match)
	partial bool // whether to look for forms cut off by the end of data
	hold    int  // the earliest start of a cut-off form found so far
}

func (g *group) find(s *search) {
	data := s.data
	k, stride, shift := g.k, g.stride, g.shift
	if len(data) < k {
		return
	}
	last := len(data) - k
	bloom := g.bloom
	if k == 8 {
		// The hot loop: one load, one multiply, one word test per probe.
		for p := 0; p <= last; p += stride {
			gram := binary.LittleEndian.Uint64(data[p:])
			h := hash(gram)
			if want := bloomMask(h); bloom[h>>shift]&want == want {
				g.verify(s, p, gram)
			}
		}
		return
	}
	for p := 0; p <= last; p += stride {
		gram := load(data[p:], k)
		h := hash(gram)
		if want := bloomMask(h); bloom[h>>shift]&want == want {
			g.verify(s, p, gram)
		}
	}
}

// verify checks the forms indexed under the gram found at p. A form that
// runs past the end of data is a cut-off one if data ends with its start.
func (g *group) verify(s *search, p int, gram uint64) {
	for _, e := range g.table[gram] {
		start := p - int(e.offset)
		if start < 0 {
			continue
		}
		t := s.forms[e.form].Text
		switch end := start + len(t); {
		case end <= len(s.data):
			if bytes.Equal(s.data[start:end], t) {
				s.fn(Match{Form: int(e.form), Start: start, End: end})
			}
		case s.partial && start < s.hold && bytes.HasPrefix(t, s.data[start:]):
			s.hold = start
		}
	}
}

// isPrefix reports whether s is a proper prefix of some form.
func (m *Matcher) isPrefix(s []byte) bool {
	if len(s) <= 2 {
		return hasBit(m.pairs, pairKey(s))
	}
	if !hasBit(m.prefix, hashPrefix(s[:min(8, len(s))], m.pbits)) {
		return false
	}
	i, found := slices.BinarySearchFunc(m.sorted, s, bytes.Compare)
	if found {
		// s is a whole form; a longer one may still start with it.
		i++
	}
	return i < len(m.sorted) && len(m.sorted[i]) > len(s) && bytes.HasPrefix(m.sorted[i], s)
}

// Unite merges overlapping matches (and adjacent ones too, with adjacent)
// into runs. Each run keeps the longest match in it as its representative
// (ties: the earlier form, which is the raw value before its encodings).
func Unite(ms []Match, adjacent bool) []Run {
	if len(ms) == 0 {
		return nil
	}
	slices.SortFunc(ms, func(a, b Match) int {
		if a.Start != b.Start {
			return a.Start - b.Start
		}
		return b.End - a.End
	})
	var runs []Run
	for _, mt := range ms {
		if n := len(runs); n > 0 && (mt.Start < runs[n-1].End || adjacent && mt.Start == runs[n-1].End) {
			r := &runs[n-1]
			r.End = max(r.End, mt.End)
			if l, best := mt.End-mt.Start, r.Best.End-r.Best.Start; l > best || l == best && mt.Form < r.Best.Form {
				r.Best = mt
			}
			r.Count++
			continue
		}
		runs = append(runs, Run{Start: mt.Start, End: mt.End, Best: mt, Count: 1})
	}
	return runs
}

// Run is a stretch of input covered by overlapping or adjacent matches.
type Run struct {
	Start, End int
	Best       Match
	Count      int
}
