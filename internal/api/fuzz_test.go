package api_test

import (
	"net/url"
	"testing"

	"github.com/tubelake/tubelake/internal/api"
)

// FuzzParseSearch feeds arbitrary query strings to the search parameter
// parser: it must never panic, and whatever it accepts must respect the
// route table's bounds.
func FuzzParseSearch(f *testing.F) {
	for _, s := range []string{"q=영어&sort=views&limit=5", "q=a&in=title,tags&min_views=10&published_after=2026-01-01",
		"q=%22a+b%22&initials=true&layout=1", "limit=0", "q=a&q=b", "q=a&cursor=%00%ff", "q=" + url.QueryEscape("ㅊㄷㅇㅇ")} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := api.ParseSearch(v)
		if err != nil {
			return
		}
		if q.Q == "" || len(q.Q) > 512 || q.Limit < 1 || q.Limit > 100 || q.MinViews < 0 {
			t.Fatalf("accepted out-of-bounds query %+v from %q", q, raw)
		}
		for _, f := range q.In {
			switch f {
			case "title", "tags", "channel", "description":
			default:
				t.Fatalf("accepted field %q", f)
			}
		}
	})
}
