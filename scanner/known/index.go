package known

import "math/bits"

// bloom is a blocked Bloom filter: a key sets two bits of one word, so a
// query costs one memory access.
type bloom []uint64

// bitsPerKey sizes every Bloom filter: with two bits set in a word, 16
// bits a key let about 1% of absent keys through.
const bitsPerKey = 16

// newBloom returns a filter sized for n keys.
func newBloom(n int) bloom { return make(bloom, max(1, n*bitsPerKey/64)) }

func (b bloom) add(h uint64) { b[b.word(h)] |= bloomBits(h) }

func (b bloom) has(h uint64) bool {
	want := bloomBits(h)
	return b[b.word(h)]&want == want
}

// word maps the top half of h onto the words (a multiply, not a modulo).
func (b bloom) word(h uint64) uint64 { return (h >> 32) * uint64(len(b)) >> 32 }

// bloomBits picks the two bits of a word that h sets, from its bottom bits.
func bloomBits(h uint64) uint64 { return 1<<(h&63) | 1<<(h>>6&63) }

// entry is one indexed gram of a form: the form and the gram's offset.
type entry struct {
	form   int32
	offset int32
}

// gramTable maps a gram to its entries: open addressing with linear
// probing, half full, each slot holding its gram and where its entries are,
// so that a gram that is absent (a Bloom false positive) costs one cache
// line, where a Go map costs three.
type gramTable struct {
	slots   []slot
	entries []entry
	shift   uint
}

type slot struct {
	gram   uint64
	lo, hi uint32 // entries[lo:hi]; hi == 0 marks an empty slot
}

// indexed is an entry with its gram and the gram's hash.
type indexed struct {
	h, gram uint64
	entry
}

// newGramTable indexes grams, and returns the table and a Bloom filter of
// the grams in it. Sorted by hash, the grams fill the table in the order
// of their home slots, so that each goes to the first slot past the last
// one filled: the building writes memory in sequence.
func newGramTable(grams []indexed) (gramTable, bloom) {
	grams = sortByHash(grams)
	n := 0
	for i := range grams {
		if i == 0 || grams[i].h != grams[i-1].h {
			n++
		}
	}
	b := uint(bits.Len(uint(2 * n))) // at least 2 slots a gram
	t := gramTable{slots: make([]slot, 1<<b), entries: make([]entry, 0, len(grams)), shift: 64 - b}
	filter := newBloom(n)
	mask := uint64(len(t.slots) - 1)
	last := -1
	for len(grams) > 0 {
		j := 1
		for j < len(grams) && grams[j].h == grams[0].h {
			j++
		}
		h, gram := grams[0].h, grams[0].gram
		lo := uint32(len(t.entries))
		for _, g := range grams[:j] {
			t.entries = append(t.entries, g.entry)
		}
		grams = grams[j:]
		i := h >> t.shift
		if last >= 0 && i <= uint64(last) {
			i = uint64(last) + 1 // [i, last] is full: the cluster it is in
		}
		for i &= mask; t.slots[i].hi != 0; i = (i + 1) & mask {
		}
		t.slots[i] = slot{gram: gram, lo: lo, hi: uint32(len(t.entries))}
		last = int(i)
		filter.add(h)
	}
	return t, filter
}

// lookup returns the entries of gram, whose hash is h.
func (t *gramTable) lookup(gram, h uint64) []entry {
	mask := uint64(len(t.slots) - 1)
	for i := h >> t.shift; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.hi == 0 {
			return nil
		}
		if s.gram == gram {
			return t.entries[s.lo:s.hi]
		}
	}
}

// sortByHash sorts grams by hash, which is one-to-one (see hash), so that
// equal grams end up side by side. It is a radix sort, 16 bits a pass: a
// comparison sort took half of the 200 ms the matcher for 4,000 secrets
// may take to build.
func sortByHash(grams []indexed) []indexed {
	tmp := make([]indexed, len(grams))
	var count [1 << 16]int
	for shift := 0; shift < 64; shift += 16 {
		clear(count[:])
		for _, g := range grams {
			count[g.h>>shift&0xffff]++
		}
		at := 0
		for d, c := range count {
			count[d] = at
			at += c
		}
		for _, g := range grams {
			d := g.h >> shift & 0xffff
			tmp[count[d]] = g
			count[d]++
		}
		grams, tmp = tmp, grams
	}
	return grams
}
