package collect

import (
	"context"
	"sync"

	"google.golang.org/api/youtube/v3"

	"github.com/tubelake/tubelake/internal/quota"
)

// SearchChannels runs search.list (type=channel, 100 units a page, paid
// from the plan's search bucket) for q and returns the channel ids of up to
// pages pages of 50 results, de-duplicated.
func (c *Collector) SearchChannels(ctx context.Context, q string, pages int) ([]string, Stats, error) {
	if pages < 1 {
		pages = 1
	}
	r := c.newRun(ctx)
	r.bucket = quota.BucketSearch
	var mu sync.Mutex
	seen := map[string]bool{}
	var out []string
	var page func(token string, n int) *task
	page = func(token string, n int) *task {
		t := &task{prio: prioChannels, op: "search.list"}
		t.fn = func(t *task) error {
			var resp *youtube.SearchListResponse
			err := r.send(t, quota.CostSearch, func(ctx context.Context, svc *youtube.Service) error {
				call := svc.Search.List([]string{"snippet"}).Q(q).Type("channel").MaxResults(50).Context(ctx)
				if token != "" {
					call = call.PageToken(token)
				}
				var err error
				resp, err = call.Do()
				return err
			})
			if err != nil {
				return err
			}
			mu.Lock()
			for _, it := range resp.Items {
				if it == nil {
					continue
				}
				id := ""
				if it.Id != nil {
					id = it.Id.ChannelId
				}
				if id == "" && it.Snippet != nil {
					id = it.Snippet.ChannelId
				}
				if id != "" && !seen[id] {
					seen[id] = true
					out = append(out, id)
				}
			}
			mu.Unlock()
			if resp.NextPageToken != "" && n+1 < pages && len(resp.Items) > 0 {
				r.add(page(resp.NextPageToken, n+1))
			}
			return nil
		}
		return t
	}
	st, err := r.execute(func() { r.add(page("", 0)) })
	return out, st, err
}
