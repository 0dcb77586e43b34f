// Package sim owns the YouTube emulator: a deterministic, lazily generated
// universe of channels and videos served through the YouTube Data API v3 and
// the channel Atom feeds, with API keys, quota, ETags, simulated time and
// fault injection. Every test and benchmark of tubelake runs against it.
//
// # Endpoints
//
//	GET /youtube/v3/videos           id= (<=50) | chart=mostPopular [regionCode, videoCategoryId, maxResults, pageToken]
//	GET /youtube/v3/channels         id= (<=50) | forHandle=@h
//	GET /youtube/v3/playlistItems    playlistId=UU... [maxResults (default 5, max 50), pageToken]
//	GET /youtube/v3/search           q, type, order, channelId, regionCode, publishedAfter/Before, maxResults, pageToken
//	GET /youtube/v3/videoCategories  regionCode= | id=
//	GET /feeds/videos.xml            channel_id=UC...
//	GET /healthz
//
// Any number of "/youtube/v3" prefixes is accepted: the official Go client
// resolves "youtube/v3/videos" against its endpoint, so
// option.WithEndpoint(url+"/youtube/v3/") requests /youtube/v3/youtube/v3/videos
// (and option.WithEndpoint(url+"/") requests /youtube/v3/videos). Repeated
// parameters (part=a&part=b, id=x&id=y, as that client sends them) and
// comma lists are equivalent. prettyPrint=false gives compact JSON; the default
// is Google's pretty printing.
//
// # What is faithful
//
//   - Response shapes: kind, etag, nextPageToken/prevPageToken, pageInfo and
//     items with the real field names and order; only the requested parts
//     (snippet, contentDetails, statistics, status, id) are present; counts are
//     decimal strings; hidden likes, disabled comments and hidden subscriber
//     counts are absent fields; subscriber counts are rounded down to three
//     significant figures; channels.list with no match has no "items" key;
//     unknown, deleted and private ids are simply missing from videos.list;
//     search.list titles are HTML-escaped (&#39;, &quot;) and descriptions
//     are truncated snippets.
//   - Ids: channel ids are "UC"+22 and video ids 11 characters of the URL-safe
//     base64 alphabet, with the real constraint on the last character; uploads
//     playlists are "UU"+id[2:]. Ids are seed-keyed Feistel permutations of
//     (channel index) and (channel index, upload ordinal) plus a check field,
//     so they decode without a table and random ids are unknown.
//   - Page tokens look like the real ones: "CAUQAA" (offset 5) for charts and
//     search, "EAAaBlBUOkNBVQ" style for playlistItems. Playlist tokens carry an
//     upload ordinal, so paging an uploads playlist newest-first visits every
//     video exactly once even while new uploads are prepended.
//   - Errors: the quotaExceeded body is byte-identical to a real captured body
//     (errors[] first, 1-space indentation, \u003c escaping). keyInvalid,
//     unknownPart, invalidFilters (more than 50 ids; the exact real body for
//     that case is not in our reference data), invalidParameter
//     (maxResults range), invalidPageToken, playlistNotFound (404, also for a
//     channel with no uploads, as YouTube does), missingRequiredParameter,
//     rateLimitExceeded (usageLimits) and backendError (503) use the same
//     classic layout. A missing key gets the current 403 "The request is
//     missing a valid API key." body (code/message/errors/status layout).
//   - Quota: every /youtube/v3 call needs key=. Each key has QuotaPerDay units
//     (default 10,000; negative = unlimited) per day of America/Los_Angeles in
//     simulated time (DST handled). list calls cost 1 unit whatever the number
//     of ids, search costs 100. Order of checks: key, rate limit, quota, then
//     parameters: invalid requests are charged (as the real API does), calls
//     refused for the key, rate limit or quota are not.
//   - Partial responses: the fields parameter (a,b/c,d(e,f), * wildcard, a
//     selection inside an array applies to each element) keeps only the
//     selected members, in their original order, in compact and pretty form;
//     an object left with no selected member is dropped, as are unselected
//     top-level members (kind, etag, pageInfo, nextPageToken). A selection
//     that does not parse is 400 invalidParameter "Invalid field selection"
//     (charged). Unlike YouTube, names of fields that do not exist are
//     ignored rather than rejected (the emulator does not render every real
//     field). List and item etags are those of the full resource.
//   - ETags: every list response and item carries a 27-character etag, the
//     hash of its content; If-None-Match with it gives 304 with no body and
//     still costs quota. Statistics change over time, so etags do too.
//   - Atom feeds: the real element/attribute structure (yt and media
//     namespaces, media:group with title, content, thumbnail, description,
//     community/starRating and statistics@views), the latest 15 public
//     uploads, /shorts/ links for short videos, and, like current feeds, a
//     feed-level channel id without the "UC" prefix (entries keep it).
//     Unknown channels give 404. Feeds need no key and cost no quota.
//   - videoCategories.list serves the CC0 Kaggle KR_category_id.json (the real
//     response) for every region.
//
// # The universe
//
// Everything is a pure function of (Seed, index, ordinal, simulated time);
// nothing per channel or video is stored, so 100k channels / 10M videos cost
// the same memory as 10 (a few MB, mostly the embedded corpus).
//
//   - Channels are ranked by popularity: subscribers follow Zipf
//     (1e8/(rank+1)^0.85 at Start), growing slowly before and after Start.
//     ChannelIDs(n) is the first n ranks. 75% are Korean (KR, ko), 12%
//     Japanese, 13% US; 8% have no country; 3% hide their subscriber count.
//   - Uploads per channel are lognormal (sigma 1) times a popularity boost
//     ((N/(rank+1))^0.3), normalised so the mean is VideosPerChannel
//     (10,000 x 100 gives about 1M videos). A channel is created 3 months to
//     12 years before Start and uploads at a constant rate with per-video
//     jitter, forever: as simulated time advances new uploads appear in
//     playlistItems, feeds, search and charts.
//   - Video views follow a Pareto tail (alpha 1.2) scaled by the channel's
//     subscribers and grow with age as age/(age+tau) plus a slow linear tail;
//     likes and comments are per-video ratios of views. All statistics are
//     monotone in time.
//   - 3% of videos become deleted or private at some time after publication
//     (they disappear from videos.list and feeds; in playlistItems they stay as
//     "Deleted video"/"Private video" placeholders, and UploadIDs lists them);
//     2% get a title edit 1 hour to 60 days after publication; 5% hide likes,
//     4% disable comments; 25% are shorts (<= 60 s).
//   - Text is learnt from the CC0 Kaggle trending sample embedded in corpus/
//     (KR, JP, US): a title is a real title of the same language and category
//     with ~45% of its words swapped for corpus words, plus (75%) a common
//     topic term of the category (e.g. 영어, 초등영어, 먹방, 브이로그, ゲーム実況,
//     mukbang), so keyword searches find things. Tags and descriptions come
//     from the corpus tag lists and description lines. Handles are a
//     romanised slug of the channel title plus the channel rank (@slug123).
//
// # Approximations
//
//   - search.list cannot index 10M lazy videos. Its candidate set is the
//     newest 30 uploads of the 300 most popular channels (plus those channels
//     for type=channel), or the newest 500 uploads of channelId. q matches
//     case-insensitively as substrings of title, tags and channel title; all
//     words must match, "a|b" is OR, "-a" excludes. relevance = match score
//     (title > tags) + 0.3*log10(views); date, viewCount, rating (likes ~
//     views) and title orders are supported. At most 500 results page;
//     totalResults is the real match count. regionCode is echoed (default KR)
//     and does not filter.
//   - chart=mostPopular ranks the non-deleted uploads of the last 7 days of the
//     1,000 most popular channels of the region (by channel country; all
//     channels for an unknown region) by views, widening the window to 30 and
//     365 days and then all time while fewer than 200; it returns at most 200
//     videos.
//   - Channel viewCount is 0.1*subscribers*uploads + 1000*uploads (not the
//     sum of its videos' views); videoCount is the number of uploads,
//     including ones that became private or deleted.
//   - Only uploads playlists ("UU...") exist; playlistItems by id returns no
//     items. OAuth-only filters (mine, myRating, managedByMe) give 401.
//   - Only parts snippet, contentDetails, statistics, status and id are
//     rendered; other valid parts are accepted and omitted.
//
// # Time
//
// Simulated now = Start + Speed*(real elapsed since New) + Advance(...) total,
// where real time is Config.Now (default time.Now). Start defaults to
// 2026-11-01T00:00:00Z. The optional per-key rate limit (RateLimitQPS,
// refused with 403 rateLimitExceeded, uncharged) runs on the real clock.
//
// # Faults and what they cost
//
// Latency (Latency + uniform jitter) is applied to every request before
// anything else. Faults are drawn only for calls that were admitted and
// charged by quota accounting, never for calls refused for key, rate limit or
// quota: with probability Fault5xx the call gets 503 backendError, with
// FaultTimeout it hangs until the client gives up (or Server.Close), with
// FaultTruncate it writes half of the body (Content-Length of the whole) and
// drops the connection. A faulted call keeps its charge (1 or 100 units), so
// a client that retries pays again, as with the real API. Feeds get the same
// faults (500 instead of 503) at no cost.
//
// Usage() reports calls per endpoint ("rss" for feeds), units per key (keys
// appear as sent; keep it out of logs), errors by reason (API reasons such as
// quotaExceeded; "rss500" and "rssNotFound" for feeds), faults and 304s. Registerer exposes
// the same as Prometheus metrics without any key label.
package sim
