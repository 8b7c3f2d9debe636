package known

import (
	"bytes"
	"encoding/binary"
	"slices"
	"strings"
	"sync"
	"unsafe"
)

// Matcher finds every form of a set of secrets.
//
// It is a sampled k-gram index rather than an Aho-Corasick automaton: the
// Aho-Corasick libraries on the module proxy step through every byte and,
// at thousands of secrets with ~10 forms each, grow transition tables far
// past the CPU caches: BenchmarkMatcher in this package measures both
// well below the 1 GB/s this matcher is for, at 10, 1,000 and 4,000
// secrets (the figures are in docs/PERFORMANCE.md). Here every form of
// length L ≥ S+k-1 holds, at one of its first S offsets, the k-gram found at
// any position that is a multiple of S; so only every S-th position of the
// input is probed, in a cache-resident Bloom filter, and only probes that
// pass are verified. The cost per byte is flat in the number of secrets.
type Matcher struct {
	secrets []Secret
	forms   []Form
	groups  []*group
	// viewGroups index the forms only the decoded view can show (a value
	// that holds escapes, decoded): searched in its windows alone, they
	// cost the data as it is no pass of its own.
	viewGroups []*group
	maxLen     int
	tail       int // tails shorter than this escape the groups' probes

	// For prefix queries on those tails: pairs holds every prefix of one
	// or two bytes exactly (bit b0 | b1<<8, or 1<<16 | b0); triples filters
	// the first three bytes of longer ones, and prefixes each of them up
	// to 8 bytes with its length; sorted settles what passes both.
	pairs    []uint64
	triples  bloom
	prefixes bloom
	sorted   [][]byte

	collapse bool      // some secret has several lines: see decode
	views    sync.Pool // of *view, for FindAll and FindHold
}

// group indexes the forms of one length class.
type group struct {
	k, stride int
	filter    bloom // of the indexed grams
	table     gramTable
}

// Match is one occurrence of a form.
type Match struct {
	Form       int // index into Forms()
	Start, End int
	// Decoded: the form was found in the decoded view of the data (see
	// decode), so Start and End enclose its escaped spelling.
	Decoded bool
}

// New builds a matcher for the forms of secrets (see Forms).
func New(secrets []Secret, forms []Form) *Matcher {
	m := &Matcher{secrets: secrets, forms: forms}
	m.index(0)
	return m
}

// With returns a matcher for m's secrets and more, given the forms of more
// (their Secret counted from 0 in more). m's forms keep their indexes, and
// its groups of grams, the bulk of building a matcher, are shared: only the
// new forms are indexed, and the small prefix index is rebuilt.
func (m *Matcher) With(more []Secret, forms []Form) *Matcher {
	n := &Matcher{
		secrets:    append(slices.Clip(m.secrets), more...),
		forms:      slices.Clip(m.forms),
		groups:     slices.Clip(m.groups),
		viewGroups: slices.Clip(m.viewGroups),
		maxLen:     m.maxLen,
		tail:       m.tail,
	}
	for _, f := range forms {
		f.Secret += len(m.secrets)
		n.forms = append(n.forms, f)
	}
	n.index(len(m.forms))
	return n
}

// index builds the groups of the forms from the first new one on, and the
// prefix index of all of them.
func (m *Matcher) index(first int) {
	m.views.New = func() any { return new(view) }
	for _, s := range m.secrets {
		m.collapse = m.collapse || strings.ContainsAny(s.Value, "\r\n")
	}
	var short, long, decoded []int
	for i := first; i < len(m.forms); i++ {
		n := len(m.forms[i].Text)
		m.maxLen = max(m.maxLen, n)
		switch {
		case m.forms[i].Encoding == EncodingDecoded:
			decoded = append(decoded, i)
		case n >= 16:
			long = append(long, i)
		default:
			short = append(short, i)
		}
	}
	// The groups, the bulk of the work, are built side by side, and beside
	// the prefix index (issue 15).
	classes := []struct {
		idx    []int
		k      int
		groups *[]*group
		built  *group
		minLen int
	}{{idx: long, k: 8, groups: &m.groups}, {idx: short, k: 4, groups: &m.groups}, {idx: decoded, k: 4, groups: &m.viewGroups}}
	var wg sync.WaitGroup
	for i := range classes {
		if c := &classes[i]; len(c.idx) > 0 {
			wg.Go(func() { c.built, c.minLen = m.newGroup(c.idx, c.k) })
		}
	}
	m.indexPrefixes()
	wg.Wait()
	for _, c := range classes {
		if c.built != nil {
			*c.groups = append(*c.groups, c.built)
			m.tail = max(m.tail, c.minLen)
		}
	}
}

