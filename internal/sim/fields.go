package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// fieldMask is a parsed partial-response selector (the `fields` parameter
// of every Google API): member name -> selection inside that member, where
// a nil selection keeps the whole member. "*" selects every member.
//
// Syntax (https://developers.google.com/youtube/v3/getting-started#partial):
// a comma-separated list of selections; a/b selects b inside a; a(b,c)
// selects b and c inside a; a selection inside an array applies to each
// element (items(id,snippet/title)).
type fieldMask map[string]fieldMask

// parseFields parses a fields expression. An empty expression is an error
// (as an empty selection is for the API); callers skip absent parameters.
func parseFields(expr string) (fieldMask, error) {
	p := &fieldParser{s: expr}
	m := fieldMask{}
	if err := p.list(m); err != nil {
		return nil, err
	}
	if p.i != len(p.s) {
		return nil, fmt.Errorf("unexpected %q at offset %d", p.s[p.i], p.i)
	}
	return m, nil
}

type fieldParser struct {
	s string
	i int
}

func (p *fieldParser) list(into fieldMask) error {
	for {
		if err := p.selection(into); err != nil {
			return err
		}
		if p.i < len(p.s) && p.s[p.i] == ',' {
			p.i++
			continue
		}
		return nil
	}
}

// selection parses path ['(' list ')'] and merges it into into.
func (p *fieldParser) selection(into fieldMask) error {
	var path []string
	for {
		name := p.name()
		if name == "" {
			if p.i < len(p.s) {
				return fmt.Errorf("unexpected %q at offset %d", p.s[p.i], p.i)
			}
			return fmt.Errorf("unexpected end of selection")
		}
		path = append(path, name)
		if p.i < len(p.s) && p.s[p.i] == '/' {
			p.i++
			continue
		}
		break
	}
	var sub fieldMask // nil: the whole member
	if p.i < len(p.s) && p.s[p.i] == '(' {
		p.i++
		sub = fieldMask{}
		if err := p.list(sub); err != nil {
			return err
		}
		if p.i >= len(p.s) || p.s[p.i] != ')' {
			return fmt.Errorf("missing ')' at offset %d", p.i)
		}
		p.i++
	}
	// Build the nested mask for path and merge it.
	for i := len(path) - 1; i > 0; i-- {
		sub = fieldMask{path[i]: sub}
	}
	mergeMask(into, path[0], sub)
	return nil
}

func mergeMask(into fieldMask, name string, sub fieldMask) {
	prev, ok := into[name]
	switch {
	case !ok:
		into[name] = sub
	case prev == nil:
		// already the whole member
	case sub == nil:
		into[name] = nil
	default:
		for k, v := range sub {
			mergeMask(prev, k, v)
		}
	}
}

func (p *fieldParser) name() string {
	start := p.i
	for p.i < len(p.s) {
		c := p.s[p.i]
		if c == '_' || c == '*' || c == '-' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') {
			p.i++
			continue
		}
		break
	}
	return p.s[start:p.i]
}

// filterJSON returns compact JSON (as produced by encoding/json: no
// insignificant whitespace) restricted to mask, members in their original
// order. Objects left without members by a selection are dropped from their
// parent object (array elements are kept, possibly as {}).
func filterJSON(raw []byte, mask fieldMask) []byte {
	var out bytes.Buffer
	out.Grow(len(raw))
	filterValue(&out, raw, mask)
	return out.Bytes()
}

// filterValue writes v (one compact JSON value) filtered by mask; it reports
// false when nothing was selected (an object emptied by the selection, or a
// scalar under a sub-selection), in which case the caller drops the member.
func filterValue(out *bytes.Buffer, v []byte, mask fieldMask) bool {
	if mask == nil || len(v) == 0 {
		out.Write(v)
		return true
	}
	switch v[0] {
	case '{':
		out.WriteByte('{')
		n := 0
		i := 1
		for i < len(v) && v[i] != '}' {
			kEnd := skipJSON(v, i)
			key := v[i:kEnd]
			i = kEnd + 1 // ':'
			vEnd := skipJSON(v, i)
			val := v[i:vEnd]
			i = vEnd
			if i < len(v) && v[i] == ',' {
				i++
			}
			name := string(key[1 : len(key)-1])
			sub, ok := mask[name]
			if !ok {
				sub, ok = mask["*"]
			}
			if !ok {
				continue
			}
			mark := out.Len()
			if n > 0 {
				out.WriteByte(',')
			}
			out.Write(key)
			out.WriteByte(':')
			if !filterValue(out, val, sub) {
				out.Truncate(mark) // an object with nothing selected
				continue
			}
			n++
		}
		out.WriteByte('}')
		return n > 0
	case '[':
		out.WriteByte('[')
		i := 1
		for k := 0; i < len(v) && v[i] != ']'; k++ {
			end := skipJSON(v, i)
			if k > 0 {
				out.WriteByte(',')
			}
			if c := v[i]; c == '{' || c == '[' {
				filterValue(out, v[i:end], mask)
			} else {
				out.Write(v[i:end]) // scalars of an array are kept
			}
			i = end
			if i < len(v) && v[i] == ',' {
				i++
			}
		}
		out.WriteByte(']')
		return true
	}
	return false // a scalar has no members to select
}

// skipJSON returns the end of the compact JSON value starting at b[i].
func skipJSON(b []byte, i int) int {
	switch b[i] {
	case '"':
		for j := i + 1; j < len(b); j++ {
			switch b[j] {
			case '\\':
				j++
			case '"':
				return j + 1
			}
		}
		return len(b)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				j = skipJSON(b, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return len(b)
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' {
		j++
	}
	return j
}

// encodeFields encodes v restricted to mask (nil = everything), compact or
// with Google's pretty printing.
func encodeFields(v any, mask fieldMask, pretty bool) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("sim: encode response: %v", err))
	}
	if mask != nil {
		b = filterJSON(b, mask)
	}
	if !pretty {
		return b
	}
	var out bytes.Buffer
	out.Grow(len(b) + len(b)/4)
	if err := json.Indent(&out, b, "", "  "); err != nil {
		panic(fmt.Sprintf("sim: indent response: %v", err))
	}
	out.WriteByte('\n')
	return out.Bytes()
}

// errInvalidFields is the 400 of a fields expression that does not parse.
func errInvalidFields(expr string) *apiError {
	msg := "Invalid field selection " + strings.TrimSpace(expr)
	return &apiError{status: 400, domain: "global", reason: "invalidParameter", message: msg, locationType: "parameter", location: "fields"}
}
