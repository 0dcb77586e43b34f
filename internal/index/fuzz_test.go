package index

import (
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"unicode/utf8"
)

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"초등영어", "ＡＢＣ abc", "ﾒｲｸ💄😱", "Straße ǅ ﬁ", "ㅊㄷㅇㅇ", "\u1100\u1161\u11a8", "a\u0308", "  x\t\ny ", "\xff\xfe", "ΐ", "ᾈ", "ㅋㅋ 초등", "ＡＢＣㅎ", "Hello World", "ｶﾀｶﾅ ㅂ", "★신곡★ → 초등영어 • 々 ♪ – ☆…", "ㅋ→ㅋ", "e☆\u0301", "ㅋㅏ", "가\u11ab", "\u1100\u1161\xff\u11ab", "か\u3099", "ｶ\u3099", "Олег ①\uf9e1", "🫶🟥", "뷸ㅔㅔㅔㅔㅔㅔㅔㅔㅔㅔㅔㅔㅔㅔㅔㅔㅔㅔㅔㅔㅔㅔㅔㅔㅔㅔㅔㅔㅔㅔㅔㅔㅔㅔㅔ ㅣ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := Normalize(s)
		if !utf8.ValidString(n) {
			t.Fatalf("Normalize(%q) = %q: invalid UTF-8", s, n)
		}
		if ref := normalizeRef(s); n != ref {
			t.Fatalf("Normalize(%q) = %q, the pipeline iterated to its fixed point gives %q", s, n, ref)
		}
		if fast, ok := normalizeFast(s); ok && fast != normalizeSlow(s) {
			t.Fatalf("fast path %q != full pipeline %q for %q", fast, normalizeSlow(s), s)
		}
		if n2 := Normalize(n); n2 != n {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, n, n2)
		}
		_ = LayoutToHangul(s)
		_ = HangulToLayout(s)
		g := appendGrams(nil, n)
		_ = uniqGrams(g)
	})
}

// normalizeRef is Normalize without its shortcuts: normalizeOnce iterated
// to the fixed point.
func normalizeRef(s string) string { return fixedPoint(normalizeOnce, s) }

// fixedPoint applies pass to s until the text stops changing (at most five
// passes).
func fixedPoint(pass func(string) string, s string) string {
	out := pass(s)
	for range 4 {
		next := pass(out)
		if next == out {
			break
		}
		out = next
	}
	return out
}

// FuzzQuery parses arbitrary queries with every option and runs them on a
// small index: no panic, and the only error is ErrBadQuery.
func FuzzQuery(f *testing.F) {
	ix, err := Open("", Options{})
	if err != nil {
		f.Fatal(err)
	}
	defer ix.Close()
	for _, s := range smallCorpus() {
		mustApply(f, ix, s.rec())
	}
	for _, s := range []string{"영어", `"hardcore 100"`, "ㅊㄷㅇㅇ", "chemdduddj", `"unterminated`, `a"b"c`, "  ", "💄", "ㅊ등", "\"\"\"", "a b c d"} {
		f.Add(s, uint8(0), "")
	}
	f.Fuzz(func(t *testing.T, q string, opts uint8, cur string) {
		query := Query{
			Q: q, Initials: opts&1 != 0, Layout: opts&2 != 0, Limit: int(opts >> 4), Cursor: cur,
			Sort: []Sort{SortViews, SortRecent, SortRelevance, ""}[(opts>>2)&3],
		}
		if opts&8 != 0 {
			query.In = []Field{FieldTitle, FieldTags, FieldChannel, FieldDescription}
		}
		res, err := ix.Search(context.Background(), query)
		if err != nil {
			if !errors.Is(err, ErrBadQuery) {
				t.Fatalf("%+v: %v", query, err)
			}
			return
		}
		if len(res.Items) > res.Total {
			t.Fatalf("%+v: %d items > total %d", query, len(res.Items), res.Total)
		}
	})
}

// FuzzOpenSnapshot: any snapshot bytes with a matching checksum either
// fail to open with an error or open into an index that answers searches,
// flushes and closes; nothing panics. The seed is a real snapshot with
// lists, frozen blobs, filters and a tombstone.
func FuzzOpenSnapshot(f *testing.F) {
	_, seed, recs := smallSnapshot(f)
	f.Add(seed[:len(seed)-4]) // the body; the fuzz target appends the checksum
	f.Fuzz(func(t *testing.T, body []byte) {
		dir := t.TempDir()
		b := binary.LittleEndian.AppendUint32(slices.Clone(body), crc32.Checksum(body, crcTable))
		if err := os.WriteFile(filepath.Join(dir, snapName), b, 0o644); err != nil {
			t.Fatal(err)
		}
		ix, err := Open(dir, Options{})
		if err != nil {
			return
		}
		defer ix.Close()
		for _, q := range []string{"영어", "minecraft", "t", "ㅇㅇ"} {
			if _, err := ix.Search(context.Background(), Query{Q: q, ExactTotal: true, Initials: true}); err != nil && !errors.Is(err, ErrBadQuery) {
				t.Fatalf("search %q: %v", q, err)
			}
		}
		if err := ix.Apply(context.Background(), recs[:2]); err != nil {
			t.Fatalf("apply: %v", err)
		}
		if err := ix.Flush(context.Background(), 2); err != nil {
			t.Fatalf("flush: %v", err)
		}
	})
}