// indexPrefixes builds the prefix index of every form (see Matcher).
func (m *Matcher) indexPrefixes() {
	forms := m.forms
	m.sorted = make([][]byte, len(forms))
	for i, f := range forms {
		m.sorted[i] = f.Text
	}
	slices.SortFunc(m.sorted, bytes.Compare)
	m.pairs = make([]uint64, (1<<16+256)/64)
	m.triples = newBloom(len(forms))
	m.prefixes = newBloom(len(forms) * 5)
	for _, f := range forms {
		t := f.Text
		setBit(m.pairs, pairKey(t[:1]))
		if len(t) > 2 {
			setBit(m.pairs, pairKey(t[:2]))
		}
		if len(t) > 3 {
			m.triples.add(hash(load(t, 3)))
		}
		for n := 4; n <= min(8, len(t)-1); n++ {
			m.prefixes.add(prefixHash(t[:n]))
		}
	}
}

// pairKey is the bit of pairs for a prefix of one or two bytes.
func pairKey(p []byte) uint64 {
	if len(p) == 1 {
		return 1<<16 | uint64(p[0])
	}
	return uint64(p[0]) | uint64(p[1])<<8
}

// prefixHash hashes up to 8 bytes with their number.
func prefixHash(p []byte) uint64 { return hash(load(p, len(p)) ^ uint64(len(p))<<59) }

// newGroup indexes the forms idx with grams of k bytes, and returns the
// group and the length of its shortest form.
func (m *Matcher) newGroup(idx []int, k int) (*group, int) {
	minLen := len(m.forms[idx[0]].Text)
	for _, i := range idx {
		minLen = min(minLen, len(m.forms[i].Text))
	}
	k = min(k, minLen)
	g := &group{k: k, stride: minLen - k + 1}
	grams := make([]indexed, 0, len(idx)*g.stride)
	for _, i := range idx {
		t := m.forms[i].Text
		for off := range g.stride {
			gram := load(t[off:], k)
			grams = append(grams, indexed{hash(gram), gram, entry{int32(i), int32(off)}})
		}
	}
	g.table, g.filter = newGramTable(grams)
	return g, minLen
}

func setBit(set []uint64, h uint64) { set[h/64] |= 1 << (h % 64) }
func hasBit(set []uint64, h uint64) bool {
	return set[h/64]&(1<<(h%64)) != 0
}

