package stream

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/tubelake/tubelake/internal/yt"
)

// Binary record batches (message version 0x02), the format multi-record
// messages are published in. JSON costs about 3 µs of CPU and ~20
// allocations per record (encode + decode); this costs a fraction of that
// and halves the bytes the broker stores. Layout:
//
//	0x02, then per record: uvarint n, n bytes of record
//
// and a record is (uv = uvarint, v = zig-zag varint, s = uv length +
// UTF-8 bytes, t = time as v Unix seconds + uv nanoseconds, UTC):
//
//	uv V, s ID, byte kind (1 video, 2 channel, 3 event), s Source, then
//	video:   s ID, s ETag, t PublishedAt, s ChannelID, s Title,
//	         s Description, s Thumbnail.URL, v Width, v Height,
//	         s ChannelTitle, uv len(Tags), s Tags..., s CategoryID,
//	         s LiveBroadcastContent, s DefaultLanguage,
//	         s DefaultAudioLanguage, byte presence of View/Like/Comment
//	         counts (bits 0..2), v each present count, s Duration,
//	         s Dimension, s Definition, s Caption, byte LicensedContent,
//	         t FetchedAt
//	channel: s ID, s ETag, s Title, s Description, s CustomURL,
//	         t PublishedAt, s Thumbnail.URL, v Width, v Height,
//	         s DefaultLanguage, s Country, byte presence of View/
//	         Subscriber/Video counts (bits 0..2), v each present count,
//	         byte HiddenSubscriberCount, s UploadsPlaylistID, t FetchedAt
//	event:   s Type, s EntityKind, s EntityID, s ChannelID, s Old, s New,
//	         t ObservedAt
//
// A record's bytes must be consumed exactly. Times travel as UTC instants
// (a JSON envelope keeps its zone offset; nothing downstream uses it).
// Adding a field to yt.Record means a new message version here (readers
// dead-letter versions they do not know); TestBinaryCodecCoversRecord
// fails when a field is not carried.
const binBatchVersion = 0x02

const (
	binKindVideo   = 1
	binKindChannel = 2
	binKindEvent   = 3
)

// encodeBinBatch encodes recs as one version 0x02 message into buf[:0].
func encodeBinBatch(buf []byte, recs []yt.Record) ([]byte, error) {
	buf = append(buf[:0], binBatchVersion)
	var rec []byte
	for i := range recs {
		var err error
		rec, err = appendBinRecord(rec[:0], &recs[i])
		if err != nil {
			return nil, err
		}
		buf = binary.AppendUvarint(buf, uint64(len(rec)))
		buf = append(buf, rec...)
	}
	return buf, nil
}

func appendBinRecord(b []byte, r *yt.Record) ([]byte, error) {
	if r.V < 0 {
		return nil, fmt.Errorf("record %q: negative version", r.ID)
	}
	b = binary.AppendUvarint(b, uint64(r.V))
	b = appendStr(b, r.ID)
	switch {
	case r.Kind == yt.KindVideo && r.Video != nil:
		b = append(b, binKindVideo)
		b = appendStr(b, r.Source)
		v := r.Video
		s := &v.Snippet
		b = appendStr(b, v.ID)
		b = appendStr(b, v.ETag)
		b = appendTime(b, s.PublishedAt)
		b = appendStr(b, s.ChannelID)
		b = appendStr(b, s.Title)
		b = appendStr(b, s.Description)
		b = appendThumb(b, s.Thumbnail)
		b = appendStr(b, s.ChannelTitle)
		b = binary.AppendUvarint(b, uint64(len(s.Tags)))
		for _, t := range s.Tags {
			b = appendStr(b, t)
		}
		b = appendStr(b, s.CategoryID)
		b = appendStr(b, s.LiveBroadcastContent)
		b = appendStr(b, s.DefaultLanguage)
		b = appendStr(b, s.DefaultAudioLanguage)
		b = appendCounts(b, v.Statistics.ViewCount, v.Statistics.LikeCount, v.Statistics.CommentCount)
		c := &v.ContentDetails
		b = appendStr(b, c.Duration)
		b = appendStr(b, c.Dimension)
		b = appendStr(b, c.Definition)
		b = appendStr(b, c.Caption)
		b = appendBool(b, c.LicensedContent)
		b = appendTime(b, v.FetchedAt)
	case r.Kind == yt.KindChannel && r.Channel != nil:
		b = append(b, binKindChannel)
		b = appendStr(b, r.Source)
		c := r.Channel
		s := &c.Snippet
		b = appendStr(b, c.ID)
		b = appendStr(b, c.ETag)
		b = appendStr(b, s.Title)
		b = appendStr(b, s.Description)
		b = appendStr(b, s.CustomURL)
		b = appendTime(b, s.PublishedAt)
		b = appendThumb(b, s.Thumbnail)
		b = appendStr(b, s.DefaultLanguage)
		b = appendStr(b, s.Country)
		b = appendCounts(b, c.Statistics.ViewCount, c.Statistics.SubscriberCount, c.Statistics.VideoCount)
		b = appendBool(b, c.Statistics.HiddenSubscriberCount)
		b = appendStr(b, c.ContentDetails.UploadsPlaylistID)
		b = appendTime(b, c.FetchedAt)
	case r.Kind == yt.KindEvent && r.Event != nil:
		b = append(b, binKindEvent)
		b = appendStr(b, r.Source)
		e := r.Event
		b = appendStr(b, string(e.Type))
		b = appendStr(b, string(e.EntityKind))
		b = appendStr(b, e.EntityID)
		b = appendStr(b, e.ChannelID)
		b = appendStr(b, e.Old)
		b = appendStr(b, e.New)
		b = appendTime(b, e.ObservedAt)
	default:
		return nil, fmt.Errorf("record %q: kind %q without its payload", r.ID, r.Kind)
	}
	return b, nil
}

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendTime(b []byte, t time.Time) []byte {
	b = binary.AppendVarint(b, t.Unix())
	return binary.AppendUvarint(b, uint64(t.Nanosecond()))
}

