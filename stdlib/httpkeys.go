package stdlib

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"path/filepath"
	"strings"

	"go.starlark.net/starlark"

	"github.com/ntx-dev/ntx/engine/catalog"
	"github.com/ntx-dev/ntx/engine/transport"
)

// The keys of spec §4.1's "other with keys": auth, multipart,
// compression and proxy.

// authHeader reads a call's auth, {basic: [USER, PASSWORD]} or {bearer:
// TOKEN}, and returns the Authorization header it stands for ("" for
// None).
func authHeader(fn string, v starlark.Value) (string, error) {
	if v == nil || v == starlark.None {
		return "", nil
	}
	d, ok := v.(*starlark.Dict)
	if !ok || d.Len() != 1 {
		return "", fmt.Errorf("%s: auth must be {\"basic\": [USER, PASSWORD]} or {\"bearer\": TOKEN}", fn)
	}
	kv := d.Items()[0]
	switch k, _ := starlark.AsString(kv[0]); k {
	case catalog.AuthBasic:
		pair, ok := kv[1].(starlark.Indexable)
		if !ok || pair.Len() != 2 {
			return "", fmt.Errorf("%s: auth basic must be a list of a user and a password, not %s", fn, kv[1].String())
		}
		user, ok1 := starlark.AsString(pair.Index(0))
		pass, ok2 := starlark.AsString(pair.Index(1))
		if !ok1 || !ok2 {
			return "", fmt.Errorf("%s: auth basic's user and password must be strings", fn)
		}
		if strings.Contains(user, ":") {
			return "", fmt.Errorf("%s: auth basic: the user %q may not hold a colon (RFC 7617)", fn, user)
		}
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass)), nil
	case catalog.AuthBearer:
		token, ok := starlark.AsString(kv[1])
		if !ok || token == "" {
			return "", fmt.Errorf("%s: auth bearer must be a non-empty token string", fn)
		}
		return "Bearer " + token, nil
	default:
		return "", fmt.Errorf("%s: auth takes %s, not %s", fn, strings.Join(catalog.Auth.Names(), " or "), kv[0].String())
	}
}

