package transport

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// TLSSettings are what a scenario says about TLS (spec §4.1), as values:
// the http: section's tls, an action's, or the two merged. A nil pointer
// or a zero value means "not said": the default, or what the settings
// merged under it say.
type TLSSettings struct {
	Verify *bool
	// CA, Cert and Key are file paths, as the scenario wrote them.
	CA, Cert, Key string
	ServerName    string
	// MinVersion and MaxVersion are tls.VersionTLS10 ...; 0 is unset.
	MinVersion, MaxVersion uint16
	Ciphers                []uint16
	// Curves are the key exchanges offered, in order of preference; nil
	// is Go's default (all of CurveNames, in their order).
	Curves     []tls.CurveID
	Resumption *bool
}

// Merge returns s with every setting over gives replacing s's: an
// action's tls: {max_version: "1.2"} keeps the section's ca, cert and key.
func (s TLSSettings) Merge(over TLSSettings) TLSSettings {
	if over.Verify != nil {
		s.Verify = over.Verify
	}
	if over.CA != "" {
		s.CA = over.CA
	}
	if over.Cert != "" {
		s.Cert = over.Cert
	}
	if over.Key != "" {
		s.Key = over.Key
	}
	if over.ServerName != "" {
		s.ServerName = over.ServerName
	}
	if over.MinVersion != 0 {
		s.MinVersion = over.MinVersion
	}
	if over.MaxVersion != 0 {
		s.MaxVersion = over.MaxVersion
	}
	if over.Ciphers != nil {
		s.Ciphers = over.Ciphers
	}
	if over.Curves != nil {
		s.Curves = over.Curves
	}
	if over.Resumption != nil {
		s.Resumption = over.Resumption
	}
	return s
}

// Insecure reports whether the settings turn verification off.
func (s TLSSettings) Insecure() bool { return s.Verify != nil && !*s.Verify }

// Fingerprint is a string that is equal for equal settings: the cache key of the
// profile built from them. Verification is not part of it: it is a
// property of the destination (see destKey).
func (s TLSSettings) Fingerprint() string {
	res := "-"
	if s.Resumption != nil {
		res = fmt.Sprint(*s.Resumption)
	}
	return fmt.Sprintf("%q|%q|%q|%q|%d|%d|%v|%v|%s", s.CA, s.Cert, s.Key, s.ServerName, s.MinVersion, s.MaxVersion, s.Ciphers, s.Curves, res)
}

// ParseTLSVersion reads a TLS version as scenarios write it: "1.0" to "1.3".
func ParseTLSVersion(v string) (uint16, error) {
	switch strings.TrimPrefix(strings.ToLower(strings.TrimSpace(v)), "tls") {
	case "1.0", "10":
		return tls.VersionTLS10, nil
	case "1.1", "11":
		return tls.VersionTLS11, nil
	case "1.2", "12":
		return tls.VersionTLS12, nil
	case "1.3", "13":
		return tls.VersionTLS13, nil
	}
	return 0, fmt.Errorf("TLS version %q is not one of 1.0, 1.1, 1.2, 1.3", v)
}

// ParseCipher reads a cipher suite by Go's name for it
// (TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256), insecure ones included: a
// load test may need to offer what an old server speaks.
func ParseCipher(name string) (uint16, error) {
	for _, list := range [][]*tls.CipherSuite{tls.CipherSuites(), tls.InsecureCipherSuites()} {
		for _, c := range list {
			if c.Name == name {
				return c.ID, nil
			}
		}
	}
	var names []string
	for _, c := range tls.CipherSuites() {
		if !slices.Contains(c.SupportedVersions, tls.VersionTLS13) {
			names = append(names, c.Name)
		}
	}
	return 0, fmt.Errorf("unknown cipher suite %q (Go's names, such as %s)", name, strings.Join(names[:min(3, len(names))], ", "))
}

// curveNames are the key exchanges a scenario can name, as it writes
// them, in Go's default order: the post-quantum hybrids first (each adds
// an ML-KEM key share to a handshake's CPU); naming X25519 alone makes
// each handshake cheaper, as older clients do.
var curveNames = []struct {
	name string
	id   tls.CurveID
}{
	{"X25519MLKEM768", tls.X25519MLKEM768},
	{"SecP256r1MLKEM768", tls.SecP256r1MLKEM768},
	{"SecP384r1MLKEM1024", tls.SecP384r1MLKEM1024},
	{"X25519", tls.X25519},
	{"P256", tls.CurveP256},
	{"P384", tls.CurveP384},
	{"P521", tls.CurveP521},
}

// ParseCurve reads a key exchange by the name scenarios write (one of
// CurveNames: catalog.TLSCurves, which a test holds equal to these).
func ParseCurve(name string) (tls.CurveID, error) {
	var names []string
	for _, c := range curveNames {
		if c.name == name {
			return c.id, nil
		}
		names = append(names, c.name)
	}
	return 0, fmt.Errorf("unknown curve %q (one of %s)", name, strings.Join(names, ", "))
}

// CurveNames are the names ParseCurve reads, most preferred first.
func CurveNames() []string {
	names := make([]string, len(curveNames))
	for i, c := range curveNames {
		names[i] = c.name
	}
	return names
}

