package importer

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"

	"github.com/tubelake/tubelake/internal/yt"
)

// FormatSQL is Stats.Format of a database import.
const FormatSQL = "sql"

// SQLFields are the video fields a database column can be mapped to.
// "id" (the 11-character YouTube video id) is required.
var SQLFields = []string{
	"id", "channel_id", "title", "description", "channel_title", "published_at", "tags", "category_id",
	"default_language", "default_audio_language", "thumbnail_url", "duration", "definition", "caption",
	"view_count", "like_count", "comment_count", "fetched_at",
}

// ParseMapping parses "field=column,field=column" (tubelake field = source
// column). A field mapped to itself may be given alone ("id,title").
func ParseMapping(s string) (map[string]string, error) {
	m := map[string]string{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		field, col, ok := strings.Cut(part, "=")
		if !ok {
			col = field
		}
		field, col = strings.TrimSpace(field), strings.TrimSpace(col)
		if !slices.Contains(SQLFields, field) {
			return nil, fmt.Errorf("--map: unknown field %q (fields: %s)", field, strings.Join(SQLFields, ", "))
		}
		if !identRe.MatchString(col) {
			return nil, fmt.Errorf("--map: column %q for %s is not a plain column name", col, field)
		}
		if _, dup := m[field]; dup {
			return nil, fmt.Errorf("--map: field %s mapped twice", field)
		}
		m[field] = col
	}
	if _, ok := m["id"]; !ok {
		return nil, errors.New("--map: the id field (YouTube video id) must be mapped, e.g. id=video_id")
	}
	return m, nil
}

var identRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_$]{0,63}$`)

// SQLSource names what to read from a database.
type SQLSource struct {
	// URL is mysql://user:pass@host:port/db or postgres://user:pass@host:port/db[?sslmode=...].
	URL string
	// Table to read (every mapped column), or Query: a complete SELECT
	// whose result columns are the mapped names.
	Table, Query string
	// Mapping is tubelake field -> source column (ParseMapping).
	Mapping map[string]string
}

// openSQL opens the database of a mysql:// or postgres:// URL.
func openSQL(raw string) (*sql.DB, string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, "", fmt.Errorf("import: bad database URL: %w", redactErr(err))
	}
	switch u.Scheme {
	case "mysql", "mariadb":
		cfg := mysql.NewConfig()
		cfg.User = u.User.Username()
		cfg.Passwd, _ = u.User.Password()
		cfg.Net = "tcp"
		cfg.Addr = u.Host
		if u.Port() == "" {
			cfg.Addr = u.Hostname() + ":3306"
		}
		cfg.DBName = strings.TrimPrefix(u.Path, "/")
		cfg.Params = map[string]string{}
		for k, v := range u.Query() {
			cfg.Params[k] = v[0]
		}
		connector, err := mysql.NewConnector(cfg)
		if err != nil {
			return nil, "", fmt.Errorf("import: %w", err)
		}
		return sql.OpenDB(connector), "mysql", nil
	case "postgres", "postgresql":
		db, err := sql.Open("pgx", raw)
		if err != nil {
			return nil, "", fmt.Errorf("import: %w", err)
		}
		return db, "postgres", nil
	}
	return nil, "", fmt.Errorf("import: unsupported database URL scheme %q (want mysql:// or postgres://)", u.Scheme)
}

// redactErr drops a URL (which may hold a password) from url.Parse errors.
func redactErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func quoteIdent(dialect, s string) string {
	if dialect == "mysql" {
		return "`" + s + "`"
	}
	return `"` + s + `"`
}

// ReadSQL streams rows of a MySQL/MariaDB or PostgreSQL table (or query)
// as video snapshot records, mapping columns to fields with src.Mapping.
// Rows are read with one streaming query (no offset paging), batched to
// emit like file imports; a bad row (invalid id, unparsable number or time)
// is a LineError whose Line is the 1-based row number. Progress, if set, is
// called with the rows read so far; total (for a progress bar) is the
// table's row count, or -1 for a query.
func ReadSQL(ctx context.Context, src SQLSource, opts Options, total func(int64), emit func(context.Context, []yt.Record) error) (Stats, error) {
	if opts.OnError == "" {
		opts.OnError = Fail
	}
	if opts.Source == "" {
		opts.Source = "import"
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 1000
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if (src.Table == "") == (src.Query == "") {
		return Stats{}, errors.New("import: give exactly one of a table or a query")
	}
	if src.Table != "" && !identRe.MatchString(strings.ReplaceAll(src.Table, ".", "_")) {
		return Stats{}, fmt.Errorf("import: table %q is not a plain name", src.Table)
	}
	if src.Mapping == nil {
		return Stats{}, errors.New("import: a column mapping is required")
	}
	db, dialect, err := openSQL(src.URL)
	if err != nil {
		return Stats{}, err
	}
	defer db.Close()
	if err := db.PingContext(ctx); err != nil {
		return Stats{}, fmt.Errorf("import: connect to %s database: %w", dialect, err)
	}
	fields := make([]string, 0, len(src.Mapping))
	for f := range src.Mapping {
		fields = append(fields, f)
	}
	slices.Sort(fields)
	q := src.Query
	name := src.Query
	if src.Table != "" {
		var parts []string
		for _, t := range strings.Split(src.Table, ".") {
			parts = append(parts, quoteIdent(dialect, t))
		}
		table := strings.Join(parts, ".")
		cols := make([]string, len(fields))
		for i, f := range fields {
			cols[i] = quoteIdent(dialect, src.Mapping[f])
		}
		q = "SELECT " + strings.Join(cols, ", ") + " FROM " + table
		name = src.Table
		if total != nil {
			var n int64
			if err := db.QueryRowContext(ctx, "SELECT count(*) FROM "+table).Scan(&n); err == nil {
				total(n)
			}
		}
	} else if total != nil {
		total(-1)
	}
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return Stats{}, fmt.Errorf("import: query %s: %w", name, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return Stats{}, fmt.Errorf("import: %w", err)
	}
	// Position of each mapped field in the result.
	pos := map[string]int{}
	for _, f := range fields {
		i := slices.IndexFunc(cols, func(c string) bool { return strings.EqualFold(c, src.Mapping[f]) })
		if i < 0 {
			return Stats{}, fmt.Errorf("import: column %q (for %s) is not in the result (columns: %s)", src.Mapping[f], f, strings.Join(cols, ", "))
		}
		pos[f] = i
	}
	s := &sink{ctx: ctx, opts: opts, emit: emit, file: dialect + ":" + name, log: opts.Logger,
		batch: make([]yt.Record, 0, min(opts.BatchSize, 4096)), seen: map[obsKey]int64{}}
	s.stats.Format = FormatSQL
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	row := 0
	for rows.Next() {
		row++
		if err := rows.Scan(ptrs...); err != nil {
			return s.stats, fmt.Errorf("import: row %d: %w", row, err)
		}
		get := func(f string) (string, bool) {
			i, ok := pos[f]
			if !ok || !vals[i].Valid {
				return "", false
			}
			return vals[i].String, true
		}
		v, err := videoFromRow(get)
		if err != nil {
			if err := s.bad(row, err); err != nil {
				return s.finish(err)
			}
		} else if err := s.addVideo(row, v); err != nil {
			return s.finish(err)
		}
		if err := s.step(); err != nil {
			return s.finish(err)
		}
		if opts.Progress != nil && row%1000 == 0 {
			opts.Progress(int64(row))
		}
	}
	if err := rows.Err(); err != nil {
		return s.finish(fmt.Errorf("import: reading %s: %w", name, err))
	}
	if opts.Progress != nil {
		opts.Progress(int64(row))
	}
	return s.finish(s.flush())
}

func (s *sink) finish(err error) (Stats, error) {
	if err == nil {
		return s.stats, nil
	}
	var le *LineError
	if errors.As(err, &le) {
		return s.stats, fmt.Errorf("import: %w", err)
	}
	if errors.Is(err, ErrNoObservedAt) {
		return s.stats, fmt.Errorf("import: %w (map fetched_at or pass --observed-at)", err)
	}
	return s.stats, err
}

// videoFromRow builds a video from mapped column values.
func videoFromRow(get func(string) (string, bool)) (*yt.Video, error) {
	v := &yt.Video{}
	v.ID, _ = get("id")
	v.ID = strings.TrimSpace(v.ID)
	str := func(f string) string { s, _ := get(f); return s }
	v.Snippet.ChannelID = str("channel_id")
	v.Snippet.Title = str("title")
	v.Snippet.Description = str("description")
	v.Snippet.ChannelTitle = str("channel_title")
	v.Snippet.CategoryID = str("category_id")
	v.Snippet.DefaultLanguage = str("default_language")
	v.Snippet.DefaultAudioLanguage = str("default_audio_language")
	v.Snippet.Thumbnail.URL = str("thumbnail_url")
	v.ContentDetails.Duration = str("duration")
	v.ContentDetails.Definition = str("definition")
	v.ContentDetails.Caption = str("caption")
	if t, ok := get("tags"); ok && strings.TrimSpace(t) != "" {
		v.Snippet.Tags = splitDBTags(t)
	}
	for _, c := range []struct {
		f   string
		dst **int64
	}{{"view_count", &v.Statistics.ViewCount}, {"like_count", &v.Statistics.LikeCount}, {"comment_count", &v.Statistics.CommentCount}} {
		s, ok := get(c.f)
		if !ok || strings.TrimSpace(s) == "" {
			continue // NULL: hidden count
		}
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%s: %q is not a non-negative integer", c.f, s)
		}
		*c.dst = yt.Int64(n)
	}
	for _, c := range []struct {
		f   string
		dst *time.Time
	}{{"published_at", &v.Snippet.PublishedAt}, {"fetched_at", &v.FetchedAt}} {
		s, ok := get(c.f)
		if !ok || strings.TrimSpace(s) == "" {
			continue
		}
		t, err := parseDBTime(s)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.f, err)
		}
		*c.dst = t
	}
	return v, nil
}

// splitDBTags reads a JSON array, a |-separated or a comma-separated list.
func splitDBTags(s string) []string {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "[") || strings.HasPrefix(s, "{") { // JSON array or Postgres text[]
		s = strings.Trim(s, "[]{}")
	}
	sep := ","
	if strings.Contains(s, "|") {
		sep = "|"
	}
	var out []string
	for _, t := range strings.Split(s, sep) {
		t = strings.Trim(strings.TrimSpace(t), `"`)
		if t != "" {
			out = append(out, t)
		}
	}
	return out
}

var dbTimeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999 -0700 MST", // database/sql's time.Time -> string
	"2006-01-02 15:04:05.999999999-07",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02",
}

// parseDBTime reads the time formats MySQL, PostgreSQL and database/sql
// produce; times without a zone are UTC. A bare integer is Unix seconds.
func parseDBTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0).UTC(), nil
	}
	for _, l := range dbTimeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time (want RFC 3339, YYYY-MM-DD HH:MM:SS[.ffffff] or Unix seconds)", s)
}
