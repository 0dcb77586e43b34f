package index

import (
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
	"unsafe"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
	"golang.org/x/text/width"
)

// tagSep separates the normalized tags of one video inside the tags field.
// Normalize removes control characters, so no text or query ever contains it,
// and no gram is built across it.
const tagSep = '\x1f'

// Normalize returns the search form of s: invalid UTF-8 dropped, width folded,
// NFKC, Unicode case folded, control and format characters removed, every run
// of white space collapsed to one ASCII space, trimmed. Hangul stays one rune
// per syllable (NFKC composes conjoining jamo; compatibility jamo such as ㅊ
// become conjoining choseong U+110E, consistently for texts and queries).
// Normalize is idempotent: Normalize(Normalize(s)) == Normalize(s).
func Normalize(s string) string {
	// The fast path's output is its own normal form unless it made
	// choseong (not stable runes): skip the checking pass.
	out, ok, fixed := normalizeFastFixed(s)
	if ok && fixed {
		return out
	}
	if !ok {
		out = normalizeSlow(s) // what normalizeOnce(s) would do, without the fast pass again
	}
	// NFKC and case folding do not commute for a handful of code points;
	// iterate to the fixed point (in practice one extra pass at most).
	for i := 0; i < 4; i++ {
		next := normalizeOnce(out)
		if next == out {
			return out
		}
		out = next
	}
	return out
}

func normalizeOnce(s string) string {
	if out, ok := normalizeFast(s); ok {
		return out
	}
	return normalizeSlow(s)
}

// normalizeSlow is the full pipeline.
func normalizeSlow(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "")
	}
	s = width.Fold.String(s)
	s = norm.NFKC.String(s)
	s = cases.Fold().String(s)
	s = norm.NFKC.String(s)
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		switch {
		case unicode.IsSpace(r):
			space = b.Len() > 0
			continue
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError:
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(foldCherokee(r))
	}
	return b.String()
}

// foldCherokee maps Cherokee small letters to capitals, as Unicode case
// folding specifies. x/text's cases.Fold maps them the other way round and
// capitals to small ones, which would make Normalize oscillate.
func foldCherokee(r rune) rune {
	switch {
	case r >= 0xAB70 && r <= 0xABBF:
		return 0x13A0 + (r - 0xAB70)
	case r >= 0x13F8 && r <= 0x13FD:
		return r - 8
	}
	return r
}

// isStable reports whether r is unchanged by the whole pipeline and cannot
// combine with a neighbour (no decomposition, no case, not a combining mark).
// TestStableRunes checks every rune of this set.
func isStable(r rune) bool {
	switch {
	case r >= 0x21 && r <= 0x7e:
		return r < 'A' || r > 'Z'
	case r >= hangulBase && r <= hangulLast,
		r >= 0x4E00 && r <= 0x9FFF, // CJK unified ideographs
		r >= 0x3041 && r <= 0x3096, // hiragana
		r >= 0x30A1 && r <= 0x30FA, // katakana
		r == 0x30FC,                // ー
		r >= 0x3001 && r <= 0x3002, // 、。
		r >= 0x300C && r <= 0x3011, // 「」『』【】
		r == 0x301C, r == 0x30FB, r == 0x2014, r == 0x2018, r == 0x2019, r == 0x201C, r == 0x201D, r == 0x203B, r == 0x2764, r == 0xD7,
		r >= 0xE0 && r <= 0xFE, // Latin-1 small letters (ß is 0xDF)
		r == 0xFE0F,
		r >= 0x1F300 && r <= 0x1F64F, r >= 0x1F680 && r <= 0x1F6FF, r >= 0x1F900 && r <= 0x1F9FF: // emoji
		return true
	case r < 0x10000:
		return stableBMP()[r>>6]>>(r&63)&1 != 0
	case r >= 0x1F000 && r < 0x20000:
		return stableBMP()[1<<10+(r-0x1F000)>>6]>>(r&63)&1 != 0
	}
	return false
}

