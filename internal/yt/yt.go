package yt

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// SchemaVersion is the version of the Record envelope written by this build.
// Evolution rule: add optional fields only; never rename, retype or remove.
const SchemaVersion = 1

// Kind says what a Record carries.
type Kind string

const (
	// KindVideo is a video snapshot: metadata plus statistics observed at FetchedAt.
	KindVideo Kind = "video"
	// KindChannel is a channel snapshot: metadata plus statistics observed at FetchedAt.
	KindChannel Kind = "channel"
	// KindEvent is a change event (title edit, milestone, tombstone...).
	KindEvent Kind = "event"
)

// Thumbnail mirrors the API's thumbnail object (we keep the best one).
type Thumbnail struct {
	URL    string `json:"url"`
	Width  int    `json:"width,omitempty"`
	Height int    `json:"height,omitempty"`
}

// VideoSnippet mirrors videos#snippet.
type VideoSnippet struct {
	PublishedAt          time.Time `json:"publishedAt"`
	ChannelID            string    `json:"channelId"`
	Title                string    `json:"title"`
	Description          string    `json:"description,omitempty"`
	Thumbnail            Thumbnail `json:"thumbnail"`
	ChannelTitle         string    `json:"channelTitle"`
	Tags                 []string  `json:"tags,omitempty"`
	CategoryID           string    `json:"categoryId,omitempty"`
	LiveBroadcastContent string    `json:"liveBroadcastContent,omitempty"`
	DefaultLanguage      string    `json:"defaultLanguage,omitempty"`
	DefaultAudioLanguage string    `json:"defaultAudioLanguage,omitempty"`
}

// VideoStatistics mirrors videos#statistics. The API sends counts as decimal
// strings; a hidden count (e.g. likes disabled) is absent, which we keep as nil.
type VideoStatistics struct {
	ViewCount    *int64 `json:"viewCount,omitempty"`
	LikeCount    *int64 `json:"likeCount,omitempty"`
	CommentCount *int64 `json:"commentCount,omitempty"`
}

// VideoContentDetails mirrors videos#contentDetails.
type VideoContentDetails struct {
	Duration        string `json:"duration,omitempty"` // ISO 8601, e.g. PT4M13S
	Dimension       string `json:"dimension,omitempty"`
	Definition      string `json:"definition,omitempty"`
	Caption         string `json:"caption,omitempty"` // "true"/"false" as the API sends it
	LicensedContent bool   `json:"licensedContent,omitempty"`
}

// Video is one observation of a video resource.
type Video struct {
	ID             string              `json:"id"`
	ETag           string              `json:"etag,omitempty"`
	Snippet        VideoSnippet        `json:"snippet"`
	Statistics     VideoStatistics     `json:"statistics"`
	ContentDetails VideoContentDetails `json:"contentDetails"`
	// FetchedAt is when tubelake observed this state (UTC, microsecond precision).
	FetchedAt time.Time `json:"fetchedAt"`
}

// ChannelSnippet mirrors channels#snippet.
type ChannelSnippet struct {
	Title           string    `json:"title"`
	Description     string    `json:"description,omitempty"`
	CustomURL       string    `json:"customUrl,omitempty"` // the @handle
	PublishedAt     time.Time `json:"publishedAt"`
	Thumbnail       Thumbnail `json:"thumbnail"`
	DefaultLanguage string    `json:"defaultLanguage,omitempty"`
	Country         string    `json:"country,omitempty"`
}

// ChannelStatistics mirrors channels#statistics.
type ChannelStatistics struct {
	ViewCount             *int64 `json:"viewCount,omitempty"`
	SubscriberCount       *int64 `json:"subscriberCount,omitempty"` // nil when hidden
	HiddenSubscriberCount bool   `json:"hiddenSubscriberCount,omitempty"`
	VideoCount            *int64 `json:"videoCount,omitempty"`
}

// ChannelContentDetails mirrors channels#contentDetails.
type ChannelContentDetails struct {
	UploadsPlaylistID string `json:"uploadsPlaylistId,omitempty"`
}

// Channel is one observation of a channel resource.
type Channel struct {
	ID             string                `json:"id"`
	ETag           string                `json:"etag,omitempty"`
	Snippet        ChannelSnippet        `json:"snippet"`
	Statistics     ChannelStatistics     `json:"statistics"`
	ContentDetails ChannelContentDetails `json:"contentDetails"`
	FetchedAt      time.Time             `json:"fetchedAt"`
}

// EventType names a change event.
type EventType string

const (
	EventTitleChanged       EventType = "title_changed"
	EventDescriptionChanged EventType = "description_changed"
	EventTagsChanged        EventType = "tags_changed"
	EventThumbnailChanged   EventType = "thumbnail_changed"
	EventMilestone          EventType = "milestone"
	EventTombstone          EventType = "tombstone" // deleted, private or otherwise gone
)

// Event is a change observed between two snapshots of one entity.
type Event struct {
	Type       EventType `json:"type"`
	EntityKind Kind      `json:"entityKind"` // KindVideo or KindChannel
	EntityID   string    `json:"entityId"`
	ChannelID  string    `json:"channelId,omitempty"`
	Old        string    `json:"old,omitempty"`
	New        string    `json:"new,omitempty"`
	ObservedAt time.Time `json:"observedAt"`
}

// Record is the versioned envelope of everything on the stream.
// Exactly one of Video, Channel, Event is set, matching Kind.
type Record struct {
	V       int      `json:"v"`
	ID      string   `json:"id"` // deterministic: same observation => same id (dedupe key)
	Kind    Kind     `json:"kind"`
	Source  string   `json:"source"` // "api", "rss", "import"
	Video   *Video   `json:"video,omitempty"`
	Channel *Channel `json:"channel,omitempty"`
	Event   *Event   `json:"event,omitempty"`
}

