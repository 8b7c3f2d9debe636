package scanner

import "github.com/secretgate/secretgate/scanner/source"

// finish settles the findings of history and of layered sources: a
// secret that several commits' versions of a file hold is reported once, at
// the oldest commit; in images (see settleLayers) once, at the live copy.
func finish(findings []Finding, sources []Source) []Finding {
	return settleLayers(oldestCommits(findings), sources)
}

// oldestCommits keeps, of the history findings with the same rule, path and
// secret (fingerprint), the one at the oldest commit.
func oldestCommits(findings []Finding) []Finding {
	type key struct{ target, rule, path, fingerprint string }
	best := map[key]int{}
	out := findings[:0:0]
	for _, f := range findings {
		if f.order == 0 {
			out = append(out, f)
			continue
		}
		k := key{f.Target, f.Rule, f.Path, f.Fingerprint}
		i, ok := best[k]
		switch {
		case !ok:
			best[k] = len(out)
			out = append(out, f)
		case f.order < out[i].order || f.order == out[i].order && (f.Line < out[i].Line || f.Line == out[i].Line && f.Offset < out[i].Offset):
			out[i] = f
		}
	}
	return out
}

// settleLayers settles the findings in layered sources (images): each is
// marked deleted when no later layer leaves its file in the final
// filesystem, and a secret repeated at the same place of the same file in
// several layers is reported once, at the live copy in the highest layer.
func settleLayers(findings []Finding, sources []Source) []Finding {
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