// stableBMP marks the BMP runes the full pipeline leaves alone and that
// cannot combine with a rune before them (NFKC boundary before: no
// composition or reordering across them), so a text of such runes is its
// own normal form: the common symbols and punctuation of real titles (→, –,
// ☆, •, ·, 々, ♪, ...) that the explicit list in isStable misses. Computed
// once per process (about 30 ms; Open builds it), read only after.
//
// Words 1024.. hold the same for the symbols and emoji of U+1F000..1FFFF.
var stableBMP = sync.OnceValue(func() *[1<<10 + 1<<6]uint64 {
	var t [1<<10 + 1<<6]uint64
	fold := cases.Fold()
	for r := rune(0x80); r < 0x20000; r++ {
		if r >= 0xD800 && r <= 0xDFFF {
			continue
		}
		if r == 0x10000 {
			r = 0x1F000
		}
		s := string(r)
		if r == utf8.RuneError || !norm.NFKC.PropertiesString(s).BoundaryBefore() || unicode.IsSpace(r) ||
			unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || (r >= 0x3131 && r <= 0x318E) || (r >= 0x1100 && r <= 0x11FF) {
			continue
		}
		x := width.Fold.String(s)
		x = norm.NFKC.String(x)
		x = fold.String(x)
		x = norm.NFKC.String(x)
		if x == s && foldCherokee(r) == r {
			w := r >> 6
			if r >= 0x1F000 {
				w = 1<<10 + (r-0x1F000)>>6
			}
			t[w] |= 1 << (r & 63)
		}
	}
	return &t
})

// normalizeFast handles the common case without the x/text passes: text of
// stable runes, ASCII capitals, fullwidth ASCII, compatibility consonants not
// followed by a vowel, white space and zero-width format characters. It
// reports false when the text needs the full pipeline.
func normalizeFast(s string) (string, bool) {
	out, ok, _ := normalizeFastFixed(s)
	return out, ok
}