// NewVideoRecord wraps a video snapshot in an envelope with its deterministic id.
func NewVideoRecord(source string, v *Video) Record {
	v.FetchedAt = TruncMicros(v.FetchedAt)
	return Record{V: SchemaVersion, ID: RecordID(KindVideo, v.ID, v.FetchedAt, ""), Kind: KindVideo, Source: source, Video: v}
}

// NewChannelRecord wraps a channel snapshot in an envelope with its deterministic id.
func NewChannelRecord(source string, c *Channel) Record {
	c.FetchedAt = TruncMicros(c.FetchedAt)
	return Record{V: SchemaVersion, ID: RecordID(KindChannel, c.ID, c.FetchedAt, ""), Kind: KindChannel, Source: source, Channel: c}
}

// NewEventRecord wraps a change event in an envelope with its deterministic id.
func NewEventRecord(source string, e *Event) Record {
	e.ObservedAt = TruncMicros(e.ObservedAt)
	return Record{V: SchemaVersion, ID: RecordID(KindEvent, e.EntityID, e.ObservedAt, string(e.Type)+"|"+e.New), Kind: KindEvent, Source: source, Event: e}
}

// RecordID derives the dedupe id of an observation: the same entity observed
// at the same instant always gets the same id, so a re-publish after a crash
// is dropped by the stream's dedupe window and the sinks' idempotence.
func RecordID(k Kind, entityID string, at time.Time, extra string) string {
	base := string(k) + ":" + entityID + ":" + strconv.FormatInt(at.UnixMicro(), 10)
	if extra == "" {
		return base
	}
	h := sha256.Sum256([]byte(extra))
	return base + ":" + hex.EncodeToString(h[:6])
}

// Time returns the instant the record observed, used to route it to a date partition.
func (r *Record) Time() time.Time {
	switch {
	case r.Video != nil:
		return r.Video.FetchedAt
	case r.Channel != nil:
		return r.Channel.FetchedAt
	case r.Event != nil:
		return r.Event.ObservedAt
	}
	return time.Time{}
}

// Validate reports why a record cannot be accepted by the sinks.
func (r *Record) Validate() error {
	if r.V < 1 || r.V > SchemaVersion {
		return fmt.Errorf("record %q: unsupported schema version %d (this build reads 1..%d)", r.ID, r.V, SchemaVersion)
	}
	if r.ID == "" {
		return errors.New("record without id")
	}
	switch r.Kind {
	case KindVideo:
		if r.Video == nil {
			return fmt.Errorf("record %q: kind video without video", r.ID)
		}
		if err := ValidateVideoID(r.Video.ID); err != nil {
			return fmt.Errorf("record %q: %w", r.ID, err)
		}
		if r.Video.FetchedAt.IsZero() {
			return fmt.Errorf("record %q: video without fetchedAt", r.ID)
		}
	case KindChannel:
		if r.Channel == nil {
			return fmt.Errorf("record %q: kind channel without channel", r.ID)
		}
		if err := ValidateChannelID(r.Channel.ID); err != nil {
			return fmt.Errorf("record %q: %w", r.ID, err)
		}
		if r.Channel.FetchedAt.IsZero() {
			return fmt.Errorf("record %q: channel without fetchedAt", r.ID)
		}
	case KindEvent:
		if r.Event == nil || r.Event.EntityID == "" || r.Event.Type == "" {
			return fmt.Errorf("record %q: incomplete event", r.ID)
		}
	default:
		return fmt.Errorf("record %q: unknown kind %q", r.ID, r.Kind)
	}
	return nil
}

// Marshal encodes a record for the stream.
func (r *Record) Marshal() ([]byte, error) { return json.Marshal(r) }

// UnmarshalRecord decodes and validates a record from the stream.
func UnmarshalRecord(b []byte) (Record, error) {
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("decode record: %w", err)
	}
	return r, r.Validate()
}

// The id checks are hand-written (Validate runs on every record at publish,
// decode and lake write: a regexp cost ~0.15 µs a call there); they accept
// exactly what ^[0-9A-Za-z_-]{11}$ and ^UC[0-9A-Za-z_-]{22}$ accept
// (TestIDChecksMatchRegexp).

// idChar reports whether c is in the id alphabet [0-9A-Za-z_-].
func idChar(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '-'
}

func idChars(s string) bool {
	for i := 0; i < len(s); i++ {
		if !idChar(s[i]) {
			return false
		}
	}
	return true
}

// ValidateVideoID checks the 11-character YouTube video id syntax.
func ValidateVideoID(id string) error {
	if len(id) != 11 || !idChars(id) {
		return fmt.Errorf("invalid video id %q: want 11 characters of [0-9A-Za-z_-]", id)
	}
	return nil
}

// ValidateChannelID checks the UC + 22 characters channel id syntax.
func ValidateChannelID(id string) error {
	if len(id) != 24 || id[0] != 'U' || id[1] != 'C' || !idChars(id[2:]) {
		return fmt.Errorf("invalid channel id %q: want UC followed by 22 characters of [0-9A-Za-z_-]", id)
	}
	return nil
}

// UploadsPlaylistID returns the uploads playlist of a channel (UC... -> UU...).
func UploadsPlaylistID(channelID string) string {
	if len(channelID) > 2 && channelID[:2] == "UC" {
		return "UU" + channelID[2:]
	}
	return ""
}

// TruncMicros truncates a time to microseconds in UTC: the lake stores MICROS.
func TruncMicros(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// Int64 returns a pointer to n (for optional statistics).
func Int64(n int64) *int64 { return &n }

// Val returns *p or 0.
func Val(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}
