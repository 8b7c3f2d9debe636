package image

import (
	"archive/tar"
	"path"
	"slices"
	"strings"
)

// imageInfo is one platform's image: its layer digests, bottom first.
type imageInfo struct {
	prefix string // TARGET, or TARGET!PLATFORM for one of several platforms
	layers []string
}

// layerInfo is what a layer's tar held.
type layerInfo struct {
	entries   map[string]byte     // every path it wrote, with its tar type
	whiteouts map[string]bool     // paths it deleted
	opaque    map[string]bool     // directories whose earlier content it hid
	links     map[string][]string // hard link target -> the links to it
	linkOf    map[string]string   // hard link -> its target
}

func newLayerInfo() *layerInfo {
	return &layerInfo{
		entries: map[string]byte{}, whiteouts: map[string]bool{}, opaque: map[string]bool{},
		links: map[string][]string{}, linkOf: map[string]string{},
	}
}

// Live implements source.Layered. A file is deleted when a later layer
// removes it by any means: a whiteout of it or of a parent, an opaque
// parent, an entry of any type at its path (a file, a symbolic link, a
// directory), or a parent replaced by something that is not a directory.
// Content written once and hard-linked under other names in the same layer
// lives while any of those names does: the finding is then live at the
// name that survives.
func (s *Source) Live(p, layer string) (string, int) {
	file, ok := strings.CutPrefix(p, s.target+"!")
	if !ok {
		return p, 0
	}
	file, member, _ := strings.Cut(file, "!")
	rank := -1
	live := ""
	// A layer is read once for every image (platform) that has it: the file
	// is live if it is live in any of them.
	for _, img := range s.images {
		i := slices.Index(img.layers, layer)
		if i < 0 {
			continue
		}
		rank = max(rank, i)
		for _, name := range s.names(layer, file) {
			if live == "" && s.survives(img, i, name) {
				live = s.target + "!" + name
				if member != "" {
					live += "!" + member
				}
			}
		}
	}
	if rank < 0 {
		return p, 0
	}
	return live, rank
}

// names returns the names under which layer holds file's content: file
// first, then its hard links (or, for a link, its target and the target's
// other links), sorted.
func (s *Source) names(layer, file string) []string {
	l := s.layers[layer]
	if l == nil {
		return []string{file}
	}
	root := file
	if t, ok := l.linkOf[file]; ok {
		root = t
	}
	var others []string
	if root != file {
		others = append(others, root)
	}
	for _, q := range l.links[root] {
		if q != file {
			others = append(others, q)
		}
	}
	slices.Sort(others)
	return append([]string{file}, slices.Compact(others)...)
}

// survives reports whether the name p that layer i of img wrote is in the
// image's final filesystem.
func (s *Source) survives(img *imageInfo, i int, p string) bool {
	for _, d := range img.layers[i+1:] {
		l := s.layers[d]
		if l == nil {
			continue
		}
		if _, ok := l.entries[p]; ok || l.whiteouts[p] {
			return false
		}
		for dir := path.Dir(p); dir != "/" && dir != "."; dir = path.Dir(dir) {
			if l.whiteouts[dir] || l.opaque[dir] {
				return false
			}
			if t, ok := l.entries[dir]; ok && t != tar.TypeDir {
				return false // a parent replaced by a file or a link
			}
		}
	}
	return true
}