// normalizeFastFixed is normalizeFast, also reporting whether the result
// is certainly a fixed point of Normalize: it holds only stable runes,
// lower-case ASCII and single inner spaces, which normalizeFast returns
// unchanged (no lone conjoining jamo was written).
func normalizeFastFixed(s string) (string, bool, bool) {
	k := normalPrefix(s)
	if k == len(s) && (k == 0 || s[k-1] != ' ') {
		return s, true, true // most texts without capitals: no copy
	}
	if k > 0 && s[k-1] == ' ' {
		k-- // the loop decides whether a space is kept
	}
	fold := foldBMP()
	fixed := true
	b := make([]byte, 0, len(s)+8)
	b = append(b, s[:k]...)
	space := false
	// prev is the rune the previous input rune wrote last (0: none): a
	// jongseong after an LV syllable, or a voicing mark after a kana,
	// composes with it.
	prev, _ := utf8.DecodeLastRuneInString(s[:k])
	if k == 0 {
		prev = 0
	}
	lone := 0 // lone jungseong and jongseong written in a row
	for i := k; i < len(s); {
		r, sz := utf8.DecodeRuneInString(s[i:])
		i += sz
		last := prev
		prev = 0
		loneNow := false
		switch {
		case r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == 0x3000 || r == 0xA0:
			space = len(b) > 0
			continue
		case r == 0x200B || r == 0x200D || r == 0xFEFF || r == utf8.RuneError:
			// Format characters; invalid UTF-8 and U+FFFD are dropped.
			// The full pipeline drops invalid bytes before NFKC, so a
			// jongseong after them still joins the syllable before.
			if r == utf8.RuneError && sz == 1 {
				prev = last
			}
			continue
		case r == 0x2026 || r == 0x203C || r == 0x2049: // … ‼ ⁉: NFKC spells them in ASCII
			if space {
				b = append(b, ' ')
				space = false
			}
			switch r {
			case 0x2026:
				b = append(b, "..."...)
			case 0x203C:
				b = append(b, "!!"...)
			default:
				b = append(b, "!?"...)
			}
			continue
		case r >= 'A' && r <= 'Z':
			r += 'a' - 'A'
		case r >= 0xFF01 && r <= 0xFF5E: // fullwidth ASCII
			r -= 0xFEE0
			if r >= 'A' && r <= 'Z' {
				r += 'a' - 'A'
			}
		case r >= 0x1100 && r <= 0x11FF || r >= 0x3131 && r <= 0x318E:
			// Hangul jamo: NFKC maps compatibility jamo to conjoining
			// ones and composes a choseong and a jungseong (and a
			// following jongseong) into a syllable.
			j := jamoClass(r)
			switch {
			case j == jamoOther:
				return "", false, false
			case j == jamoT && isLV(last):
				// A jongseong right after an LV syllable joins it.
				_, n := utf8.DecodeLastRune(b)
				b = utf8.AppendRune(b[:len(b)-n], last+(r-jongBase))
				continue
			case j == jamoL:
				cho := r
				if r >= 0x3131 {
					cho = compatToCho(r)
				}
				n, nsz := utf8.DecodeRuneInString(s[i:])
				if i < len(s) && n == utf8.RuneError {
					return "", false, false // the full pipeline may join across invalid bytes
				}
				if i < len(s) && jamoClass(n) == jamoV {
					i += nsz
					r = syllable(int(cho-choBase), int(jungOf(n)-jungBase), 0)
					if t, tsz := utf8.DecodeRuneInString(s[i:]); i < len(s) && t >= 0x11A8 && t <= 0x11C2 {
						i += tsz
						r += t - jongBase
					}
				} else {
					r, fixed = cho, false
				}
			default: // a jungseong or jongseong on its own stays a conjoining one
				// NFKC counts them as non-starters: after 30 in a row,
				// x/text inserts U+034F (stream-safe format). Such runs
				// take the full pipeline.
				if lone++; lone > 8 {
					return "", false, false
				}
				r, fixed, loneNow = jungOf(r), false, true
			}
		case isStable(r):
		case r < 0x10000 && fold[r] != 0:
			// A rune the pipeline maps to one stable rune whatever
			// surrounds it (capitals, compatibility forms).
			r = rune(fold[r])
		case r == 0x3099 || r == 0x309A: // combining voiced and semi-voiced sound marks
			c := kanaVoiced(last, r)
			if c == 0 {
				return "", false, false
			}
			_, n := utf8.DecodeLastRune(b)
			b = utf8.AppendRune(b[:len(b)-n], c)
			prev = c
			continue
		default:
			return "", false, false
		}
		if space {
			b = append(b, ' ')
			space = false
		}
		b = utf8.AppendRune(b, r)
		prev = r
		if !loneNow {
			lone = 0
		}
	}
	if len(b) == 0 {
		return "", true, fixed
	}
	return unsafe.String(&b[0], len(b)), true, fixed // b is not written again
}

// syllable composes a Hangul syllable from its choseong, jungseong and
// jongseong indexes (jong 0: none).
func syllable(cho, jung, jong int) rune { return rune(hangulBase + (cho*21+jung)*28 + jong) }

// isLV reports whether r is a Hangul syllable without a jongseong.
func isLV(r rune) bool { return r >= hangulBase && r <= hangulLast && (r-hangulBase)%28 == 0 }

// kanaVoiced returns the precomposed kana NFKC makes of kana k followed by
// the combining (semi-)voiced sound mark m, or 0.
func kanaVoiced(k, m rune) rune {
	if k < 0x3041 || k > 0x30FF {
		return 0
	}
	return voicedKana()[k-0x3041][m-0x3099]
}

var voicedKana = sync.OnceValue(func() *[0x30FF - 0x3041 + 1][2]rune {
	var t [0x30FF - 0x3041 + 1][2]rune
	for k := rune(0x3041); k <= 0x30FF; k++ {
		for i, m := range [2]rune{0x3099, 0x309A} {
			s := norm.NFKC.String(string(k) + string(m))
			if c, n := utf8.DecodeRuneInString(s); n == len(s) && isStable(c) {
				t[k-0x3041][i] = c
			}
		}
	}
	return &t
})

// Jamo classes for the fast path (see jamoClass).
const (
	jamoOther = iota // needs the full pipeline (old Hangul, fillers, final-only clusters)
	jamoL            // a choseong, or a compatibility consonant NFKC makes one
	jamoV            // a modern jungseong, or a compatibility vowel
	jamoT            // a modern conjoining jongseong
)

