package schedule

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
)

// Items are stored in a compact binary encoding (itemV1). Files written
// before it hold JSON objects, which start with '{': getItem still reads
// them, and every write stores the binary form, so an old schedule.db opens
// as is and migrates item by item. meta "encoding" records that binary
// items may be present: a collector older than this one refuses such a file
// (it would read them as corrupt JSON) only item by item, so do not roll
// back past it on a shared data dir.
//
//	version(1)=itemV1 flags(1) tier(1)
//	varint pub, due, at, views, iv   (zig-zag varints)
//	vel float64 bits (8, little endian), desc (8), tags (8)
//	uvarint len + bytes: ch, title, thumb
const itemV1 = 0x01

const (
	flagGone   = 1 << 0
	flagLeased = 1 << 1
	flagWalked = 1 << 2
)

// offFlags is the offset of the flags byte in a binary item.
const offFlags = 1

func appendItem(b []byte, it *item) []byte {
	var fl byte
	if it.Gone {
		fl |= flagGone
	}
	if it.Leased {
		fl |= flagLeased
	}
	if it.Walked {
		fl |= flagWalked
	}
	b = append(b, itemV1, fl, it.Tier)
	b = binary.AppendVarint(b, it.Pub)
	b = binary.AppendVarint(b, it.Due)
	b = binary.AppendVarint(b, it.At)
	b = binary.AppendVarint(b, it.Views)
	b = binary.AppendVarint(b, it.Iv)
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(it.Vel))
	b = binary.LittleEndian.AppendUint64(b, it.Desc)
	b = binary.LittleEndian.AppendUint64(b, it.Tags)
	for _, s := range [...]string{it.Ch, it.Title, it.Thumb} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return b
}

func encodeItem(it *item) []byte {
	return appendItem(make([]byte, 0, 48+len(it.Ch)+len(it.Title)+len(it.Thumb)), it)
}

var errShort = errors.New("truncated item")

// decodeItem decodes v into it. With head set, the strings (ch, title,
// thumb) are skipped: what the due index and leases need, without
// allocating.
func decodeItem(v []byte, it *item, head bool) error {
	if len(v) > 0 && v[0] == '{' {
		*it = item{}
		return json.Unmarshal(v, it)
	}
	if len(v) < 3 || v[0] != itemV1 {
		if len(v) == 0 {
			return errShort
		}
		return fmt.Errorf("unknown item encoding %#x (written by a newer collector?)", v[0])
	}
	fl := v[1]
	*it = item{Tier: v[2], Gone: fl&flagGone != 0, Leased: fl&flagLeased != 0, Walked: fl&flagWalked != 0}
	p := 3
	for _, dst := range [...]*int64{&it.Pub, &it.Due, &it.At, &it.Views, &it.Iv} {
		x, n := binary.Varint(v[p:])
		if n <= 0 {
			return errShort
		}
		*dst, p = x, p+n
	}
	if len(v) < p+24 {
		return errShort
	}
	it.Vel = math.Float64frombits(binary.LittleEndian.Uint64(v[p:]))
	it.Desc = binary.LittleEndian.Uint64(v[p+8:])
	it.Tags = binary.LittleEndian.Uint64(v[p+16:])
	p += 24
	if head {
		return nil
	}
	for _, dst := range [...]*string{&it.Ch, &it.Title, &it.Thumb} {
		l, n := binary.Uvarint(v[p:])
		if n <= 0 || uint64(len(v)-p-n) < l {
			return errShort
		}
		p += n
		*dst = string(v[p : p+int(l)])
		p += int(l)
	}
	return nil
}

// itemChannel returns the ch string of a binary or JSON item (decoding
// only that string).
func decodeCh(v []byte) (string, error) {
	var it item
	if len(v) > 0 && v[0] == '{' {
		err := json.Unmarshal(v, &it)
		return it.Ch, err
	}
	if err := decodeItem(v, &it, true); err != nil {
		return "", err
	}
	p := 3
	for range 5 {
		_, n := binary.Varint(v[p:])
		p += n
	}
	p += 24
	l, n := binary.Uvarint(v[p:])
	if n <= 0 || uint64(len(v)-p-n) < l {
		return "", errShort
	}
	return string(v[p+n : p+n+int(l)]), nil
}