// hash mixes the bits of x: the product's top half depends on all of
// them, and the shift folds it into the bottom half, which the Bloom
// filters use. Both steps can be undone, so equal hashes mean equal grams.
func hash(x uint64) uint64 {
	h := x * 0x9E3779B97F4A7C15
	return h ^ h>>32
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
// ones included, in no particular order: in the data as it is, and in its
// decoded view (see decode).
func (m *Matcher) FindAll(data []byte, fn func(Match)) { m.find(data, fn, false) }

// FindHold is FindAll and Hold in one pass: a stream's way to find what is
// in a buffer and how much of it must wait for more.
func (m *Matcher) FindHold(data []byte, fn func(Match)) int { return m.find(data, fn, true) }

// Hold returns where the longest suffix of data that could still grow into
// a form begins (a proper prefix of some form, as it is or decoded, or an
// escape cut off), or len(data) if no suffix can. A stream must hold those
// bytes back until more data shows whether they are a secret.
func (m *Matcher) Hold(data []byte) int { return m.find(data, func(Match) {}, true) }

// MaxSpan bounds the bytes one occurrence can take in the data: the longest
// form with every byte of it escaped.
func (m *Matcher) MaxSpan() int { return m.maxLen * maxEntity }

func (m *Matcher) find(data []byte, fn func(Match), hold bool) int {
	v := m.views.Get().(*view)
	defer m.views.Put(v)
	return m.findIn(v, data, 0, fn, hold)
}

// findIn finds forms in data, whose line context is prior (see decode), in
// the data as it is and in the view decoded into v. The view is searched
// only in windows around its spans: an occurrence that crosses none was
// found in the data already.
func (m *Matcher) findIn(v *view, data []byte, prior int, fn func(Match), hold bool) int {
	h := m.findRaw(data, fn, hold, false)
	if len(m.forms) == 0 {
		return h
	}
	decode(v, data, prior, hold, m.collapse)
	if len(v.spans) == 0 {
		return h
	}
	h = min(h, v.pending)
	text, reach := v.text, m.maxLen-1
	found := func(lo int) func(Match) {
		return func(x Match) {
			fn(Match{Form: x.Form, Start: v.rawStart(lo + x.Start), End: v.rawEnd(lo + x.End), Decoded: true})
		}
	}
	for i := 0; i < len(v.spans); {
		lo, hi := max(0, v.spans[i].view-reach), min(len(text), v.spans[i].viewEnd+reach)
		for i++; i < len(v.spans) && v.spans[i].view-reach <= hi; i++ {
			hi = min(len(text), v.spans[i].viewEnd+reach)
		}
		partial := hold && hi == len(text)
		if wh := m.findRaw(text[lo:hi], found(lo), partial, true); partial && wh < hi-lo {
			h = min(h, v.rawStart(lo+wh))
		}
	}
	return h
}

// findRaw finds forms in data as it is: in the data, or (view) in a window
// of its decoded view, where the view-only forms are looked for too.
func (m *Matcher) findRaw(data []byte, fn func(Match), hold, view bool) int {
	s := search{forms: m.forms, data: data, fn: fn, hold: len(data), partial: hold}
	for _, g := range m.groups {
		g.find(&s)
	}
	if view {
		for _, g := range m.viewGroups {
			g.find(&s)
		}
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
	k, stride, filter := g.k, g.stride, g.filter
	if len(data) < k {
		return
	}
	last := len(data) - k
	if k == 8 && uint64(len(filter)) < 1<<32 {
		// The hot loop: one load, one multiply, one word test per probe.
		// It reads the data and the filter through unsafe pointers: with
		// bounds checks, and the slice headers they keep live, the compiler
		// spilled the loop's state to the stack at every probe. Measured
		// (BenchmarkMatcher at 1,000 and 4,000 secrets, 5 rounds, builds
		// alternating): 1.03-1.55 GB/s with checks, median 1.23, against
		// 1.24-1.93, median 1.70, without. Both reads are in bounds by
		// construction: p <= len(data)-8, and the word (h>>32)*n>>32 is
		// below n, the filter's length, as n < 2^32.
		at := unsafe.Pointer(unsafe.SliceData(data))
		words := unsafe.Pointer(unsafe.SliceData(filter))
		n := uint64(len(filter))
		for p := 0; p <= last; p += stride {
			gram := binary.LittleEndian.Uint64((*[8]byte)(unsafe.Add(at, p))[:])
			h := hash(gram)
			want := bloomBits(h)
			if w := *(*uint64)(unsafe.Add(words, ((h>>32)*n>>32)*8)); w&want == want {
				g.verify(s, p, gram, h)
			}
		}
		return
	}
	for p := 0; p <= last; p += stride {
		gram := load(data[p:], k)
		if h := hash(gram); filter.has(h) {
			g.verify(s, p, gram, h)
		}
	}
}

// verify checks the forms indexed under the gram found at p. A form that
// runs past the end of data is a cut-off one if data ends with its start.
func (g *group) verify(s *search, p int, gram, h uint64) {
	for _, e := range g.table.lookup(gram, h) {
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
	if !m.triples.has(hash(load(s, 3))) || len(s) > 3 && !m.prefixes.has(prefixHash(s[:min(8, len(s))])) {
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