func jamoClass(r rune) int {
	switch {
	case r >= choBase && r <= choLast:
		return jamoL
	case r >= jungBase && r <= 0x1175, r >= 0x314F && r <= 0x3163:
		return jamoV
	case r >= 0x11A8 && r <= 0x11C2:
		return jamoT
	case r >= 0x3131 && r <= 0x314E && compatToCho(r) >= 0:
		return jamoL
	}
	return jamoOther
}

// jungOf maps a compatibility vowel to its conjoining jungseong (what NFKC
// does); any other rune is returned as it is.
func jungOf(r rune) rune {
	if r >= 0x314F && r <= 0x3163 {
		return jungBase + (r - 0x314F)
	}
	return r
}

// normalPrefix returns the length of the longest prefix of s that is its
// own normal form as far as it goes: stable runes (lower-case ASCII
// included) and single inner ASCII spaces, not starting with a space.
// s is normal when that is len(s) and s does not end with a space.
func normalPrefix(s string) int {
	prevSpace := true // no leading space
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c == ' ' {
				if prevSpace {
					return i
				}
				prevSpace = true
			} else {
				if c < 0x21 || c == 0x7f || (c >= 'A' && c <= 'Z') {
					return i
				}
				prevSpace = false
			}
			i++
			continue
		}
		r, sz := utf8.DecodeRuneInString(s[i:])
		if !isStable(r) {
			return i
		}
		prevSpace = false
		i += sz
	}
	return len(s)
}

// foldBMP maps each BMP rune that the full pipeline turns into one stable
// rune, alone and next to any other rune, to that rune (0: none): the
// capitals of every script, compatibility and width variants (circled
// digits, CJK compatibility ideographs, halfwidth katakana without a
// voicing mark, ...). A rune qualifies when NFKC has a boundary before it
// (nothing before it composes with it) and its image is stable (nothing
// after it composes with that). Computed once, with stableBMP.
var foldBMP = sync.OnceValue(func() *[1 << 16]uint16 {
	var t [1 << 16]uint16
	for r := rune(0x80); r < 0x10000; r++ {
		if r >= 0xD800 && r <= 0xDFFF || isStable(r) || r >= 0x1100 && r <= 0x11FF || r >= 0x3131 && r <= 0x318E {
			continue
		}
		s := string(r)
		if !norm.NFKC.PropertiesString(s).BoundaryBefore() || unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			continue
		}
		x := normalizeSlow(s)
		f, n := utf8.DecodeRuneInString(x)
		if n == len(x) && n > 0 && f < 0x10000 && f != r && isStable(f) && normalizeSlow("a"+s+"a") == "a"+x+"a" {
			t[r] = uint16(f)
		}
	}
	return &t
})

// compatToCho maps a compatibility consonant to its conjoining choseong (what
// NFKC does), or -1 for clusters that only exist as final consonants.
func compatToCho(r rune) rune {
	if i, ok := choIdx[r]; ok {
		return choBase + rune(i)
	}
	return -1
}

// normalizeField normalizes s and returns the original string itself when it
// is already normal, so both share memory.
func normalizeField(s string) string {
	n := Normalize(s)
	if n == s {
		return s
	}
	return n
}

// normalizeTags joins the normalized non-empty tags with tagSep.
func normalizeTags(tags []string) string {
	switch len(tags) {
	case 0:
		return ""
	case 1:
		return normalizeField(tags[0])
	}
	var b strings.Builder
	for _, t := range tags {
		n := Normalize(t)
		if n == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(tagSep)
		}
		b.WriteString(n)
	}
	return b.String()
}

// ---- Hangul ----

const (
	hangulBase = 0xAC00
	hangulLast = 0xD7A3
	choBase    = 0x1100 // conjoining choseong ᄀ
	jungBase   = 0x1161 // conjoining jungseong ᅡ
	jongBase   = 0x11A7 // one before the first conjoining jongseong ᆨ (index 0: none)
	choLast    = 0x1112
)

// initialOf returns the conjoining choseong of a Hangul syllable, the rune
// itself if it is a conjoining choseong, or -1.
func initialOf(r rune) rune {
	switch {
	case r >= hangulBase && r <= hangulLast:
		return choBase + (r-hangulBase)/588
	case r >= choBase && r <= choLast:
		return r
	}
	return -1
}

