package collect

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"google.golang.org/api/googleapi"
)

type errClass int

const (
	classRetry     errClass = iota // transient: back off and resend
	classPermanent                 // this request cannot succeed: record, don't resend
	classPark                      // quotaExceeded: park the key, resend on another key now
	classBadKey                    // the key itself is rejected: disable it, resend on another key now
	classCanceled                  // the crawl's context ended
)

// classify turns an error from one call into an *APIError. parent is the
// crawl context (to tell a per-request timeout from cancellation).
func (c *Collector) classify(parent context.Context, op, keyID string, err error) *APIError {
	e := &APIError{Op: op, Key: keyID, Msg: c.scrub.String(err.Error())}
	if perr := parent.Err(); perr != nil {
		e.Reason, e.class, e.ctxErr = "canceled", classCanceled, perr
		return e
	}
	var gerr *googleapi.Error
	switch {
	case errors.As(err, &gerr):
		e.Code = gerr.Code
		e.Msg = c.scrub.String(apiMessage(gerr))
		e.Reason = apiReason(gerr)
		e.class = classOf(gerr.Code, e.Reason)
		if secs, err := strconv.Atoi(gerr.Header.Get("Retry-After")); err == nil && secs > 0 {
			e.after = time.Duration(min(secs, 3600)) * time.Second
		}
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		e.Reason, e.class = "timeout", classRetry
	case errors.Is(err, io.ErrUnexpectedEOF) || isJSONError(err) || strings.Contains(err.Error(), "unexpected EOF"):
		e.Reason, e.class = "truncated", classRetry
	case errors.Is(err, context.Canceled):
		e.Reason, e.class = "canceled", classRetry // a per-request cancel, not ours
	default:
		var nerr net.Error
		if errors.As(err, &nerr) || strings.Contains(err.Error(), "connection") || errors.Is(err, io.EOF) {
			e.Reason = "network"
		} else {
			e.Reason = "unknown"
		}
		e.class = classRetry
	}
	return e
}

func isTimeout(err error) bool {
	var nerr net.Error
	return errors.As(err, &nerr) && nerr.Timeout()
}

func isJSONError(err error) bool {
	var se *json.SyntaxError
	var ute *json.UnmarshalTypeError
	return errors.As(err, &se) || errors.As(err, &ute)
}

// apiReason is the first errors[].reason, else the status (PERMISSION_DENIED),
// else http_<code>.
func apiReason(g *googleapi.Error) string {
	for _, it := range g.Errors {
		if it.Reason != "" {
			return it.Reason
		}
	}
	if g.Body != "" {
		var body struct {
			Error struct {
				Status  string `json:"status"`
				Details []struct {
					Reason string `json:"reason"`
				} `json:"details"`
			} `json:"error"`
		}
		if json.Unmarshal([]byte(g.Body), &body) == nil {
			for _, d := range body.Error.Details {
				if d.Reason != "" {
					return d.Reason
				}
			}
			if body.Error.Status != "" {
				return body.Error.Status
			}
		}
	}
	return "http_" + strconv.Itoa(g.Code)
}

func apiMessage(g *googleapi.Error) string {
	if g.Message != "" {
		return "HTTP " + strconv.Itoa(g.Code) + ": " + g.Message
	}
	return "HTTP " + strconv.Itoa(g.Code)
}

func classOf(code int, reason string) errClass {
	switch reason {
	case "quotaExceeded", "dailyLimitExceeded", "RATE_LIMIT_EXCEEDED_DAILY":
		return classPark
	case "keyInvalid", "keyExpired", "API_KEY_INVALID", "API_KEY_EXPIRED", "accessNotConfigured",
		"SERVICE_DISABLED", "ipRefererBlocked", "API_KEY_HTTP_REFERRER_BLOCKED", "API_KEY_IP_ADDRESS_BLOCKED":
		return classBadKey
	case "rateLimitExceeded", "userRateLimitExceeded", "RATE_LIMIT_EXCEEDED", "backendError", "internalError":
		return classRetry
	}
	switch {
	case code == 429 || code >= 500 || code == 408:
		return classRetry
	default:
		return classPermanent
	}
}