// multipartBody reads a call's multipart, FIELD: value or FIELD: {file:
// PATH, content_type: T}, and returns the multipart/form-data body and
// its Content-Type. read reads a file as the scenario names it.
func multipartBody(fn string, v starlark.Value, read func(string) ([]byte, error)) ([]byte, string, error) {
	d, ok := v.(*starlark.Dict)
	if !ok {
		return nil, "", fmt.Errorf("%s: multipart must be a dict of FIELD: value or {\"file\": PATH}, not %s", fn, v.Type())
	}
	type part struct {
		field, value string // a field, or
		path, ctype  string // a file
		data         []byte
	}
	var parts []part
	// The boundary is made from the content, not drawn at random: the
	// same call sends the same bytes (a run can be repeated, a YAML
	// scenario and its compiled program send the same body), and a
	// boundary made from a hash of the parts cannot occur in them by
	// chance.
	sum := sha256.New()
	for _, kv := range d.Items() {
		field, ok := starlark.AsString(kv[0])
		if !ok {
			return nil, "", fmt.Errorf("%s: multipart field names must be strings, not %s", fn, kv[0].Type())
		}
		fileDict, isFile := kv[1].(*starlark.Dict)
		if !isFile {
			p := part{field: field, value: str(kv[1])}
			fmt.Fprintf(sum, "%d:%s%d:%s", len(p.field), p.field, len(p.value), p.value)
			parts = append(parts, p)
			continue
		}
		var path, ctype string
		for _, x := range fileDict.Items() {
			k, _ := starlark.AsString(x[0])
			s, ok := starlark.AsString(x[1])
			if !ok {
				return nil, "", fmt.Errorf("%s: multipart %s: %s must be a string, not %s", fn, field, k, x[1].Type())
			}
			switch k {
			case catalog.MultipartFileKey:
				path = s
			case catalog.MultipartContentType:
				ctype = s
			default:
				return nil, "", fmt.Errorf("%s: multipart %s: unknown key %s (%s)", fn, field, x[0].String(), strings.Join(catalog.MultipartFile.Names(), ", "))
			}
		}
		if path == "" {
			return nil, "", fmt.Errorf("%s: multipart %s: a file part needs file: PATH", fn, field)
		}
		data, err := read(path)
		if err != nil {
			return nil, "", fmt.Errorf("%s: multipart %s: file %s: %v", fn, field, path, err)
		}
		if ctype == "" {
			ctype = catalog.MultipartDefaultType
		}
		p := part{field: field, path: path, ctype: ctype, data: data}
		fmt.Fprintf(sum, "%d:%s%d:%s%d:%s%d:", len(field), field, len(path), path, len(ctype), ctype, len(data))
		sum.Write(data)
		parts = append(parts, p)
	}
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	if err := w.SetBoundary("ntx-" + hex.EncodeToString(sum.Sum(nil))[:40]); err != nil {
		return nil, "", fmt.Errorf("%s: multipart: %v", fn, err)
	}
	for _, p := range parts {
		var err error
		if p.path == "" {
			err = w.WriteField(p.field, p.value)
		} else {
			h := textproto.MIMEHeader{}
			h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="%s"; filename="%s"`, quoteEscaper.Replace(p.field), quoteEscaper.Replace(filepath.Base(p.path))))
			h.Set("Content-Type", p.ctype)
			var pw io.Writer
			if pw, err = w.CreatePart(h); err == nil {
				_, err = pw.Write(p.data)
			}
		}
		if err != nil {
			return nil, "", fmt.Errorf("%s: multipart %s: %v", fn, p.field, err)
		}
	}
	if err := w.Close(); err != nil {
		return nil, "", fmt.Errorf("%s: multipart: %v", fn, err)
	}
	return buf.Bytes(), w.FormDataContentType(), nil
}

// quoteEscaper escapes a name in a Content-Disposition parameter, as
// mime/multipart does for its own parts.
var quoteEscaper = strings.NewReplacer("\\", "\\\\", `"`, "\\\"")

// compressionArg reads a call's compression: "gzip" asks for a gzipped
// answer and decodes it; "none" asks for none (over the http: section's
// gzip); None keeps def.
func compressionArg(fn string, v starlark.Value, def bool) (bool, error) {
	s, err := optString(fn, "compression", v)
	if err != nil {
		return def, err
	}
	switch s {
	case "":
		return def, nil
	case catalog.CompressionGzip:
		return true, nil
	case catalog.CompressionNone:
		return false, nil
	}
	return def, fmt.Errorf("%s: compression %q is not one of %s", fn, s, strings.Join(catalog.Compressions, ", "))
}

// proxyArg reads a call's proxy URL; None keeps def.
func proxyArg(fn string, v starlark.Value, def *url.URL) (*url.URL, error) {
	s, err := optString(fn, "proxy", v)
	if err != nil || s == "" {
		return def, err
	}
	u, err := transport.ParseProxy(s)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", fn, err)
	}
	return u, nil
}

// more reads the call's auth, compression and proxy into p, over the
// http: section's compression and proxy.
func (p *prepared) more(fn string, a *httpArgs) error {
	conf := a.conf
	if conf == nil {
		conf = DefaultHTTP()
	}
	auth, err := authHeader(fn, a.auth)
	if err != nil {
		return err
	}
	if auth != "" {
		if p.headers.Get("Authorization") != "" {
			return fmt.Errorf("%s: give auth or an Authorization header, not both", fn)
		}
		p.setHeader("Authorization", auth)
	}
	if p.decompress, err = compressionArg(fn, a.compression, conf.Compression); err != nil {
		return err
	}
	if p.decompress && p.headers.Get("Accept-Encoding") == "" {
		p.setHeader("Accept-Encoding", "gzip")
	}
	p.proxy, err = proxyArg(fn, a.proxy, conf.Proxy)
	return err
}

// setHeader sets a header of p, making its headers on the first (a
// call without any has none).
func (p *prepared) setHeader(k, v string) {
	switch {
	case p.headers == nil:
		p.headers = http.Header{}
	case p.sharedHeaders:
		p.headers, p.sharedHeaders = p.headers.Clone(), false
	}
	p.headers.Set(k, v)
}
