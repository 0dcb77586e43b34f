package sim

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"math/bits"
	"strconv"
	"strings"
)

// b64 is the alphabet of YouTube ids and page tokens (URL-safe, unpadded).
// Strict rejects non-zero trailing bits, so every id has exactly one spelling
// (real video ids end in one of 16 characters, channel ids in one of 4).
var b64 = base64.RawURLEncoding.Strict()

// mix64 is the splitmix64 finalizer: a cheap, well-distributed 64-bit mixer.
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// hash2 mixes a seed key with two integers and a salt.
func hash2(key uint64, a, b uint64, salt uint64) uint64 {
	return mix64(key ^ mix64(a*0x9e3779b97f4a7c15^mix64(b+salt*0xd1b54a32d192ed03)))
}

// idCodec turns (channel index) and (channel index, ordinal) into YouTube-syntax
// ids and back, with seed-keyed Feistel permutations and a check field so that
// random ids decode as unknown. No table is kept.
type idCodec struct {
	channels int
	chanKeys [4]uint64
	chanTag  uint64
	vidKeys  [6]uint64
	chanBits uint   // bits for the channel index inside a video id
	chkBits  uint   // bits of check in a video id
	vidCheck uint64 // expected check value
}

// ordBits is the number of bits for the upload ordinal in a video id (16.7M per channel).
const ordBits = 24

func newIDCodec(seed uint64, channels int) idCodec {
	c := idCodec{channels: channels}
	for i := range c.chanKeys {
		c.chanKeys[i] = hash2(seed, 1, uint64(i), 0x63686b)
	}
	for i := range c.vidKeys {
		c.vidKeys[i] = hash2(seed, 2, uint64(i), 0x76696b)
	}
	c.chanTag = hash2(seed, 3, 0, 0x746167)
	c.chanBits = uint(bits.Len(uint(channels - 1)))
	if c.chanBits == 0 {
		c.chanBits = 1
	}
	c.chkBits = 64 - ordBits - c.chanBits
	c.vidCheck = hash2(seed, 4, 0, 0x636b) & (1<<c.chkBits - 1)
	return c
}

func (c *idCodec) channelID(idx int) string {
	l, r := uint64(idx), c.chanTag
	for _, k := range c.chanKeys {
		l, r = r, l^mix64(r^k)
	}
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], l)
	binary.BigEndian.PutUint64(b[8:], r)
	return "UC" + b64.EncodeToString(b[:])
}

// channelIndex decodes a channel id; ok is false for ids not in the universe.
func (c *idCodec) channelIndex(id string) (int, bool) {
	if len(id) != 24 || !strings.HasPrefix(id, "UC") {
		return 0, false
	}
	return c.channelIndexRaw(id[2:])
}

// channelIndexRaw decodes the 22 characters after "UC" (also the tail of "UU" ids).
func (c *idCodec) channelIndexRaw(s string) (int, bool) {
	if len(s) != 22 {
		return 0, false
	}
	var b [16]byte
	n, err := b64.Decode(b[:], []byte(s))
	if err != nil || n != 16 {
		return 0, false
	}
	l, r := binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
	for i := len(c.chanKeys) - 1; i >= 0; i-- {
		l, r = r^mix64(l^c.chanKeys[i]), l
	}
	if r != c.chanTag || l >= uint64(c.channels) {
		return 0, false
	}
	return int(l), true
}

func (c *idCodec) feistel32(x uint64, inverse bool) uint64 {
	l, r := uint32(x>>32), uint32(x)
	if !inverse {
		for _, k := range c.vidKeys {
			l, r = r, l^uint32(mix64(uint64(r)^k))
		}
	} else {
		for i := len(c.vidKeys) - 1; i >= 0; i-- {
			l, r = r^uint32(mix64(uint64(l)^c.vidKeys[i])), l
		}
	}
	return uint64(l)<<32 | uint64(r)
}

func (c *idCodec) videoID(ch, ord int) string {
	plain := c.vidCheck<<(ordBits+c.chanBits) | uint64(ch)<<ordBits | uint64(ord)
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], c.feistel32(plain, false))
	return b64.EncodeToString(b[:])
}

