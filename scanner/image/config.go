package image

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/secretgate/secretgate/scanner/source"
)

// maxConfig bounds the size of an image config read as text: configs are
// a few KiB, and one that is not must not claim unbounded memory.
const maxConfig = 8 << 20

// visitConfig yields the config fields and history of an image as text.
// The config is read as stored (RawConfigFile), so history entries are
// numbered oldest first on every transport: the Docker API's history
// lists newest first.
// It returns the config, for its layers' diff_ids.
func (s *Source) visitConfig(f found, w source.Walker) (*v1.ConfigFile, error) {
	raw, err := f.img.RawConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading the config: %w", err)
	}
	if len(raw) > maxConfig {
		return nil, fmt.Errorf("the config is larger than %d MiB", maxConfig>>20)
	}
	cf, err := v1.ParseConfigFile(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("parsing the config: %w", err)
	}
	c := cf.Config
	fields := []struct{ name, text string }{
		{"config:Env", strings.Join(c.Env, "\n")},
		{"config:Labels", mapLines(c.Labels)},
		{"config:Cmd", strings.Join(c.Cmd, " ")},
		{"config:Entrypoint", strings.Join(c.Entrypoint, " ")},
		{"config:WorkingDir", c.WorkingDir},
		{"config:User", c.User},
		{"config:Healthcheck", healthcheck(c.Healthcheck)},
	}
	// A docker save tarball and the Docker API store no manifest: the one
	// go-containerregistry makes up for them has no annotations, and costs
	// gzip-compressing every layer to compute its digests.
	if !s.uncompressedDigests() {
		if m, err := f.img.Manifest(); err == nil && len(m.Annotations) > 0 {
			fields = append(fields, struct{ name, text string }{"manifest:annotations", mapLines(m.Annotations)})
		}
	}
	for i, h := range cf.History {
		fields = append(fields, struct{ name, text string }{fmt.Sprintf("history:%d", i), strings.TrimSpace(h.CreatedBy + "\n" + h.Comment)})
	}
	for _, fd := range fields {
		if strings.TrimSpace(fd.text) == "" {
			continue
		}
		if err := w.Visit(textContent(f.prefix+"!"+fd.name, fd.name, fd.text+"\n")); err != nil {
			return nil, err
		}
	}
	return cf, nil
}

func healthcheck(h *v1.HealthConfig) string {
	if h == nil {
		return ""
	}
	return strings.Join(h.Test, " ")
}

func mapLines(m map[string]string) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(m)) {
		fmt.Fprintf(&b, "%s=%s\n", k, m[k])
	}
	return b.String()
}

// textContent is a piece of image metadata scanned as text. id leaves out
// the target, so fingerprints do not change with its tag or transport.
func textContent(p, id, text string) source.Content {
	return source.Content{Path: p, FilePath: p, ID: id, Open: func() (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader(text)), nil
	}}
}
