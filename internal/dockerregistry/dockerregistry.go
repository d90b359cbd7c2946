// Package dockerregistry runs Debian's docker-registry (the CNCF
// distribution registry) on a free loopback port, for tests and the
// end-to-end run: a real registry that nobody here wrote.
package dockerregistry

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// Registry is a running docker-registry.
type Registry struct {
	// Host is HOST:PORT on 127.0.0.1.
	Host string
	// Storage is its file system storage root.
	Storage string
	cmd     *exec.Cmd
	log     *os.File
}

// Start runs docker-registry with its storage and log in dir and waits
// (up to 15 s) until it answers.
func Start(dir string) (*Registry, error) {
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		return nil, fmt.Errorf("docker-registry is not installed (apt-get install docker-registry)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	host := l.Addr().String()
	l.Close()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	r := &Registry{Host: host, Storage: filepath.Join(dir, "storage")}
	cfg := fmt.Sprintf("version: 0.1\nlog: {level: error}\nstorage: {filesystem: {rootdirectory: %s}, delete: {enabled: true}}\nhttp: {addr: %s}\n", r.Storage, host)
	cfgPath := filepath.Join(dir, "registry.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	if r.log, err = os.Create(filepath.Join(dir, "registry.log")); err != nil {
		return nil, err
	}
	r.cmd = exec.Command(bin, "serve", cfgPath)
	r.cmd.Stdout, r.cmd.Stderr = r.log, r.log
	if err := r.cmd.Start(); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get("http://" + host + "/v2/")
		if err == nil {
			resp.Body.Close()
			return r, nil
		}
		if time.Now().After(deadline) {
			r.Stop()
			log, _ := os.ReadFile(r.log.Name())
			return nil, fmt.Errorf("docker-registry did not answer on %s: %v\n%s", host, err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop ends the registry.
func (r *Registry) Stop() {
	r.cmd.Process.Kill()
	r.cmd.Wait()
	r.log.Close()
}

// Blobs lists the digests the registry stores (layers, configs and
// manifests alike).
func (r *Registry) Blobs() map[string]bool {
	out := map[string]bool{}
	paths, _ := filepath.Glob(filepath.Join(r.Storage, "docker/registry/v2/blobs/sha256/*/*/data"))
	for _, p := range paths {
		out["sha256:"+filepath.Base(filepath.Dir(p))] = true
	}
	return out
}
