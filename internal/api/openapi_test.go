package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// loadDoc fetches /v1/openapi.json and validates it with kin-openapi.
func loadDoc(t *testing.T, base string) *openapi3.T {
	t.Helper()
	code, b := get(t, base+"/v1/openapi.json")
	if code != 200 {
		t.Fatalf("openapi.json: HTTP %d", code)
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(b)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Fatalf("the OpenAPI document is invalid: %v", err)
	}
	return doc
}

func TestOpenAPIDocumentValidates(t *testing.T) {
	s := fixture(t)
	doc := loadDoc(t, s.URL)
	if doc.OpenAPI != "3.0.3" || doc.Paths.Len() < 12 {
		t.Fatalf("openapi %s with %d paths", doc.OpenAPI, doc.Paths.Len())
	}
}

// contractCases lists requests per operationId: every documented operation
// must appear (the test fails on an operation without a case).
var contractCases = map[string][]string{
	"searchVideos": {
		"/v1/videos/search?q=" + url.QueryEscape("영어") + "&sort=views&limit=5",
		"/v1/videos/search?q=" + url.QueryEscape("영어") + "&in=title,tags,channel,description&sort=recent&exact_total=true&min_views=1&published_after=2026-01-01&published_before=2027-01-01T00:00:00Z&category_id=27&language=ko",
		"/v1/videos/search?q=" + url.QueryEscape("ㅊㄷㅇㅇ") + "&initials=true&layout=true&channel_id=UC0000000000000000000000",
		"/v1/videos/search?q=nothing-matches-this",
	},
	"getVideo":       {"/v1/videos/video000002"},
	"videoStats":     {"/v1/videos/video000000/stats", "/v1/videos/video000002/stats?interval=hour&from=2026-11-19&to=2026-11-21"},
	"searchChannels": {"/v1/channels/search?q=" + url.QueryEscape("채널"), "/v1/channels/search?q=" + url.QueryEscape("ㅊㄴ") + "&initials=true&limit=1"},
	"getChannel":     {"/v1/channels/UC0000000000000000000000"},
	"channelVideos":  {"/v1/channels/UC0000000000000000000000/videos", "/v1/channels/UC0000000000000000000001/videos?sort=views&limit=2"},
	"channelStats":   {"/v1/channels/UC0000000000000000000000/stats", "/v1/channels/UC0000000000000000000001/stats?interval=day"},
	"rankChannels":   {"/v1/rankings/channels", "/v1/rankings/channels?by=subscriber_growth&days=7&country=kr&category_id=27&limit=5", "/v1/rankings/channels?by=view_growth&end=2026-11-20T12:00:00Z"},
	"trendingVideos": {"/v1/trending/videos", "/v1/trending/videos?hours=48&category_id=27&limit=3&end=2026-11-20"},
	"status":         {"/v1/status"},
	"openapi":        {"/v1/openapi.json"},
	"healthz":        {"/healthz"},
	"readyz":         {"/readyz"},
	"metrics":        {"/metrics"},
}

// errorCases are requests the API must refuse with a documented 4xx.
var errorCases = []string{
	"/v1/videos/search?q=a&limit=0",
	"/v1/videos/bad!id",
	"/v1/videos/video999999",
	"/v1/videos/video000000/stats?interval=week",
	"/v1/videos/video000000/stats?from=2026-11-21&to=2026-11-20",
	"/v1/channels/UC9999999999999999999999",
	"/v1/channels/UC9999999999999999999999/videos",
	"/v1/channels/search",
	"/v1/rankings/channels?by=likes",
	"/v1/trending/videos?hours=0",
}

func TestContract(t *testing.T) {
	s := fixture(t)
	doc := loadDoc(t, s.URL)
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	var ops []string
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			ops = append(ops, op.OperationID)
		}
	}
	sort.Strings(ops)
	for _, op := range ops {
		if len(contractCases[op]) == 0 {
			t.Errorf("documented operation %s has no contract case", op)
		}
	}
	if len(contractCases) != len(ops) {
		t.Errorf("contract cases for %d operations, the document has %d", len(contractCases), len(ops))
	}
	check := func(t *testing.T, path string, wantOK bool) {
		req, _ := http.NewRequest("GET", s.URL+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if wantOK != (resp.StatusCode == 200) {
			t.Fatalf("HTTP %d: %s", resp.StatusCode, body)
		}
		route, pathParams, err := router.FindRoute(req)
		if err != nil {
			t.Fatalf("no documented route: %v", err)
		}
		opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true, MultiError: true}
		in := &openapi3filter.RequestValidationInput{Request: req, PathParams: pathParams, Route: route, Options: opts}
		if wantOK {
			if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
				t.Fatalf("request does not match the document: %v", err)
			}
		}
		out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
			Body: io.NopCloser(bytes.NewReader(body)), Options: opts}
		if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
			t.Fatalf("response does not match the document: %v\n%s", err, body)
		}
		if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") && !json.Valid(body) {
			t.Fatalf("invalid JSON: %s", body)
		}
	}
	for _, op := range ops {
		for _, path := range contractCases[op] {
			t.Run(op+" "+path, func(t *testing.T) { check(t, path, true) })
		}
	}
	for _, path := range errorCases {
		t.Run("error "+path, func(t *testing.T) { check(t, path, false) })
	}
}
