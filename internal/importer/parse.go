package importer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tubelake/tubelake/internal/yt"
)

// parseCount parses a statistic: "" or absent means hidden (nil); otherwise a
// non-negative decimal integer.
func parseCount(field, s string) (*int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return nil, fmt.Errorf("%s: invalid count %q: want a non-negative integer", field, clip(s))
	}
	return &n, nil
}

// parseJSONCount parses an API count sent as a decimal string ("123", as the
// API does) or a JSON number (123); null or absent means hidden.
func parseJSONCount(field string, raw json.RawMessage) (*int64, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("%s: %w", field, err)
		}
		return parseCount(field, s)
	}
	// A number: accept integral values only (1e3 and 12.0 are fine, 1.5 is not).
	s := string(raw)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n >= 0 {
		return &n, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f != float64(int64(f)) || f > 1<<62 {
		return nil, fmt.Errorf("%s: invalid count %s: want a non-negative integer", field, clip(s))
	}
	n := int64(f)
	return &n, nil
}

// parseTime parses an RFC 3339 timestamp ("" is the zero time).
func parseTime(field, s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: invalid timestamp %q: want RFC 3339 like 2020-08-12T00:00:00Z", field, clip(s))
	}
	return t.UTC(), nil
}

// parseLayout parses s with layout in UTC ("" is the zero time).
func parseLayout(field, s, layout, example string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(layout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: invalid date %q: want %s", field, clip(s), example)
	}
	return t.UTC(), nil
}

// parseBool parses a CSV boolean (True/False as pandas writes them); "" is false.
func parseBool(field, s string) (bool, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, fmt.Errorf("%s: invalid boolean %q: want True or False", field, clip(s))
	}
	return b, nil
}

// splitTags splits a |-separated tag list. "[None]"/"[none]" means no tags;
// the datasnaek format quotes each tag ("a"|"b"), the quotes are removed.
func splitTags(s string) []string {
	s = strings.TrimSpace(s)
	if s == "" || strings.EqualFold(s, "[none]") {
		return nil
	}
	parts := strings.Split(s, "|")
	tags := make([]string, 0, len(parts))
	for _, p := range parts {
		if len(p) >= 2 && p[0] == '"' && p[len(p)-1] == '"' {
			p = p[1 : len(p)-1]
		}
		if p = strings.TrimSpace(p); p != "" {
			tags = append(tags, p)
		}
	}
	if len(tags) == 0 {
		return nil
	}
	return tags
}

// cleanTags drops empty tags and the [none] marker from a JSON tag list.
func cleanTags(in []string) []string {
	var out []string
	for _, t := range in {
		t = validUTF8(strings.TrimSpace(t))
		if t == "" || (len(in) == 1 && strings.EqualFold(t, "[none]")) {
			continue
		}
		out = append(out, t)
	}
	return out
}

// validUTF8 replaces invalid UTF-8 by U+FFFD so that every sink stores the
// same text (encoding/json would do it silently on the stream).
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// clip shortens a value quoted in an error message.
func clip(s string) string {
	const max = 60
	if len(s) <= max {
		return s
	}
	i := max
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "..."
}

// apiThumb is an API thumbnail object.
type apiThumb struct {
	URL    string `json:"url"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
}

var thumbOrder = []string{"maxres", "standard", "high", "medium", "default"}

// bestThumb picks the largest thumbnail (ties: maxres > standard > high >
// medium > default); single is our own model's one-thumbnail field.
func bestThumb(m map[string]apiThumb, single *apiThumb) yt.Thumbnail {
	var best *apiThumb
	area := -1
	consider := func(t apiThumb) {
		if t.URL == "" {
			return
		}
		if a := t.Width * t.Height; a > area {
			tt := t
			best, area = &tt, a
		}
	}
	for _, k := range thumbOrder {
		if t, ok := m[k]; ok {
			consider(t)
		}
	}
	if best == nil && single != nil {
		consider(*single)
	}
	if best == nil {
		keys := make([]string, 0, len(m)) // non-standard keys only; rare
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			consider(m[k])
		}
	}
	if best == nil {
		return yt.Thumbnail{}
	}
	return yt.Thumbnail{URL: best.URL, Width: best.Width, Height: best.Height}
}