// videoRef decodes a video id into (channel index, ordinal). It does not check
// that the ordinal has been published yet.
func (c *idCodec) videoRef(id string) (ch, ord int, ok bool) {
	if len(id) != 11 {
		return 0, 0, false
	}
	var b [8]byte
	n, err := b64.Decode(b[:], []byte(id))
	if err != nil || n != 8 {
		return 0, 0, false
	}
	plain := c.feistel32(binary.BigEndian.Uint64(b[:]), true)
	if plain>>(ordBits+c.chanBits) != c.vidCheck {
		return 0, 0, false
	}
	ch = int(plain >> ordBits & (1<<c.chanBits - 1))
	ord = int(plain & (1<<ordBits - 1))
	if ch >= c.channels {
		return 0, 0, false
	}
	return ch, ord, true
}

// ---- page tokens ----
//
// Offset tokens mimic the real ones: base64 of the protobuf {1: offset, 2: 0|1}
// ("CAUQAA" = offset 5 forward, "CAUQAQ" = offset 5 backward).
// Playlist tokens mimic the newer real form "EAAaBlBUOkNBVQ" = {2: dir, 3: "PT:" +
// base64({1: anchor})}; our anchor is an upload ordinal, which stays valid when
// new uploads are prepended.

var errBadToken = errors.New("invalid page token")

func appendVarint(b []byte, v uint64) []byte { return binary.AppendUvarint(b, v) }

func offsetToken(off int, prev bool) string {
	b := []byte{0x08}
	b = appendVarint(b, uint64(off))
	b = append(b, 0x10)
	if prev {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	return b64.EncodeToString(b)
}

// parseOffsetToken returns the offset a token points at (direction is implied by the offset).
func parseOffsetToken(tok string) (int, error) {
	b, err := b64.DecodeString(tok)
	if err != nil || len(b) < 4 || b[0] != 0x08 {
		return 0, errBadToken
	}
	v, n := binary.Uvarint(b[1:])
	if n <= 0 || v > 1<<31 {
		return 0, errBadToken
	}
	rest := b[1+n:]
	if len(rest) != 2 || rest[0] != 0x10 || rest[1] > 1 {
		return 0, errBadToken
	}
	return int(v), nil
}

func playlistToken(anchor int, prev bool) string {
	inner := appendVarint([]byte{0x08}, uint64(anchor))
	pt := "PT:" + b64.EncodeToString(inner)
	b := []byte{0x10, 0}
	if prev {
		b[1] = 1
	}
	b = append(b, 0x1a, byte(len(pt)))
	b = append(b, pt...)
	return b64.EncodeToString(b)
}

func parsePlaylistToken(tok string) (anchor int, prev bool, err error) {
	b, err := b64.DecodeString(tok)
	if err != nil || len(b) < 6 || b[0] != 0x10 || b[1] > 1 || b[2] != 0x1a || int(b[3]) != len(b)-4 {
		return 0, false, errBadToken
	}
	prev = b[1] == 1
	pt := string(b[4:])
	if !strings.HasPrefix(pt, "PT:") {
		return 0, false, errBadToken
	}
	inner, err := b64.DecodeString(pt[3:])
	if err != nil || len(inner) < 2 || inner[0] != 0x08 {
		return 0, false, errBadToken
	}
	v, n := binary.Uvarint(inner[1:])
	if n <= 0 || 1+n != len(inner) || v >= 1<<ordBits {
		return 0, false, errBadToken
	}
	return int(v), prev, nil
}

// ---- handles ----

// handleFor builds the @handle of a channel: a slug from its title and its index.
func handleFor(slug string, idx int) string {
	return "@" + slug + strconv.Itoa(idx)
}

// parseHandle extracts the channel index from a handle ("@" optional, case-insensitive).
func parseHandle(h string) (slug string, idx int, ok bool) {
	h = strings.ToLower(strings.TrimPrefix(h, "@"))
	i := len(h)
	for i > 0 && h[i-1] >= '0' && h[i-1] <= '9' {
		i--
	}
	if i == 0 || i == len(h) || len(h)-i > 9 {
		return "", 0, false
	}
	n, err := strconv.Atoi(h[i:])
	if err != nil || strconv.Itoa(n) != h[i:] {
		return "", 0, false
	}
	return h[:i], n, true
}