func appendThumb(b []byte, t yt.Thumbnail) []byte {
	b = appendStr(b, t.URL)
	b = binary.AppendVarint(b, int64(t.Width))
	return binary.AppendVarint(b, int64(t.Height))
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

func appendCounts(b []byte, counts ...*int64) []byte {
	var mask byte
	for i, c := range counts {
		if c != nil {
			mask |= 1 << i
		}
	}
	b = append(b, mask)
	for _, c := range counts {
		if c != nil {
			b = binary.AppendVarint(b, *c)
		}
	}
	return b
}

var errShort = errors.New("truncated record")

// binDecoder decodes the records of one message. With shared set, every
// string of the message's records is a substring of one copy of the
// message and the records' structs come from per-message slabs: a handful
// of allocations per message instead of ~20 per record, for handlers that
// keep nothing of a record after they return (ConsumeOptions.Transient).
// Otherwise each string is its own allocation, as with JSON, so a handler
// that keeps a field (an index's map key) keeps only that field alive.
type binDecoder struct {
	shared bool
	body   string // shared: the message after the version byte
	off    int    // shared: offset of the current record in body

	videos   []yt.Video
	channels []yt.Channel
	events   []yt.Event
	counts   []int64
	tags     []string
}

// record decodes one record frame p into r; start is p's offset in the
// message body (shared mode).
func (d *binDecoder) record(r *yt.Record, p []byte, start int) error {
	rd := binReader{p: p, d: d, base: start}
	v, err := rd.uvarint()
	if err != nil {
		return err
	}
	if v > math.MaxInt32 {
		return fmt.Errorf("schema version %d out of range", v)
	}
	r.V = int(v)
	r.ID = rd.str()
	kind := rd.byte()
	r.Source = rd.str()
	switch kind {
	case binKindVideo:
		r.Kind = yt.KindVideo
		vid := d.newVideo()
		s := &vid.Snippet
		vid.ID = rd.str()
		vid.ETag = rd.str()
		s.PublishedAt = rd.time()
		s.ChannelID = rd.str()
		s.Title = rd.str()
		s.Description = rd.str()
		s.Thumbnail = rd.thumb()
		s.ChannelTitle = rd.str()
		if n := rd.len(); n > 0 {
			s.Tags = d.newTags(n)
			for i := range s.Tags {
				s.Tags[i] = rd.str()
			}
		}
		s.CategoryID = rd.str()
		s.LiveBroadcastContent = rd.str()
		s.DefaultLanguage = rd.str()
		s.DefaultAudioLanguage = rd.str()
		st := &vid.Statistics
		rd.counts(&st.ViewCount, &st.LikeCount, &st.CommentCount)
		c := &vid.ContentDetails
		c.Duration = rd.str()
		c.Dimension = rd.str()
		c.Definition = rd.str()
		c.Caption = rd.str()
		c.LicensedContent = rd.bool()
		vid.FetchedAt = rd.time()
		r.Video = vid
	case binKindChannel:
		r.Kind = yt.KindChannel
		ch := d.newChannel()
		s := &ch.Snippet
		ch.ID = rd.str()
		ch.ETag = rd.str()
		s.Title = rd.str()
		s.Description = rd.str()
		s.CustomURL = rd.str()
		s.PublishedAt = rd.time()
		s.Thumbnail = rd.thumb()
		s.DefaultLanguage = rd.str()
		s.Country = rd.str()
		st := &ch.Statistics
		rd.counts(&st.ViewCount, &st.SubscriberCount, &st.VideoCount)
		st.HiddenSubscriberCount = rd.bool()
		ch.ContentDetails.UploadsPlaylistID = rd.str()
		ch.FetchedAt = rd.time()
		r.Channel = ch
	case binKindEvent:
		r.Kind = yt.KindEvent
		e := d.newEvent()
		e.Type = yt.EventType(rd.str())
		e.EntityKind = yt.Kind(rd.str())
		e.EntityID = rd.str()
		e.ChannelID = rd.str()
		e.Old = rd.str()
		e.New = rd.str()
		e.ObservedAt = rd.time()
		r.Event = e
	default:
		if rd.err == nil {
			rd.err = fmt.Errorf("unknown record kind %d", kind)
		}
	}
	if rd.err != nil {
		return fmt.Errorf("decode record: %w", rd.err)
	}
	if len(rd.p) != 0 {
		return fmt.Errorf("decode record: %d trailing bytes", len(rd.p))
	}
	return nil
}

// slabSize is how many structs a shared decoder allocates at once.
const slabSize = 64

func (d *binDecoder) newVideo() *yt.Video {
	if !d.shared {
		return new(yt.Video)
	}
	if len(d.videos) == cap(d.videos) {
		d.videos = make([]yt.Video, 0, slabSize)
	}
	d.videos = d.videos[:len(d.videos)+1]
	return &d.videos[len(d.videos)-1]
}

func (d *binDecoder) newChannel() *yt.Channel {
	if !d.shared {
		return new(yt.Channel)
	}
	if len(d.channels) == cap(d.channels) {
		d.channels = make([]yt.Channel, 0, slabSize)
	}
	d.channels = d.channels[:len(d.channels)+1]
	return &d.channels[len(d.channels)-1]
}

func (d *binDecoder) newEvent() *yt.Event {
	if !d.shared {
		return new(yt.Event)
	}
	if len(d.events) == cap(d.events) {
		d.events = make([]yt.Event, 0, slabSize)
	}
	d.events = d.events[:len(d.events)+1]
	return &d.events[len(d.events)-1]
}

func (d *binDecoder) newCount(v int64) *int64 {
	if !d.shared {
		p := new(int64)
		*p = v
		return p
	}
	if len(d.counts) == cap(d.counts) {
		d.counts = make([]int64, 0, 3*slabSize)
	}
	d.counts = append(d.counts, v)
	return &d.counts[len(d.counts)-1]
}

func (d *binDecoder) newTags(n int) []string {
	if !d.shared || n > 64 {
		return make([]string, n)
	}
	if cap(d.tags)-len(d.tags) < n {
		d.tags = make([]string, 0, 4*slabSize)
	}
	t := d.tags[len(d.tags) : len(d.tags)+n : len(d.tags)+n]
	d.tags = d.tags[:len(d.tags)+n]
	return t
}

// binReader reads one record; the first error sticks and zero values are
// returned after it.
type binReader struct {
	p    []byte
	d    *binDecoder
	base int // offset of p's start in the shared body (p is consumed from the front)
	read int
	err  error
}

func (r *binReader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
	r.p = nil
}

func (r *binReader) uvarint() (uint64, error) {
	if r.err != nil {
		return 0, r.err
	}
	v, n := binary.Uvarint(r.p)
	if n <= 0 {
		r.fail(errShort)
		return 0, r.err
	}
	r.p, r.read = r.p[n:], r.read+n
	return v, nil
}

func (r *binReader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.p)
	if n <= 0 {
		r.fail(errShort)
		return 0
	}
	r.p, r.read = r.p[n:], r.read+n
	return v
}

