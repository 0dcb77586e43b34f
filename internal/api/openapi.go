package api

import (
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// OpenAPI returns the OpenAPI 3.0 document of the API, generated from
// Routes (paths, parameters) and from the Go types the handlers encode
// (response schemas, by reflection over their JSON tags).
func OpenAPI() map[string]any {
	g := &schemaGen{components: map[string]any{}}
	errRef := g.schema(reflect.TypeOf(ErrorBody{}))
	errResp := func(desc string) map[string]any {
		return map[string]any{"description": desc, "content": map[string]any{"application/json": map[string]any{"schema": errRef}}}
	}
	paths := map[string]any{}
	for _, rt := range Routes() {
		op := map[string]any{
			"operationId": rt.OperationID,
			"summary":     rt.Summary,
			"tags":        []string{rt.Tag},
		}
		if rt.Description != "" {
			op["description"] = rt.Description
		}
		var ps []any
		for _, p := range rt.Params {
			ps = append(ps, paramDoc(p))
		}
		if len(ps) > 0 {
			op["parameters"] = ps
		}
		ok := map[string]any{"description": "OK"}
		if rt.Response != nil {
			ok["content"] = map[string]any{"application/json": map[string]any{"schema": g.schema(reflect.TypeOf(rt.Response))}}
		} else {
			ok["content"] = map[string]any{rt.Produces: map[string]any{"schema": map[string]any{"type": "string"}}}
		}
		resps := map[string]any{"200": ok}
		if len(rt.Params) > 0 {
			resps["400"] = errResp("a bad parameter")
		}
		if strings.Contains(rt.Path, "{id}") {
			resps["404"] = errResp("not known")
		}
		if !rt.Public {
			op["security"] = []any{map[string]any{}, map[string]any{"bearer": []string{}}, map[string]any{"apiKey": []string{}}}
			resps["401"] = errResp("missing or unknown API key (when the server requires keys)")
			resps["429"] = map[string]any{"description": "rate limited; retry after the Retry-After seconds",
				"headers": map[string]any{"Retry-After": map[string]any{"schema": map[string]any{"type": "integer"}}},
				"content": map[string]any{"application/json": map[string]any{"schema": errRef}}}
			resps["503"] = errResp("a backing engine (lake, pipeline) is unavailable or the request timed out")
		}
		op["responses"] = resps
		item, _ := paths[rt.Path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[rt.Path] = item
		}
		item[strings.ToLower(rt.Method)] = op
	}
	paths["/metrics"] = map[string]any{"get": map[string]any{"operationId": "metrics", "summary": "Prometheus metrics", "tags": []string{"ops"},
		"responses": map[string]any{"200": map[string]any{"description": "OK", "content": map[string]any{"text/plain": map[string]any{"schema": map[string]any{"type": "string"}}}}}}}
	return map[string]any{
		"openapi": "3.0.3",
		"info": map[string]any{"title": "tubelake API", "version": "1",
			"description": "YouTube channel and video search, statistics history, rankings and pipeline status. Errors are {\"error\":{\"code\",\"message\"}}; unknown or repeated parameters are rejected."},
		"paths": paths,
		"components": map[string]any{
			"schemas": g.components,
			"securitySchemes": map[string]any{
				"bearer": map[string]any{"type": "http", "scheme": "bearer", "description": "Authorization: Bearer <key> (keys from `tubelake apikey create`)"},
				"apiKey": map[string]any{"type": "apiKey", "in": "header", "name": "X-API-Key"},
			},
		},
		"tags": []any{
			map[string]any{"name": "videos"}, map[string]any{"name": "channels"},
			map[string]any{"name": "rankings"}, map[string]any{"name": "ops"},
		},
	}
}

func paramDoc(p Param) map[string]any {
	sch := map[string]any{"type": p.Type}
	if p.Type == "integer" {
		sch["format"] = "int64"
	}
	if len(p.Enum) > 0 {
		sch["enum"] = p.Enum
	}
	if p.Min != nil {
		sch["minimum"] = *p.Min
	}
	if p.Max != nil {
		sch["maximum"] = *p.Max
	}
	if p.Pattern != "" {
		sch["pattern"] = p.Pattern
	}
	if p.MaxLen > 0 {
		sch["maxLength"] = p.MaxLen
	}
	if p.Default != "" {
		switch p.Type {
		case "integer":
			n, _ := strconv.ParseInt(p.Default, 10, 64)
			sch["default"] = n
		case "boolean":
			sch["default"] = p.Default == "true"
		default:
			sch["default"] = p.Default
		}
	}
	d := map[string]any{"name": p.Name, "in": p.In, "schema": sch}
	if p.Desc != "" {
		d["description"] = p.Desc
	}
	if p.Required || p.In == "path" {
		d["required"] = true
	}
	return d
}

type schemaGen struct {
	components map[string]any
}

var timeType = reflect.TypeOf(time.Time{})

var nonWord = regexp.MustCompile(`[^A-Za-z0-9_]`)

// schema returns the JSON schema of t's JSON encoding; named structs
// become components referenced by $ref.
func (g *schemaGen) schema(t reflect.Type) map[string]any {
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t.Kind() == reflect.Pointer:
		s := g.schema(t.Elem())
		return nullable(s)
	case t.Kind() == reflect.Struct && t.Name() != "":
		name := nonWord.ReplaceAllString(t.Name(), "_")
		if _, done := g.components[name]; !done {
			g.components[name] = map[string]any{} // recursion guard
			g.components[name] = g.structSchema(t)
		}
		return map[string]any{"$ref": "#/components/schemas/" + name}
	case t.Kind() == reflect.Struct:
		return g.structSchema(t)
	}
	switch t.Kind() {
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return map[string]any{"type": "integer", "format": "int64"}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer", "minimum": 0}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		return map[string]any{"type": "array", "items": g.schema(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.schema(t.Elem())}
	case reflect.Interface:
		return map[string]any{"nullable": true}
	}
	panic("api: no JSON schema for " + t.String())
}

// nullable marks s as admitting null ($ref siblings are ignored in 3.0, so a
// reference is wrapped in allOf).
func nullable(s map[string]any) map[string]any {
	if _, ok := s["$ref"]; ok {
		return map[string]any{"allOf": []any{s}, "nullable": true}
	}
	out := map[string]any{}
	for k, v := range s {
		out[k] = v
	}
	out["nullable"] = true
	return out
}

func (g *schemaGen) structSchema(t reflect.Type) map[string]any {
	props := map[string]any{}
	var required []string
	g.fields(t, props, &required)
	sort.Strings(required)
	s := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

func (g *schemaGen) fields(t reflect.Type, props map[string]any, required *[]string) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			g.fields(f.Type, props, required)
			continue
		}
		if name == "" {
			name = f.Name
		}
		omit := strings.Contains(opts, "omitempty") || strings.Contains(opts, "omitzero")
		s := g.schema(f.Type)
		if (f.Type.Kind() == reflect.Slice || f.Type.Kind() == reflect.Map) && !omit {
			s = nullable(s) // a nil slice or map encodes as null
		}
		props[name] = s
		if !omit {
			*required = append(*required, name)
		}
	}
}
