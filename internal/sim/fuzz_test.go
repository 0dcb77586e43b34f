package sim

import (
	"testing"

	"github.com/tubelake/tubelake/internal/yt"
)

func FuzzVideoID(f *testing.F) {
	codec := newIDCodec(12345, 100000)
	f.Add(codec.videoID(0, 0))
	f.Add(codec.videoID(99999, 1<<ordBits-1))
	f.Add("dQw4w9WgXcQ")
	f.Add("")
	f.Add("AAAAAAAAAA=")
	f.Fuzz(func(t *testing.T, id string) {
		ch, ord, ok := codec.videoRef(id)
		if !ok {
			return
		}
		if ch < 0 || ch >= 100000 || ord < 0 || ord >= 1<<ordBits {
			t.Fatalf("%q decoded out of range: %d %d", id, ch, ord)
		}
		if got := codec.videoID(ch, ord); got != id {
			t.Fatalf("%q decoded to (%d,%d) which encodes to %q", id, ch, ord, got)
		}
		if err := yt.ValidateVideoID(id); err != nil {
			t.Fatal(err)
		}
	})
}

func FuzzChannelID(f *testing.F) {
	codec := newIDCodec(7, 5000)
	f.Add(codec.channelID(0))
	f.Add(codec.channelID(4999))
	f.Add("UCcQTRi69dsVYHN3exePtZ1A")
	f.Add("UU" + codec.channelID(3)[2:])
	f.Fuzz(func(t *testing.T, id string) {
		idx, ok := codec.channelIndex(id)
		if !ok {
			return
		}
		if got := codec.channelID(idx); got != id {
			t.Fatalf("%q decoded to %d which encodes to %q", id, idx, got)
		}
	})
}

func FuzzPageTokens(f *testing.F) {
	f.Add("CAUQAA")
	f.Add("CAoQAQ")
	f.Add("EAAaBlBUOkNBVQ")
	f.Add(playlistToken(1<<ordBits-1, true))
	f.Add(offsetToken(499, false))
	f.Add("")
	f.Add("%%%")
	f.Fuzz(func(t *testing.T, tok string) {
		if off, err := parseOffsetToken(tok); err == nil {
			if off < 0 {
				t.Fatalf("negative offset from %q", tok)
			}
			// Canonical tokens round-trip.
			if tok == offsetToken(off, false) || tok == offsetToken(off, true) {
				return
			}
		}
		if a, prev, err := parsePlaylistToken(tok); err == nil {
			if a < 0 || a >= 1<<ordBits {
				t.Fatalf("anchor %d out of range from %q", a, tok)
			}
			if back := playlistToken(a, prev); back != tok {
				// Non-canonical varints may decode; they must still re-encode to a token that parses the same.
				a2, p2, err := parsePlaylistToken(back)
				if err != nil || a2 != a || p2 != prev {
					t.Fatalf("%q -> (%d,%v) -> %q does not round-trip", tok, a, prev, back)
				}
			}
		}
		_, _, _ = parseHandle(tok)
	})
}

func TestPageTokensLookReal(t *testing.T) {
	for _, c := range []struct {
		got, want string
	}{
		{offsetToken(5, false), "CAUQAA"},
		{offsetToken(10, true), "CAoQAQ"},
		{offsetToken(25, false), "CBkQAA"},
		{playlistToken(5, false), "EAAaBlBUOkNBVQ"},
	} {
		if c.got != c.want {
			t.Errorf("token %q, want real-looking %q", c.got, c.want)
		}
	}
	if off, err := parseOffsetToken("CBkQAA"); err != nil || off != 25 {
		t.Fatalf("parse real token: %d %v", off, err)
	}
	if a, prev, err := parsePlaylistToken("EAAaBlBUOkNBVQ"); err != nil || a != 5 || prev {
		t.Fatalf("parse real playlist token: %d %v %v", a, prev, err)
	}
}