// len reads a length that must fit in what is left of the record.
func (r *binReader) len() int {
	n, err := r.uvarint()
	if err != nil {
		return 0
	}
	if n > uint64(len(r.p)) {
		r.fail(errShort)
		return 0
	}
	return int(n)
}

func (r *binReader) str() string {
	n := r.len()
	if n == 0 {
		return ""
	}
	var s string
	if r.d.shared {
		at := r.base + r.read
		s = r.d.body[at : at+n]
	} else {
		s = string(r.p[:n])
	}
	r.p, r.read = r.p[n:], r.read+n
	return s
}

func (r *binReader) byte() byte {
	if r.err != nil {
		return 0
	}
	if len(r.p) == 0 {
		r.fail(errShort)
		return 0
	}
	b := r.p[0]
	r.p, r.read = r.p[1:], r.read+1
	return b
}

func (r *binReader) bool() bool {
	switch r.byte() {
	case 0:
		return false
	case 1:
		return true
	}
	r.fail(errors.New("bad bool"))
	return false
}

func (r *binReader) time() time.Time {
	sec := r.varint()
	ns, err := r.uvarint()
	if err != nil {
		return time.Time{}
	}
	if ns >= 1e9 {
		r.fail(errors.New("bad nanoseconds"))
		return time.Time{}
	}
	return time.Unix(sec, int64(ns)).UTC()
}

func (r *binReader) thumb() yt.Thumbnail {
	t := yt.Thumbnail{URL: r.str()}
	t.Width, t.Height = int(r.varint()), int(r.varint())
	return t
}

func (r *binReader) counts(dst ...**int64) {
	mask := r.byte()
	if mask>>len(dst) != 0 {
		r.fail(fmt.Errorf("bad counts mask %#x", mask))
		return
	}
	for i, p := range dst {
		if mask&(1<<i) != 0 {
			v := r.varint()
			if r.err != nil {
				return
			}
			*p = r.d.newCount(v)
		}
	}
}
