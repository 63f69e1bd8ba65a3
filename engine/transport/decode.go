package transport

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"strings"
)

// DecodeError is a response body that does not decode by its
// Content-Encoding (a corrupt or cut gzip stream): counted under error
// kind decode.
type DecodeError struct {
	Encoding string
	Err      error
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("the response body does not decode as %s (Content-Encoding): %v", e.Encoding, e.Err)
}
func (e *DecodeError) Unwrap() error { return e.Err }

// decodeBody replaces a gzip-encoded resp.Body by what it encodes, held
// to the request's max_response: a small body that inflates without end
// fails as too_large, not by exhausting memory. The byte counters are
// left as they are: they count what crossed the socket. A body no one
// reads (DiscardBody) is decoded all the same, to check it, then dropped.
func decodeBody(req *Request, resp *Response) error {
	if req.DiscardBody {
		// Kept only to be checked: decoded into nothing, then dropped.
		defer func() { resp.Body = nil }()
	}
	if len(resp.Body) == 0 {
		return nil
	}
	enc := strings.TrimSpace(headerValue(resp.RawHeader, "Content-Encoding"))
	if !strings.EqualFold(enc, "gzip") && !strings.EqualFold(enc, "x-gzip") {
		return nil // identity, or an encoding not asked for: left as it came
	}
	zr, err := gzip.NewReader(bytes.NewReader(resp.Body))
	if err != nil {
		return &DecodeError{Encoding: "gzip", Err: err}
	}
	limit := req.MaxResponse
	if limit <= 0 {
		limit = DefaultMaxResponse
	}
	body, _, err := readAllFrom(zr, limit, !req.DiscardBody, "decoded response body", min(limit, 4*int64(len(resp.Body))))
	var tooLarge *TooLargeError
	if errors.As(err, &tooLarge) {
		return err
	}
	if err != nil {
		return &DecodeError{Encoding: "gzip", Err: err}
	}
	resp.Body = body
	return nil
}
