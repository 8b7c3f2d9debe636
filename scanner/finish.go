package scanner

import "github.com/secretgate/secretgate/scanner/source"

// finish settles the findings in layered sources (images): each is marked
// deleted when no later layer leaves its file in the final filesystem, and
// a secret repeated at the same place of the same file in several layers is
// reported once, at the live copy in the highest layer.
func finish(findings []Finding, sources []Source) []Finding {
	layered := map[string]source.Layered{}
	for _, s := range sources {
		if l, ok := s.(source.Layered); ok {
			layered[s.Name()] = l
		}
	}
	if len(layered) == 0 {
		return findings
	}
	type key struct {
		target, rule, path, fingerprint string
		line, column                    int
		offset                          int64
	}
	type kept struct{ index, rank int }
	best := map[key]kept{}
	out := findings[:0:0]
	for _, f := range findings {
		l := layered[f.Target]
		if l == nil || f.Layer == "" {
			out = append(out, f)
			continue
		}
		live, rank := l.Live(f.Path, f.Layer)
		f.Deleted = live == ""
		if live != "" {
			f.Path = live
		}
		k := key{f.Target, f.Rule, f.Path, f.Fingerprint, f.Line, f.Column, f.Offset}
		prev, ok := best[k]
		if !ok {
			best[k] = kept{len(out), rank}
			out = append(out, f)
			continue
		}
		p := out[prev.index]
		// Keep the live one, then the one in the higher layer.
		if p.Deleted == f.Deleted && prev.rank >= rank || !p.Deleted && f.Deleted {
			continue
		}
		out[prev.index] = f
		best[k] = kept{prev.index, rank}
	}
	return out
}
