package schedule

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"
)

// Tier is one refresh class of videos. A video belongs to the first tier
// whose conditions it meets: younger than MaxAge (0 = any age) or, when
// MinVelocity > 0, at least that many views per hour.
type Tier struct {
	Name        string
	MaxAge      time.Duration // match videos published less than MaxAge ago (0 = no age condition)
	MinVelocity float64       // or whose view velocity (views/hour) is at least this (0 = no velocity condition)
	Interval    time.Duration // refresh interval; for the last tier, the shortest one
	MaxInterval time.Duration // last tier only: slow videos stretch up to this interval
}

// Config holds the refresh policy. The zero value takes DefaultConfig's
// values field by field.
type Config struct {
	Tiers           []Tier        // video tiers, checked in order; the last one is the catch-all
	ChannelInterval time.Duration // channel statistics refresh interval (default 24h)
	// ColdVelocity is the view velocity (views/hour) at which a video of the
	// last tier is refreshed at its Interval; slower videos get
	// Interval*ColdVelocity/velocity, capped at MaxInterval.
	ColdVelocity float64
	// Slack lets a refresh run early by up to this fraction of the interval,
	// so that due items fill 50-id batches (default 0.1).
	Slack float64
	// LeaseTTL bounds how long leased items stay out of the due queue if
	// never completed by a live process (default 10 min).
	LeaseTTL time.Duration
	Shard    Shard
}

// DefaultConfig is modelled on what public trackers do: new videos hourly,
// the first week (or anything still gaining fast) daily, the long tail
// weekly to every 90 days, channel statistics daily.
func DefaultConfig() Config {
	return Config{
		Tiers: []Tier{
			{Name: "hour", MaxAge: 24 * time.Hour, Interval: time.Hour},
			{Name: "day", MaxAge: 7 * 24 * time.Hour, MinVelocity: 100, Interval: 24 * time.Hour},
			{Name: "cold", Interval: 7 * 24 * time.Hour, MaxInterval: 90 * 24 * time.Hour},
		},
		ChannelInterval: 24 * time.Hour,
		ColdVelocity:    10,
		Slack:           0.1,
		LeaseTTL:        10 * time.Minute,
		Shard:           Shard{Index: 0, Count: 1},
	}
}

func (c Config) withDefaults() (Config, error) {
	d := DefaultConfig()
	if len(c.Tiers) == 0 {
		c.Tiers = d.Tiers
	}
	if c.ChannelInterval <= 0 {
		c.ChannelInterval = d.ChannelInterval
	}
	if c.ColdVelocity <= 0 {
		c.ColdVelocity = d.ColdVelocity
	}
	if c.Slack <= 0 {
		c.Slack = d.Slack
	}
	if c.LeaseTTL <= 0 {
		c.LeaseTTL = d.LeaseTTL
	}
	if c.Shard.Count == 0 {
		c.Shard = d.Shard
	}
	if len(c.Tiers) > 250 {
		return c, fmt.Errorf("schedule: %d tiers, at most 250", len(c.Tiers))
	}
	for i, t := range c.Tiers {
		if t.Name == "" || t.Name == ChannelTier || t.Name == NewTier {
			return c, fmt.Errorf("schedule: tier %d: name %q is empty or reserved", i, t.Name)
		}
		if t.Interval <= 0 {
			return c, fmt.Errorf("schedule: tier %q: interval must be positive", t.Name)
		}
		if t.MaxInterval != 0 && t.MaxInterval < t.Interval {
			return c, fmt.Errorf("schedule: tier %q: max interval %s below interval %s", t.Name, t.MaxInterval, t.Interval)
		}
	}
	if c.Shard.Count < 1 || c.Shard.Index < 0 || c.Shard.Index >= c.Shard.Count {
		return c, fmt.Errorf("schedule: invalid shard %d/%d", c.Shard.Index, c.Shard.Count)
	}
	return c, nil
}

// ChannelTier is the name of the channel statistics tier in reports.
const ChannelTier = "channel"

// tierOf returns the index of the video tier and the refresh interval for a
// video published at pub with the given velocity (views/hour), at now.
func (c *Config) tierOf(pub time.Time, velocity float64, now time.Time) (int, time.Duration) {
	age := now.Sub(pub)
	last := len(c.Tiers) - 1
	for i, t := range c.Tiers[:last] {
		if (t.MaxAge > 0 && age < t.MaxAge) || (t.MinVelocity > 0 && velocity >= t.MinVelocity) {
			return i, t.Interval
		}
	}
	t := c.Tiers[last]
	iv := t.Interval
	if t.MaxInterval > t.Interval {
		f := c.ColdVelocity / max(velocity, 1e-9)
		if f > 1 {
			stretched := time.Duration(float64(iv) * f)
			if stretched > t.MaxInterval || stretched <= 0 {
				stretched = t.MaxInterval
			}
			iv = stretched
		}
	}
	return last, iv
}

// Shard is one partition of the channel id space: a collector process with
// Shard{i, n} owns the channels whose FNV-1a hash mod n is i, and every
// video of those channels.
type Shard struct{ Index, Count int }

// ParseShard parses "i/n" (0 <= i < n).
func ParseShard(s string) (Shard, error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return Shard{}, fmt.Errorf("invalid shard %q: want i/n with 0 <= i < n, e.g. 0/4", s)
	}
	return Shard{Index: i, Count: n}, nil
}

func (s Shard) String() string { return strconv.Itoa(s.Index) + "/" + strconv.Itoa(s.Count) }

// Owns reports whether the shard owns the channel.
func (s Shard) Owns(channelID string) bool {
	if s.Count <= 1 {
		return true
	}
	return ShardOf(channelID, s.Count) == s.Index
}

// ShardOf returns the partition (0..n-1) of a channel id.
func ShardOf(channelID string, n int) int {
	h := fnv.New32a()
	h.Write([]byte(channelID))
	return int(h.Sum32() % uint32(n))
}
