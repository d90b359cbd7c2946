package registrycache_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/larder-build/larder/images/registrycache"
	"github.com/larder-build/larder/internal/testenv"
)

// selfSigned writes a certificate and key for 127.0.0.1 and returns a
// pool that trusts it.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// startAuthRegistry runs docker-registry over TLS with a self-signed
// certificate and htpasswd users (Debian's htpasswd -B), and returns
// its host and a transport that trusts it.
func startAuthRegistry(t *testing.T, user, pass string) (string, http.RoundTripper) {
	t.Helper()
	bin := testenv.Tool(t, "docker-registry")
	htpasswd := testenv.Tool(t, "htpasswd")
	dir := t.TempDir()
	users := filepath.Join(dir, "htpasswd")
	if out, err := exec.Command(htpasswd, "-B", "-b", "-c", users, user, pass).CombinedOutput(); err != nil {
		t.Fatalf("htpasswd: %v\n%s", err, out)
	}
	cert, key, pool := selfSigned(t, dir)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	host := l.Addr().String()
	l.Close()
	cfg := fmt.Sprintf(`version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: %s}}
auth: {htpasswd: {realm: larder-test, path: %s}}
http: {addr: %s, tls: {certificate: %s, key: %s}}
`, filepath.Join(dir, "storage"), users, host, cert, key)
	cfgPath := filepath.Join(dir, "registry.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	log, err := os.Create(filepath.Join(dir, "registry.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", cfgPath)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait(); log.Close() })
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	t.Cleanup(tr.CloseIdleConnections)
	for deadline := time.Now().Add(15 * time.Second); ; {
		resp, err := (&http.Client{Transport: tr}).Get("https://" + host + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusUnauthorized {
				return host, tr
			}
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(log.Name())
			t.Fatalf("docker-registry over TLS did not answer on %s: %v\n%s", host, err, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// dockerConfig points DOCKER_CONFIG at a config.json with these
// credentials for host, as 'docker login' writes it.
func dockerConfig(t *testing.T, host, user, pass string) {
	t.Helper()
	dir := t.TempDir()
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
	doc := fmt.Sprintf(`{"auths": {%q: {"auth": %q}}}`, host, auth)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CONFIG", dir)
	t.Setenv("REGISTRY_AUTH_FILE", filepath.Join(dir, "absent.json"))
}

// TestARegistryWithTLSAndHtpasswdIsReadWithTheDockerConfigCredentials:
// the credentials come from the Docker config, as every container tool
// finds them; without them the fetch is told once and the index serves.
func TestARegistryWithTLSAndHtpasswdIsReadWithTheDockerConfigCredentials(t *testing.T) {
	host, tr := startAuthRegistry(t, "ci", "s3cret")
	srv, lock := lockIndex(t, closure(), "app")
	ref := "docker://" + host + "/acme/larder"

	dockerConfig(t, host, "ci", "wrong")
	bad, err := registrycache.Open(context.Background(), ref, registrycache.WithTransport(tr))
	if err != nil {
		t.Fatal(err)
	}
	rep := newMachine(t).fetch(t, lock, bad, true)
	if rep.Downloaded != rep.Files || len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0], "401") && !strings.Contains(rep.Warnings[0], "UNAUTHORIZED") {
		t.Fatalf("%+v, want every file from the index and one warning about the refused credential", rep)
	}
	t.Logf("a wrong password: %s", rep.Warnings[0])

	dockerConfig(t, host, "ci", "s3cret")
	c, err := registrycache.Open(context.Background(), ref, registrycache.WithTransport(tr))
	if err != nil {
		t.Fatal(err)
	}
	a := newMachine(t)
	if rep := a.fetch(t, lock, c, true); rep.Pushed != rep.Files {
		t.Fatalf("machine A: %+v, want every file pushed", rep)
	}
	if _, err := registrycache.PushWheelhouse(context.Background(), c, a.store, lockSum(t, lock), registrycache.WithTags("main"), registrycache.WithJobs(4)); err != nil {
		t.Fatalf("push: %v", err)
	}
	srv.Close()
	b := newMachine(t)
	if rep := b.fetch(t, lock, c, false); rep.FromCache != rep.Files {
		t.Fatalf("machine B: %+v, want every file from the registry", rep)
	}
	mustVerifyClean(t, b.store, lock)
}
