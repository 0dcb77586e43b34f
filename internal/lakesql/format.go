package lakesql

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/duckdb/duckdb-go/v2"
)

// Formats lists the output formats Result.Write accepts.
func Formats() []string { return []string{"table", "csv", "json"} }

// MaxCellWidth caps a cell of the "table" format (longer text is cut with "…").
const MaxCellWidth = 60

const timestampLayout = "2006-01-02T15:04:05.000000Z07:00"

// Write renders the result: "table" (aligned text with a header rule and a
// row count), "csv" (RFC 4180 with a header; NULL is the empty field) or
// "json" (an array of objects, keys in column order; NULL is null).
// Timestamps are RFC 3339 in UTC with exactly six fractional digits, DATE columns
// are YYYY-MM-DD, lists and structs are JSON.
func (r *Result) Write(w io.Writer, format string) error {
	bw := bufio.NewWriter(w)
	var err error
	switch format {
	case "table", "":
		err = r.writeTable(bw)
	case "csv":
		err = r.writeCSV(bw)
	case "json":
		err = r.writeJSON(bw)
	default:
		return fmt.Errorf("lakesql: unknown format %q (want one of %s)", format, strings.Join(Formats(), ", "))
	}
	if err != nil {
		return err
	}
	return bw.Flush()
}

func (r *Result) colType(i int) string {
	if i < len(r.Types) {
		return r.Types[i]
	}
	return ""
}

// text renders a non-NULL value as plain text.
func (r *Result) text(i int, v any) string {
	switch x := v.(type) {
	case string:
		return x
	case time.Time:
		switch r.colType(i) {
		case "DATE":
			return x.Format(time.DateOnly)
		case "TIME":
			return x.Format("15:04:05.999999")
		}
		return x.UTC().Format(timestampLayout)
	case bool:
		return strconv.FormatBool(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case *big.Int:
		return x.String()
	case []byte:
		return blobText(x)
	case []any, map[string]any:
		b, err := json.Marshal(jsonValue(r.colType(i), x))
		if err != nil {
			return fmt.Sprint(x)
		}
		return string(b)
	}
	return fmt.Sprint(v)
}

func (r *Result) writeTable(w io.Writer) error {
	n := len(r.Columns)
	cells := make([][]string, len(r.Rows))
	width := make([]int, n)
	numeric := make([]bool, n)
	for i, c := range r.Columns {
		width[i] = utf8.RuneCountInString(c)
		switch r.colType(i) {
		case "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE":
			numeric[i] = true
		default:
			numeric[i] = strings.HasPrefix(r.colType(i), "DECIMAL")
		}
	}
	for ri, row := range r.Rows {
		cells[ri] = make([]string, n)
		for i := 0; i < n && i < len(row); i++ {
			s := "NULL"
			if row[i] != nil {
				s = clip(escapeCell(r.text(i, row[i])))
			}
			cells[ri][i] = s
			width[i] = max(width[i], utf8.RuneCountInString(s))
		}
	}
	line := func(vals []string, rightAlign bool) string {
		var b strings.Builder
		for i, v := range vals {
			if i > 0 {
				b.WriteString(" | ")
			}
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(v))
			if rightAlign && numeric[i] {
				b.WriteString(pad + v)
			} else if i == len(vals)-1 {
				b.WriteString(v)
			} else {
				b.WriteString(v + pad)
			}
		}
		return strings.TrimRight(b.String(), " ") + "\n"
	}
	if _, err := io.WriteString(w, line(r.Columns, false)); err != nil {
		return err
	}
	rule := make([]string, n)
	for i := range rule {
		rule[i] = strings.Repeat("-", width[i])
	}
	if _, err := io.WriteString(w, strings.ReplaceAll(line(rule, false), " | ", "-+-")); err != nil {
		return err
	}
	for _, c := range cells {
		if _, err := io.WriteString(w, line(c, true)); err != nil {
			return err
		}
	}
	noun := "rows"
	if len(r.Rows) == 1 {
		noun = "row"
	}
	_, err := fmt.Fprintf(w, "(%d %s)\n", len(r.Rows), noun)
	return err
}

// blobText renders a BLOB like DuckDB does: printable ASCII as is, other
// bytes (and the backslash) as \xNN.
func blobText(b []byte) string {
	var sb strings.Builder
	for _, c := range b {
		if c >= 0x20 && c < 0x7f && c != '\\' {
			sb.WriteByte(c)
		} else {
			fmt.Fprintf(&sb, "\\x%02X", c)
		}
	}
	return sb.String()
}