func isChoseong(r rune) bool { return r >= choBase && r <= choLast }

// Compatibility jamo tables (the letters a Korean keyboard types).
var (
	choCompat  = []rune("ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ")
	jungCompat = []rune("ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ")
	jongCompat = []rune{0, 'ㄱ', 'ㄲ', 'ㄳ', 'ㄴ', 'ㄵ', 'ㄶ', 'ㄷ', 'ㄹ', 'ㄺ', 'ㄻ', 'ㄼ', 'ㄽ', 'ㄾ', 'ㄿ', 'ㅀ', 'ㅁ', 'ㅂ', 'ㅄ', 'ㅅ', 'ㅆ', 'ㅇ', 'ㅈ', 'ㅊ', 'ㅋ', 'ㅌ', 'ㅍ', 'ㅎ'}

	// 2-beolsik layout: Latin key -> compatibility jamo.
	keyToJamo = map[rune]rune{
		'q': 'ㅂ', 'w': 'ㅈ', 'e': 'ㄷ', 'r': 'ㄱ', 't': 'ㅅ', 'y': 'ㅛ', 'u': 'ㅕ', 'i': 'ㅑ', 'o': 'ㅐ', 'p': 'ㅔ',
		'a': 'ㅁ', 's': 'ㄴ', 'd': 'ㅇ', 'f': 'ㄹ', 'g': 'ㅎ', 'h': 'ㅗ', 'j': 'ㅓ', 'k': 'ㅏ', 'l': 'ㅣ',
		'z': 'ㅋ', 'x': 'ㅌ', 'c': 'ㅊ', 'v': 'ㅍ', 'b': 'ㅠ', 'n': 'ㅜ', 'm': 'ㅡ',
		'Q': 'ㅃ', 'W': 'ㅉ', 'E': 'ㄸ', 'R': 'ㄲ', 'T': 'ㅆ', 'O': 'ㅒ', 'P': 'ㅖ',
	}
	jamoToKeys = map[rune]string{} // compat jamo (incl. compounds) -> key sequence

	vowelCombine = map[[2]rune]rune{
		{'ㅗ', 'ㅏ'}: 'ㅘ', {'ㅗ', 'ㅐ'}: 'ㅙ', {'ㅗ', 'ㅣ'}: 'ㅚ', {'ㅜ', 'ㅓ'}: 'ㅝ', {'ㅜ', 'ㅔ'}: 'ㅞ', {'ㅜ', 'ㅣ'}: 'ㅟ', {'ㅡ', 'ㅣ'}: 'ㅢ',
	}
	jongCombine = map[[2]rune]rune{
		{'ㄱ', 'ㅅ'}: 'ㄳ', {'ㄴ', 'ㅈ'}: 'ㄵ', {'ㄴ', 'ㅎ'}: 'ㄶ', {'ㄹ', 'ㄱ'}: 'ㄺ', {'ㄹ', 'ㅁ'}: 'ㄻ', {'ㄹ', 'ㅂ'}: 'ㄼ',
		{'ㄹ', 'ㅅ'}: 'ㄽ', {'ㄹ', 'ㅌ'}: 'ㄾ', {'ㄹ', 'ㅍ'}: 'ㄿ', {'ㄹ', 'ㅎ'}: 'ㅀ', {'ㅂ', 'ㅅ'}: 'ㅄ',
	}
	jongSplit = map[rune][2]rune{}
	choIdx    = map[rune]int{}
	jungIdx   = map[rune]int{}
	jongIdx   = map[rune]int{}
)

func init() {
	for i, r := range choCompat {
		choIdx[r] = i
	}
	for i, r := range jungCompat {
		jungIdx[r] = i
	}
	for i, r := range jongCompat {
		if i > 0 {
			jongIdx[r] = i
		}
	}
	for k, j := range keyToJamo {
		if _, ok := jamoToKeys[j]; !ok || (k >= 'a' && k <= 'z') {
			jamoToKeys[j] = string(k)
		}
	}
	for pair, v := range vowelCombine {
		jamoToKeys[v] = jamoToKeys[pair[0]] + jamoToKeys[pair[1]]
	}
	for pair, v := range jongCombine {
		jamoToKeys[v] = jamoToKeys[pair[0]] + jamoToKeys[pair[1]]
		jongSplit[v] = pair
	}
}

