// Package sim owns the YouTube emulator: a deterministic, lazily generated
// universe of channels and videos served through the YouTube Data API v3
// (videos, channels, playlistItems, search, videoCategories) and the channel
// Atom feeds (/feeds/videos.xml), with quota, ETags and fault injection.
package sim