// escapeCell keeps one value on one line.
func escapeCell(s string) string {
	if !strings.ContainsAny(s, "\n\r\t") {
		return s
	}
	return strings.NewReplacer("\n", `\n`, "\r", `\r`, "\t", `\t`).Replace(s)
}

func clip(s string) string {
	if utf8.RuneCountInString(s) <= MaxCellWidth {
		return s
	}
	rs := []rune(s)
	return string(rs[:MaxCellWidth-1]) + "…"
}

func (r *Result) writeCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(r.Columns); err != nil {
		return err
	}
	rec := make([]string, len(r.Columns))
	for _, row := range r.Rows {
		for i := range rec {
			rec[i] = ""
			if i < len(row) && row[i] != nil {
				rec[i] = r.text(i, row[i])
			}
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func (r *Result) writeJSON(w io.Writer) error {
	keys := uniqueKeys(r.Columns)
	if len(r.Rows) == 0 {
		_, err := io.WriteString(w, "[]\n")
		return err
	}
	if _, err := io.WriteString(w, "[\n"); err != nil {
		return err
	}
	var buf bytes.Buffer
	for ri, row := range r.Rows {
		buf.Reset()
		buf.WriteString("  {")
		for i, k := range keys {
			if i > 0 {
				buf.WriteString(", ")
			}
			kb, _ := json.Marshal(k)
			buf.Write(kb)
			buf.WriteString(": ")
			var v any
			if i < len(row) {
				v = row[i]
			}
			vb, err := marshalJSON(jsonValue(r.colType(i), v))
			if err != nil {
				return fmt.Errorf("lakesql: json column %s: %w", k, err)
			}
			buf.Write(vb)
		}
		buf.WriteString("}")
		if ri < len(r.Rows)-1 {
			buf.WriteString(",")
		}
		buf.WriteString("\n")
		if _, err := w.Write(buf.Bytes()); err != nil {
			return err
		}
	}
	_, err := io.WriteString(w, "]\n")
	return err
}

// marshalJSON encodes without HTML escaping (text is data, not markup).
func marshalJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// jsonValue maps a normalized value to something encoding/json renders as
// we want: times as strings, non-finite floats as null.
func jsonValue(colType string, v any) any {
	switch x := v.(type) {
	case time.Time:
		if colType == "DATE" {
			return x.Format(time.DateOnly)
		}
		return x.UTC().Format(timestampLayout)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil
		}
		return x
	case []byte:
		return blobText(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonValue("", e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = jsonValue("", e)
		}
		return out
	}
	return v
}

// uniqueKeys makes JSON object keys unique: a repeated column name gets a
// _2, _3... suffix.
func uniqueKeys(cols []string) []string {
	seen := map[string]int{}
	out := make([]string, len(cols))
	for i, c := range cols {
		seen[c]++
		k := c
		for n := seen[c]; n > 1; n++ {
			k = c + "_" + strconv.Itoa(n)
			if _, dup := seen[k]; !dup {
				seen[k] = 1
				break
			}
		}
		out[i] = k
	}
	return out
}

// normalize maps the driver's scan types to a small set.
func normalize(v any) any {
	switch x := v.(type) {
	case nil, bool, int64, float64, string, *big.Int:
		return x
	case int8:
		return int64(x)
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	case int:
		return int64(x)
	case uint8:
		return int64(x)
	case uint16:
		return int64(x)
	case uint32:
		return int64(x)
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x)
		}
		return new(big.Int).SetUint64(x)
	case float32:
		return float64(x)
	case time.Time:
		return x.UTC()
	case []byte:
		return append([]byte(nil), x...)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalize(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = normalize(e)
		}
		return out
	case duckdb.Map:
		out := make(map[string]any, len(x))
		keys := make([]string, 0, len(x))
		for k, e := range x {
			ks := fmt.Sprint(normalize(k))
			keys = append(keys, ks)
			out[ks] = normalize(e)
		}
		sort.Strings(keys)
		return out
	case duckdb.Decimal:
		f, _ := new(big.Float).SetInt(x.Value).Float64()
		return f / math.Pow10(int(x.Scale))
	case duckdb.UUID:
		return x.String()
	case *duckdb.UUID:
		if x == nil {
			return nil
		}
		return x.String()
	case duckdb.Interval:
		return fmt.Sprintf("%d months %d days %d us", x.Months, x.Days, x.Micros)
	case fmt.Stringer:
		return x.String()
	}
	return fmt.Sprint(v)
}