func isCompatConsonant(r rune) bool { return r >= 'ㄱ' && r <= 'ㅎ' }
func isCompatVowel(r rune) bool     { return r >= 'ㅏ' && r <= 'ㅣ' }

// LayoutToHangul converts text typed with an English (QWERTY) layout while the
// user meant 2-beolsik Korean into Hangul: "chemdduddj" -> "초등영어".
// Runes that are not layout keys are copied unchanged.
func LayoutToHangul(s string) string {
	var out []rune
	cho, jung, jong := rune(-1), rune(-1), rune(-1) // compat jamo or -1
	flush := func() {
		switch {
		case cho >= 0 && jung >= 0:
			j := 0
			if jong >= 0 {
				j = jongIdx[jong]
			}
			out = append(out, syllable(choIdx[cho], jungIdx[jung], j))
		case cho >= 0:
			out = append(out, cho)
			if jong >= 0 {
				out = append(out, jong)
			}
		case jung >= 0:
			out = append(out, jung)
		}
		cho, jung, jong = -1, -1, -1
	}
	for _, r := range s {
		j, ok := keyToJamo[r]
		if !ok && r >= 'A' && r <= 'Z' {
			j, ok = keyToJamo[r+'a'-'A']
		}
		if !ok {
			flush()
			out = append(out, r)
			continue
		}
		if isCompatConsonant(j) {
			switch {
			case cho < 0 && jung < 0:
				cho = j
			case cho >= 0 && jung < 0:
				flush()
				cho = j
			case cho < 0 && jung >= 0:
				flush()
				cho = j
			case jong < 0:
				if _, can := jongIdx[j]; can {
					jong = j
				} else {
					flush()
					cho = j
				}
			default:
				if c, can := jongCombine[[2]rune{jong, j}]; can {
					jong = c
				} else {
					flush()
					cho = j
				}
			}
			continue
		}
		// vowel
		switch {
		case jong >= 0:
			var next rune
			if sp, compound := jongSplit[jong]; compound {
				jong, next = sp[0], sp[1]
			} else {
				jong, next = -1, jong
			}
			flush()
			if _, ok := choIdx[next]; ok {
				cho = next
			} else {
				out = append(out, next)
			}
			jung = j
		case jung >= 0:
			if c, can := vowelCombine[[2]rune{jung, j}]; can {
				jung = c
			} else {
				flush()
				jung = j
			}
		default:
			jung = j
		}
	}
	flush()
	return string(out)
}

// HangulToLayout converts Hangul typed while the user meant the English
// layout back into the QWERTY keys: "ㅡㅑㅜㄷㅊㄱㅁㄹㅅ" -> "minecraft".
func HangulToLayout(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= hangulBase && r <= hangulLast:
			o := r - hangulBase
			b.WriteString(jamoToKeys[choCompat[o/588]])
			b.WriteString(jamoToKeys[jungCompat[(o%588)/28]])
			if t := o % 28; t > 0 {
				b.WriteString(jamoToKeys[jongCompat[t]])
			}
		default:
			if k, ok := jamoToKeys[r]; ok {
				b.WriteString(k)
			} else if r >= choBase && r <= choLast {
				b.WriteString(jamoToKeys[choCompat[r-choBase]])
			} else {
				b.WriteRune(r)
			}
		}
	}
	return b.String()
}

// hasHangul reports whether s contains Hangul syllables or jamo.
func hasHangul(s string) bool {
	for _, r := range s {
		if (r >= hangulBase && r <= hangulLast) || (r >= 0x1100 && r <= 0x11FF) || (r >= 0x3131 && r <= 0x318E) {
			return true
		}
	}
	return false
}

// hasLatinLetter reports whether s contains an ASCII letter.
func hasLatinLetter(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		if c >= 'a' && c <= 'z' {
			return true
		}
	}
	return false
}
