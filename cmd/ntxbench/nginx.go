package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// writeCert makes a self-signed ECDSA P-256 certificate for 127.0.0.1
// valid for a day, as cert.pem and key.pem in dir.
func writeCert(dir string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "cert.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
}

// target is nginx, running in a cgroup of its own so that what each
// tool's run cost it can be read too.
type target struct {
	cmd    *exec.Cmd
	group  *group
	prefix string
}

// startNginx writes the bench config and a fresh certificate into a
// scratch prefix and starts nginx there, waiting until both ports answer.
func startNginx(m *meter, confTemplate string) (*target, error) {
	prefix, err := os.MkdirTemp("", "ntxbench-nginx")
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(prefix, "tmp"), 0o755); err != nil {
		return nil, err
	}
	if err := writeCert(prefix); err != nil {
		return nil, fmt.Errorf("making the certificate: %w", err)
	}
	tmpl, err := os.ReadFile(confTemplate)
	if err != nil {
		return nil, err
	}
	conf := filepath.Join(prefix, "nginx.conf")
	if err := os.WriteFile(conf, []byte(strings.ReplaceAll(string(tmpl), "@PREFIX@", prefix)), 0o644); err != nil {
		return nil, err
	}
	g, err := m.group("nginx")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("nginx", "-p", prefix, "-c", conf)
	cmd.Stderr = os.Stderr
	if err := g.start(cmd); err != nil {
		g.remove()
		return nil, fmt.Errorf("starting nginx: %w", err)
	}
	t := &target{cmd: cmd, group: g, prefix: prefix}
	for _, addr := range []string{plainAddr, tlsAddr} {
		for i := 0; ; i++ {
			c, err := net.Dial("tcp", addr)
			if err == nil {
				c.Close()
				break
			}
			if i == 100 {
				t.stop()
				return nil, fmt.Errorf("nginx did not listen on %s (is the port in use?)", addr)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return t, nil
}

// cpu is nginx's CPU seconds so far (0 without cgroups).
func (t *target) cpu() float64 {
	if t.group.dir == "" {
		return 0
	}
	s, _ := t.group.cpu()
	return s
}

func (t *target) stop() {
	t.cmd.Process.Signal(syscall.SIGQUIT)
	done := make(chan struct{})
	go func() { t.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.cmd.Process.Kill()
		<-done
	}
	t.group.remove()
	os.RemoveAll(t.prefix)
}
