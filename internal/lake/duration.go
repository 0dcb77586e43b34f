package lake

import (
	"time"
)

// ParseISODuration parses the ISO 8601 durations the YouTube API returns for
// contentDetails.duration (PT4M13S, PT1H2M, P1DT2H, P0D, PT0S). Years and
// months are rejected (their length is ambiguous and the API never sends them
// for videos); weeks are accepted. Units must appear at most once and in
// order. ok is false for anything else.
func ParseISODuration(s string) (d time.Duration, ok bool) {
	if len(s) < 2 || s[0] != 'P' {
		return 0, false
	}
	const maxSeconds = int64(1) << 33 // ~272 years: beyond any video, below time.Duration overflow
	// Unit ranks enforce order and uniqueness: W < D < H < M < S.
	const (
		rankW = iota + 1
		rankD
		rankH
		rankM
		rankS
	)
	var total, n int64
	inTime, digits := false, false
	last, timeUnits, units := 0, 0, 0
	for i := 1; i < len(s); i++ {
		c := s[i]
		if c >= '0' && c <= '9' {
			n = n*10 + int64(c-'0')
			if n > maxSeconds {
				return 0, false
			}
			digits = true
			continue
		}
		if c == 'T' {
			if inTime || digits {
				return 0, false
			}
			inTime = true
			continue
		}
		if !digits {
			return 0, false
		}
		var unit int64
		var rank int
		switch {
		case !inTime && c == 'W':
			unit, rank = 7*86400, rankW
		case !inTime && c == 'D':
			unit, rank = 86400, rankD
		case inTime && c == 'H':
			unit, rank = 3600, rankH
		case inTime && c == 'M':
			unit, rank = 60, rankM
		case inTime && c == 'S':
			unit, rank = 1, rankS
		default:
			return 0, false
		}
		if rank <= last {
			return 0, false
		}
		last = rank
		units++
		if inTime {
			timeUnits++
		}
		total += n * unit
		if total > maxSeconds {
			return 0, false
		}
		n, digits = 0, false
	}
	if digits || units == 0 || (inTime && timeUnits == 0) {
		return 0, false
	}
	return time.Duration(total) * time.Second, true
}
