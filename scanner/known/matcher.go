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
// secrets with ~20 forms each, grow transition tables far past the CPU
// caches (BenchmarkMatcher in this package measured them below the 1 GB/s
// target at 1,000 secrets). Here every form of length L ≥ S+k-1 holds, at
// one of its first S offsets, the k-gram found at any position that is a
// multiple of S; so only every S-th position of the input is probed, in a
// cache-resident bitset, and only probes that hit are verified. The cost per
// byte is flat in the number of secrets.
type Matcher struct {
	secrets []Secret
	forms   []Form
	groups  []*group
	sorted  [][]byte            // form texts, sorted: for prefix queries
	short   map[uint64]struct{} // every proper prefix of up to 7 bytes, exactly
	prefix  []uint64            // bitset of hashes of every form's 8-byte prefix
	pbits   uint
	maxLen  int
}

// group indexes the forms of one length class.
type group struct {
	k, stride int
	bits      []uint64
	shift     uint
	table     map[uint64][]entry
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
	if len(long) > 0 {
		m.groups = append(m.groups, m.newGroup(long, 8))
	}
	if len(short) > 0 {
		m.groups = append(m.groups, m.newGroup(short, 4))
	}
	m.sorted = make([][]byte, len(forms))
	for i, f := range forms {
		m.sorted[i] = f.Text
	}
	slices.SortFunc(m.sorted, bytes.Compare)
	m.short = make(map[uint64]struct{}, len(forms)*7)
	m.pbits = bitsFor(len(forms) * 8)
	m.prefix = make([]uint64, 1<<m.pbits/64)
	for _, f := range forms {
		for n := 1; n <= min(7, len(f.Text)-1); n++ {
			m.short[shortKey(f.Text[:n])] = struct{}{}
		}
		if len(f.Text) >= 8 {
			setBit(m.prefix, hashPrefix(f.Text[:8], m.pbits))
		}
	}
	return m
}

// shortKey packs a prefix of up to 7 bytes and its length into one key.
func shortKey(p []byte) uint64 { return load(p, len(p)) | uint64(len(p))<<56 }

func (m *Matcher) newGroup(idx []int, k int) *group {
	minLen := len(m.forms[idx[0]].Text)
	for _, i := range idx {
		minLen = min(minLen, len(m.forms[i].Text))
	}
	k = min(k, minLen)
	g := &group{k: k, stride: minLen - k + 1}
	g.table = make(map[uint64][]entry, len(idx)*g.stride)
	n := 0
	for _, i := range idx {
		t := m.forms[i].Text
		for off := 0; off < g.stride; off++ {
			gram := load(t[off:], k)
			g.table[gram] = append(g.table[gram], entry{int32(i), int32(off)})
			n++
		}
	}
	b := bitsFor(n * 16)
	g.shift = 64 - b
	g.bits = make([]uint64, 1<<b/64)
	for gram := range g.table {
		setBit(g.bits, hash(gram)>>g.shift)
	}
	return g
}

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

func hash(x uint64) uint64 { return x * 0x9E3779B97F4A7C15 }

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
func (m *Matcher) FindAll(data []byte, fn func(Match)) {
	for _, g := range m.groups {
		g.findAll(m.forms, data, fn)
	}
}

func (g *group) findAll(forms []Form, data []byte, fn func(Match)) {
	k, stride, shift := g.k, g.stride, g.shift
	if len(data) < k {
		return
	}
	last := len(data) - k
	if k == 8 {
		// The hot loop: one load, one multiply, one bit test per probe.
		for p := 0; p <= last; p += stride {
			gram := binary.LittleEndian.Uint64(data[p:])
			if h := hash(gram) >> shift; g.bits[h/64]&(1<<(h%64)) != 0 {
				g.verify(forms, data, p, gram, fn)
			}
		}
		return
	}
	for p := 0; p <= last; p += stride {
		gram := load(data[p:], k)
		if hasBit(g.bits, hash(gram)>>shift) {
			g.verify(forms, data, p, gram, fn)
		}
	}
}

func (g *group) verify(forms []Form, data []byte, p int, gram uint64, fn func(Match)) {
	for _, e := range g.table[gram] {
		start := p - int(e.offset)
		t := forms[e.form].Text
		if start >= 0 && start+len(t) <= len(data) && bytes.Equal(data[start:start+len(t)], t) {
			fn(Match{Form: int(e.form), Start: start, End: start + len(t)})
		}
	}
}

// Hold returns where the longest suffix of data that could still grow into
// a form begins (a proper prefix of some form), or len(data) if no suffix
// can. A stream must hold those bytes back until more data shows whether
// they are a secret.
func (m *Matcher) Hold(data []byte) int {
	for p := max(0, len(data)-m.maxLen+1); p < len(data); p++ {
		if m.isPrefix(data[p:]) {
			return p
		}
	}
	return len(data)
}

// isPrefix reports whether s is a proper prefix of some form.
func (m *Matcher) isPrefix(s []byte) bool {
	if len(s) < 8 {
		_, ok := m.short[shortKey(s)]
		return ok
	}
	if !hasBit(m.prefix, hashPrefix(s[:8], m.pbits)) {
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
