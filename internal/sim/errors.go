package sim

import (
	"encoding/json"
	"fmt"
)

// apiError is a YouTube Data API error in the classic layout: errors[] first,
// then code and message. This is the layout of the verbatim real quotaExceeded
// body (1-space indentation, \u003c escaping), which we reproduce byte for byte.
type apiError struct {
	status       int
	domain       string
	reason       string
	message      string
	locationType string
	location     string
	modern       bool   // newer layout: code, message, errors[{message, domain, reason}], status
	grpcStatus   string // for modern errors
}

type classicItem struct {
	Domain       string `json:"domain"`
	Reason       string `json:"reason"`
	Message      string `json:"message"`
	LocationType string `json:"locationType,omitempty"`
	Location     string `json:"location,omitempty"`
}

type classicBody struct {
	Error struct {
		Errors  []classicItem `json:"errors"`
		Code    int           `json:"code"`
		Message string        `json:"message"`
	} `json:"error"`
}

type modernItem struct {
	Message string `json:"message"`
	Domain  string `json:"domain"`
	Reason  string `json:"reason"`
}

type modernBody struct {
	Error struct {
		Code    int          `json:"code"`
		Message string       `json:"message"`
		Errors  []modernItem `json:"errors"`
		Status  string       `json:"status"`
	} `json:"error"`
}

// body renders the error; pretty selects Google's default pretty printing.
func (e *apiError) body(pretty bool) []byte {
	var v any
	indent := " "
	if e.modern {
		var b modernBody
		b.Error.Code, b.Error.Message, b.Error.Status = e.status, e.message, e.grpcStatus
		b.Error.Errors = []modernItem{{Message: e.message, Domain: e.domain, Reason: e.reason}}
		v, indent = b, "  "
	} else {
		var b classicBody
		b.Error.Code, b.Error.Message = e.status, e.message
		b.Error.Errors = []classicItem{{Domain: e.domain, Reason: e.reason, Message: e.message, LocationType: e.locationType, Location: e.location}}
		v = b
	}
	var out []byte
	var err error
	if pretty {
		out, err = json.MarshalIndent(v, "", indent)
		out = append(out, '\n')
	} else {
		out, err = json.Marshal(v)
	}
	if err != nil {
		panic(fmt.Sprintf("sim: encode error body: %v", err))
	}
	return out
}

const quotaMessage = `The request cannot be completed because you have exceeded your <a href="/youtube/v3/getting-started#quota">quota</a>.`

func errQuotaExceeded() *apiError {
	return &apiError{status: 403, domain: "youtube.quota", reason: "quotaExceeded", message: quotaMessage}
}

func errKeyInvalid() *apiError {
	return &apiError{status: 400, domain: "usageLimits", reason: "keyInvalid", message: "Bad Request"}
}

func errMissingKey() *apiError {
	return &apiError{status: 403, domain: "global", reason: "forbidden", message: "The request is missing a valid API key.",
		modern: true, grpcStatus: "PERMISSION_DENIED"}
}

func errRateLimit() *apiError {
	return &apiError{status: 403, domain: "usageLimits", reason: "rateLimitExceeded", message: "Rate Limit Exceeded"}
}

func errBackend() *apiError {
	return &apiError{status: 503, domain: "global", reason: "backendError", message: "Backend Error"}
}

func errUnknownPart(part string) *apiError {
	return &apiError{status: 400, domain: "youtube.part", reason: "unknownPart", message: part, locationType: "parameter", location: "part"}
}

func errRequired(param string) *apiError {
	return &apiError{status: 400, domain: "global", reason: "required", message: "Required parameter: " + param, locationType: "parameter", location: param}
}

func errNoFilter(expected string) *apiError {
	return &apiError{status: 400, domain: "youtube.parameter", reason: "missingRequiredParameter",
		message: "No filter selected. Expected one of: " + expected, locationType: "parameter", location: ""}
}

func errIncompatible(params string) *apiError {
	return &apiError{status: 400, domain: "youtube.parameter", reason: "incompatibleParameters",
		message: "Incompatible parameters specified in the request: " + params, locationType: "parameter", location: "parameters"}
}

func errInvalidFilters() *apiError {
	return &apiError{status: 400, domain: "youtube.parameter", reason: "invalidFilters",
		message: "The request specifies an invalid filter parameter.", locationType: "other", location: "parameters."}
}

func errInvalidValue(param, value string, lo, hi int) *apiError {
	return &apiError{status: 400, domain: "global", reason: "invalidParameter",
		message:      fmt.Sprintf("Invalid value '%s'. Values must be within the range: [%d, %d]", value, lo, hi),
		locationType: "parameter", location: param}
}

func errInvalidParam(param, value string) *apiError {
	return &apiError{status: 400, domain: "global", reason: "invalidParameter",
		message: fmt.Sprintf("Invalid value '%s' for parameter '%s'.", value, param), locationType: "parameter", location: param}
}

func errPageToken() *apiError {
	return &apiError{status: 400, domain: "youtube.parameter", reason: "invalidPageToken",
		message: "The request specifies an invalid page token.", locationType: "parameter", location: "pageToken"}
}

func errPlaylistNotFound() *apiError {
	return &apiError{status: 404, domain: "youtube.playlistItem", reason: "playlistNotFound",
		message:      "The playlist identified with the request's <code>playlistId</code> parameter cannot be found.",
		locationType: "parameter", location: "playlistId"}
}

func errLoginRequired() *apiError {
	return &apiError{status: 401, domain: "global", reason: "required", message: "Login Required", locationType: "header", location: "Authorization"}
}