// TLSFileError is a file of the TLS settings that cannot be used; Key
// says which setting named it (ca, cert or key), for the error's
// position.
type TLSFileError struct {
	Key  string
	Path string
	Err  error
}

func (e *TLSFileError) Error() string { return fmt.Sprintf("tls %s %s: %v", e.Key, e.Path, e.Err) }
func (e *TLSFileError) Unwrap() error { return e.Err }

// TLSProfile is a TLS client configuration built once from settings and
// shared by the requests that use the same settings. Connections made
// with one profile are only reused by requests of the same profile.
type TLSProfile struct {
	config     *tls.Config
	resumption bool
}

// NewTLSProfile builds the profile of s, reading its files with read
// (which resolves a path as the scenario wrote it). An unusable file is
// a *TLSFileError.
func NewTLSProfile(s TLSSettings, read func(path string) ([]byte, error)) (*TLSProfile, error) {
	cfg := &tls.Config{ServerName: s.ServerName, MinVersion: s.MinVersion, MaxVersion: s.MaxVersion,
		CipherSuites: s.Ciphers, CurvePreferences: s.Curves}
	if cfg.MinVersion == 0 {
		cfg.MinVersion = tls.VersionTLS12
	}
	if cfg.MaxVersion != 0 && cfg.MaxVersion < cfg.MinVersion {
		return nil, fmt.Errorf("tls max_version %s is below min_version %s", versionName(cfg.MaxVersion), versionName(cfg.MinVersion))
	}
	if s.CA != "" {
		pem, err := read(s.CA)
		if err != nil {
			return nil, &TLSFileError{Key: "ca", Path: s.CA, Err: err}
		}
		roots, err := x509.SystemCertPool()
		if err != nil || roots == nil {
			roots = x509.NewCertPool()
		}
		if !roots.AppendCertsFromPEM(pem) {
			return nil, &TLSFileError{Key: "ca", Path: s.CA, Err: fmt.Errorf("no PEM certificate in it")}
		}
		cfg.RootCAs = roots
	}
	switch {
	case s.Cert != "" && s.Key != "":
		certPEM, err := read(s.Cert)
		if err != nil {
			return nil, &TLSFileError{Key: "cert", Path: s.Cert, Err: err}
		}
		keyPEM, err := read(s.Key)
		if err != nil {
			return nil, &TLSFileError{Key: "key", Path: s.Key, Err: err}
		}
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, &TLSFileError{Key: "cert", Path: s.Cert, Err: fmt.Errorf("with key %s: %v", s.Key, err)}
		}
		cfg.Certificates = []tls.Certificate{pair}
	case s.Cert != "":
		return nil, &TLSFileError{Key: "cert", Path: s.Cert, Err: fmt.Errorf("a client certificate needs its key: give tls key too")}
	case s.Key != "":
		return nil, &TLSFileError{Key: "key", Path: s.Key, Err: fmt.Errorf("a client key needs its certificate: give tls cert too")}
	}
	return &TLSProfile{config: cfg, resumption: s.Resumption == nil || *s.Resumption}, nil
}

// versionName writes a TLS version as scenarios do.
func versionName(v uint16) string {
	switch v {
	case tls.VersionTLS10:
		return "1.0"
	case tls.VersionTLS11:
		return "1.1"
	case tls.VersionTLS12:
		return "1.2"
	case tls.VersionTLS13:
		return "1.3"
	}
	return fmt.Sprintf("0x%04x", v)
}

// TLSError is a TLS handshake that failed for a reason of TLS (not a
// timeout or a reset): counted under error kind tls.
type TLSError struct {
	Err error
	// NoClientCert says the server asked for a client certificate and
	// the call had none to give: the likely reason of its refusal.
	NoClientCert bool
}

func (e *TLSError) Error() string {
	if e.NoClientCert {
		return "TLS handshake: bad certificate: the server asked for a client certificate and none is configured (tls cert and key): " + e.Err.Error()
	}
	return "TLS handshake: " + tlsReason(e.Err)
}

// certAsked is the handshake context's record that the server asked for
// a client certificate the configuration does not have.
type certAskedKey struct{}

// noClientCert answers a server's request for a client certificate when
// none is configured: with none, as Go would, noting that it was asked.
func noClientCert(cri *tls.CertificateRequestInfo) (*tls.Certificate, error) {
	if asked, ok := cri.Context().Value(certAskedKey{}).(*bool); ok {
		*asked = true
	}
	return &tls.Certificate{}, nil
}
func (e *TLSError) Unwrap() error { return e.Err }

// tlsReason puts the reason a user looks for first: unknown authority,
// bad certificate, protocol version.
func tlsReason(err error) string {
	msg := err.Error()
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	switch {
	case errors.As(err, &ua):
		return "unknown authority: " + msg
	case errors.As(err, &hn):
		return "bad certificate (name mismatch): " + msg
	case errors.As(err, &ci):
		return "bad certificate: " + msg
	case strings.Contains(msg, "protocol version"), strings.Contains(msg, "no supported versions"), strings.Contains(msg, "unsupported versions"):
		return "protocol version: " + msg
	case strings.Contains(msg, "bad certificate"), strings.Contains(msg, "certificate required"), strings.Contains(msg, "unknown certificate"):
		return "bad certificate: " + msg
	}
	return msg
}
