package sim

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// rssEntries is YouTube's fixed feed size.
const rssEntries = 15

var xmlText = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
var xmlAttr = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;")

func rssTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05+00:00") }

// serveRSS serves /feeds/videos.xml?channel_id=UC... (no key, no quota).
// Latency and faults apply as for the API; a fault costs nothing.
func (s *Server) serveRSS(w http.ResponseWriter, r *http.Request) {
	s.count(func(u *Usage) { u.Calls["rss"]++ })
	code := 200
	started := time.Now()
	defer func() {
		s.metrics.calls.WithLabelValues("rss", strconv.Itoa(code)).Inc()
		s.metrics.latency.WithLabelValues("rss").Observe(time.Since(started).Seconds())
	}()
	if !s.sleepLatency(r) {
		code = 499
		return
	}
	fault := s.drawFault()
	switch fault {
	case "5xx":
		code = 500
		s.count(func(u *Usage) { u.Errors["rss500"]++ })
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	case "timeout":
		code = 504
		s.hang(w, r)
		return
	}
	now := s.Now()
	m, ok := s.u.resolveChannel(r.URL.Query().Get("channel_id"), now)
	if !ok {
		code = 404
		s.count(func(u *Usage) { u.Errors["rssNotFound"]++ })
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte("<!DOCTYPE html><html lang=\"en\"><head><title>Error 404 (Not Found)!!1</title></head><body><p><b>404.</b> <ins>That’s an error.</ins></p></body></html>\n"))
		return
	}
	body := s.feed(m, now)
	h := w.Header()
	h.Set("Content-Type", "text/xml; charset=UTF-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(200)
	if fault == "truncate" {
		_, _ = w.Write(body[:len(body)/2])
		abortConnection(w)
	}
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// feed renders the channel's Atom feed at now: its latest 15 public uploads.
// Layout follows the real feeds (1-space indentation, yt/media namespaces;
// like current feeds, the feed-level channel id lacks the "UC" prefix).
func (s *Server) feed(m *chanMeta, now time.Time) []byte {
	var b bytes.Buffer
	short := m.id[2:]
	chURL := "https://www.youtube.com/channel/" + m.id
	title := xmlText.Replace(m.title)
	b.WriteString("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
	b.WriteString("<feed xmlns:yt=\"http://www.youtube.com/xml/schemas/2015\" xmlns:media=\"http://search.yahoo.com/mrss/\" xmlns=\"http://www.w3.org/2005/Atom\">\n")
	fmt.Fprintf(&b, " <link rel=\"self\" href=\"http://www.youtube.com/feeds/videos.xml?channel_id=%s\"/>\n", m.id)
	fmt.Fprintf(&b, " <id>yt:channel:%s</id>\n", short)
	fmt.Fprintf(&b, " <yt:channelId>%s</yt:channelId>\n", short)
	fmt.Fprintf(&b, " <title>%s</title>\n", title)
	fmt.Fprintf(&b, " <link rel=\"alternate\" href=\"%s\"/>\n", chURL)
	fmt.Fprintf(&b, " <author>\n  <name>%s</name>\n  <uri>%s</uri>\n </author>\n", title, chURL)
	fmt.Fprintf(&b, " <published>%s</published>\n", rssTime(m.created))
	n := s.u.uploadCount(&m.chanBase, now)
	for ord, k := n-1, 0; ord >= 0 && k < rssEntries; ord-- {
		v := s.u.video(m, ord)
		if v.gone(now) {
			continue
		}
		k++
		vt, desc := s.u.videoTitle(v, now), s.u.videoDesc(v)
		vt = xmlText.Replace(vt)
		link := "https://www.youtube.com/watch?v=" + v.id
		if v.shorts() {
			link = "https://www.youtube.com/shorts/" + v.id
		}
		views := s.u.views(v, now)
		likes, avg := int64(float64(views)*v.likeRatio), "5.00"
		if v.hideLikes {
			likes, avg = 0, "0.00"
		}
		b.WriteString(" <entry>\n")
		fmt.Fprintf(&b, "  <id>yt:video:%s</id>\n", v.id)
		fmt.Fprintf(&b, "  <yt:videoId>%s</yt:videoId>\n", v.id)
		fmt.Fprintf(&b, "  <yt:channelId>%s</yt:channelId>\n", m.id)
		fmt.Fprintf(&b, "  <title>%s</title>\n", vt)
		fmt.Fprintf(&b, "  <link rel=\"alternate\" href=\"%s\"/>\n", link)
		fmt.Fprintf(&b, "  <author>\n   <name>%s</name>\n   <uri>%s</uri>\n  </author>\n", title, chURL)
		fmt.Fprintf(&b, "  <published>%s</published>\n", rssTime(v.pub))
		fmt.Fprintf(&b, "  <updated>%s</updated>\n", rssTime(s.rssUpdated(v, now)))
		b.WriteString("  <media:group>\n")
		fmt.Fprintf(&b, "   <media:title>%s</media:title>\n", vt)
		fmt.Fprintf(&b, "   <media:content url=\"https://www.youtube.com/v/%s?version=3\" type=\"application/x-shockwave-flash\" width=\"640\" height=\"390\"/>\n", v.id)
		fmt.Fprintf(&b, "   <media:thumbnail url=\"https://i%d.ytimg.com/vi/%s/hqdefault.jpg\" width=\"480\" height=\"360\"/>\n", 1+v.ord%4, v.id)
		fmt.Fprintf(&b, "   <media:description>%s</media:description>\n", xmlText.Replace(desc))
		b.WriteString("   <media:community>\n")
		fmt.Fprintf(&b, "    <media:starRating count=\"%d\" average=\"%s\" min=\"1\" max=\"5\"/>\n", likes, avg)
		fmt.Fprintf(&b, "    <media:statistics views=\"%d\"/>\n", views)
		b.WriteString("   </media:community>\n")
		b.WriteString("  </media:group>\n")
		b.WriteString(" </entry>\n")
	}
	b.WriteString("</feed>\n")
	return b.Bytes()
}

// rssUpdated is the entry's <updated>: refreshed every 6 hours (per-video
// phase), never before publish or a title edit. Monotone in now.
func (s *Server) rssUpdated(v *vidBase, now time.Time) time.Time {
	const period = 6 * time.Hour
	phase := time.Duration(hash2(s.u.seed, uint64(v.ch.idx), uint64(v.ord), 0x0bd) % uint64(period))
	u := now.Add(-phase).Truncate(period).Add(phase)
	if !v.editAt.IsZero() && !now.Before(v.editAt) && u.Before(v.editAt) {
		u = v.editAt
	}
	if u.Before(v.pub) {
		u = v.pub
	}
	return u.Truncate(time.Second)
}
