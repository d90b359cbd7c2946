package registrycache_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/larder-build/larder/images/registrycache"
	"github.com/larder-build/larder/internal/dockerregistry"
	"github.com/larder-build/larder/internal/flight/flighttest"
	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/internal/testenv"
	"github.com/larder-build/larder/internal/uploadtest"
	"github.com/larder-build/larder/internal/wheelhousetest"
	"github.com/larder-build/larder/wheelhouse"
	"github.com/larder-build/larder/wheelhouse/serve"
)

// registryProxy is a real registry behind a proxy that counts the
// requests for each path, and holds the first request whose method and
// path are stallMethod and stallPath until hold is released.
type registryProxy struct {
	host  string
	mu    sync.Mutex
	paths map[string]int
	hold  *flighttest.Hold // of the request to hold
}

func proxyRegistry(t *testing.T, reg *dockerregistry.Registry, stallMethod, stallPath string) *registryProxy {
	t.Helper()
	target, _ := url.Parse("http://" + reg.Host)
	rp := httputil.NewSingleHostReverseProxy(target)
	p := &registryProxy{paths: map[string]int{}, hold: flighttest.NewHold()}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.paths[r.URL.Path]++
		p.mu.Unlock()
		if r.Method == stallMethod && r.URL.Path == stallPath && !p.hold.Wait(r) {
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(p.hold.Release) // before srv.Close, which waits for the handler
	p.host = strings.TrimPrefix(srv.URL, "http://")
	return p
}

// requests is how many requests the registry was sent for path.
func (p *registryProxy) requests(path string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.paths[path]
}

func openCacheAt(t *testing.T, host string) *registrycache.Cache {
	t.Helper()
	c, err := registrycache.Open(context.Background(), "docker://"+host+"/larder/cache")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func getPage(t *testing.T, page string) (int, string) {
	t.Helper()
	resp, err := http.Get(page)
	if err != nil {
		t.Error(err)
		return 0, ""
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// waitForPage asks for page until it answers 200 with a body ok accepts,
// for at most within, and returns how long that took.
func waitForPage(t *testing.T, page string, within time.Duration, ok func(body string) bool) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		code, body := getPage(t, page)
		if code == http.StatusOK && ok(body) {
			return time.Since(start)
		}
		if time.Since(start) > within {
			t.Fatalf("%s after %v: %d\n%s", page, time.Since(start), code, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestAPublicNameCostsTheRegistryOneQuestionPerTTL: a replica asks the
// registry whether an upload of a name no list knows was kept before it
// asks the upstream; the pages of a public project, many at once and
// many in a row, cost the registry at most one such question per
// KeptTTL, and an upload of that name through another server is still
// served, and private, within KeptTTL (and one list) of being kept.
func TestAPublicNameCostsTheRegistryOneQuestionPerTTL(t *testing.T) {
	testenv.Slow(t, "pages for 6 s across two 3 s windows")
	reg := startRegistry(t)
	p := proxyRegistry(t, reg, "", "")
	up := upstreamOfAcmeTools9(t)
	page := startReplica(t, openCacheAt(t, p.host), up.URL()) + "acme-tools/"
	question := "/v2/larder/cache/manifests/" + registrycache.ProjectTag("acme-tools")

	start := time.Now()
	pages := 0
	for time.Since(start) < 2*registrycache.KeptTTL {
		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() {
				if code, body := getPage(t, page); code != http.StatusOK || !strings.Contains(body, "acme_tools-9.0") {
					t.Errorf("the public project's page: %d\n%s", code, body)
				}
			})
		}
		wg.Wait()
		pages += 10
		time.Sleep(100 * time.Millisecond)
	}
	took := time.Since(start)
	if n, most := p.requests(question), int(took/registrycache.KeptTTL)+1; n < 1 || n > most {
		t.Fatalf("%d pages of a public project in %v asked the registry %d times about its uploads, want 1 to %d", pages, took, n, most)
	}
	t.Logf("%d pages in %v: %d questions to the registry", pages, took.Round(time.Millisecond), p.requests(question))

	// The replica has just been told no upload of the name was kept.
	before := p.requests(question)
	for deadline := time.Now().Add(time.Minute); p.requests(question) == before; {
		if time.Now().After(deadline) {
			t.Fatalf("no new question to the registry in a minute of pages (%d questions)", before)
		}
		getPage(t, page)
		time.Sleep(50 * time.Millisecond)
	}
	w, path, e := uploadedWheel(t, "acme-tools", "1.0", 0)
	if err := openCache(t, reg).Served().Keep(context.Background(), e, path, w.Metadata); err != nil {
		t.Fatal(err)
	}
	took = waitForPage(t, page, registrycache.KeptTTL+2*time.Second, func(body string) bool {
		return strings.Contains(body, w.Filename) && !strings.Contains(body, "acme_tools-9.0")
	})
	t.Logf("the upload was served, and private, %v after it was kept", took.Round(time.Millisecond))
}

// TestTwoServersTakingOtherBytesUnderOneNameAtOnceOneIsRefused: two
// servers of one registry keep other bytes under one new file name at
// the same moment; one succeeds, the other is told of a conflict, every
// server then lists the winner's bytes, and the project's tag names them.
func TestTwoServersTakingOtherBytesUnderOneNameAtOnceOneIsRefused(t *testing.T) {
	reg := startRegistry(t)
	first, firstPath, firstEntry := uploadedWheel(t, "acme-tools", "1.0", 0)
	second, secondPath, secondEntry := uploadedWheel(t, "acme-tools", "1.0", 4096)
	if first.Filename != second.Filename || first.SHA256 == second.SHA256 {
		t.Fatalf("want other bytes under one name, got %s %s", first.Filename, second.Filename)
	}
	servers := []*registrycache.Served{openCache(t, reg).Served(), openCache(t, reg).Served()}
	ups := []struct {
		f    *pypitest.File
		path string
		e    wheelhouse.Entry
	}{{first, firstPath, firstEntry}, {second, secondPath, secondEntry}}
	errs := make([]error, 2)
	ready := make(chan struct{})
	var wg sync.WaitGroup
	for i, s := range servers {
		wg.Go(func() {
			<-ready
			errs[i] = s.Keep(context.Background(), ups[i].e, ups[i].path, ups[i].f.Metadata)
		})
	}
	close(ready)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner < 0:
			winner = i
		case err == nil:
			t.Fatalf("both servers kept their bytes under %s", first.Filename)
		case !errors.Is(err, serve.ErrConflict):
			t.Fatalf("server %d: %v, want success or a conflict", i+1, err)
		}
	}
	if winner < 0 {
		t.Fatalf("neither server kept %s: %v", first.Filename, errs)
	}
	want := ups[winner].f.SHA256
	for i, s := range append(servers, openCache(t, reg).Served()) {
		files, err := s.Files(context.Background())
		if err != nil || len(files) != 1 || files[0].SHA256 != want {
			t.Fatalf("server %d lists %+v, %v; want the winner's %s", i+1, files, err, want)
		}
	}
	if got := projectTagFile(t, reg, "acme-tools"); got != want {
		t.Fatalf("the project's tag names sha256 %s, want the winner's %s", got, want)
	}
}

// projectTagFile reads the project's tag straight from the registry and
// returns the sha256 of the file its manifest names.
func projectTagFile(t *testing.T, reg *dockerregistry.Registry, project string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+reg.Host+"/v2/larder/cache/manifests/"+registrycache.ProjectTag(project), nil)
	req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m v1.Manifest
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("reading the project tag: %s, %v", resp.Status, err)
	}
	for _, d := range m.Layers {
		if d.MediaType == registrycache.MediaTypeFile {
			return d.Digest.Hex
		}
	}
	return ""
}

// uploadReplica serves an empty wheelhouse of its own from the cache,
// taking uploads from alice (password pw), and returns its upload and
// simple index URLs.
func uploadReplica(t *testing.T, c *registrycache.Cache, opts ...serve.Option) (legacy, simple string) {
	t.Helper()
	store, err := wheelhouse.Create(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	addr := serveReplica(t, store, append([]serve.Option{serve.WithHtpasswd(uploadtest.Htpasswd(t, "alice:pw")), serve.WithCache(c.Served()), serve.WithCacheDir(t.TempDir())}, opts...)...)
	return "http://" + addr + "/legacy/", serve.IndexURL(addr)
}

// postUpload sends f to a server's legacy upload API as alice, and
// returns the status.
func postUpload(t *testing.T, legacy string, f *pypitest.File) (int, error) {
	md := md5.Sum(f.Data)
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, kv := range [][2]string{{":action", "file_upload"}, {"protocol_version", "1"}, {"name", f.Project}, {"version", f.Version},
		{"filetype", "bdist_wheel"}, {"sha256_digest", f.SHA256}, {"md5_digest", hex.EncodeToString(md[:])}} {
		mw.WriteField(kv[0], kv[1])
	}
	fw, err := mw.CreateFormFile("content", f.Filename)
	if err != nil {
		return 0, err
	}
	fw.Write(f.Data)
	mw.Close()
	req, err := http.NewRequest(http.MethodPost, legacy, &body)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.SetBasicAuth("alice", "pw")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, fmt.Errorf("uploading %s: %s: %s", f.Filename, resp.Status, msg)
	}
	return resp.StatusCode, nil
}

// TestASlowPushHoldsUpOnlyUploadsOfItsName: a replica taking uploads
// keeps each in the registry before itself; while the registry holds the
// push of one upload, an upload of another file goes through, and the
// held one completes once the registry answers.
func TestASlowPushHoldsUpOnlyUploadsOfItsName(t *testing.T) {
	reg := startRegistry(t)
	slow, _, _ := uploadedWheel(t, "acme-slow", "1.0", 0)
	quick, _, _ := uploadedWheel(t, "acme-quick", "1.0", 0)
	p := proxyRegistry(t, reg, http.MethodPut, "/v2/larder/cache/manifests/"+registrycache.UploadTag(slow.Filename))
	legacy, _ := uploadReplica(t, openCacheAt(t, p.host), serve.WithOffline(true))

	slowDone := make(chan error, 1)
	go func() {
		_, err := postUpload(t, legacy, slow)
		slowDone <- err
	}()
	select {
	case <-p.hold.Started():
	case <-time.After(time.Minute):
		t.Fatal("the push of the first upload never reached the registry")
	}
	quickDone := make(chan error, 1)
	go func() {
		_, err := postUpload(t, legacy, quick)
		quickDone <- err
	}()
	select {
	case err := <-quickDone:
		if err != nil {
			t.Fatalf("another file, while the registry holds the first: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("an upload of another file waited for the held push")
	}
	select {
	case err := <-slowDone:
		t.Fatalf("the held upload finished before the registry answered: %v", err)
	default:
	}
	p.hold.Release()
	select {
	case err := <-slowDone:
		if err != nil {
			t.Fatalf("the held upload, once the registry answered: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("the held upload did not finish once the registry answered")
	}
	files, err := openCache(t, reg).Served().Files(context.Background())
	if err != nil || len(files) != 2 {
		t.Fatalf("the registry lists %+v, %v; want both uploads", files, err)
	}
}

// TestUploadingALockWheelhousesFileMakesItsProjectPrivateEverywhere: a
// public file a lock's wheelhouse in the registry holds is uploaded
// again, byte for byte, through one replica: the upload is "uploaded
// before", and yet kept as an upload, so that the replica, another one
// already running and the registry all know its project is private from
// then on, and the upstream's higher version is no longer offered.
func TestUploadingALockWheelhousesFileMakesItsProjectPrivateEverywhere(t *testing.T) {
	testenv.Slow(t, "waits for a running replica to list again")
	reg := startRegistry(t)
	w := lockOfAcmeTools1(t, reg, strings.Repeat("a", 64))
	up := upstreamOfAcmeTools9(t)
	other := startReplica(t, openCache(t, reg), up.URL()) + "acme-tools/"
	if code, body := getPage(t, other); code != http.StatusOK || !strings.Contains(body, w.Filename) || !strings.Contains(body, "acme_tools-9.0") {
		t.Fatalf("before the upload, a public project's page: %d, want the wheelhouse's file and the upstream's\n%s", code, body)
	}
	legacy, simple := uploadReplica(t, openCache(t, reg), serve.WithUpstream(up.URL()))
	if _, err := postUpload(t, legacy, w); err != nil {
		t.Fatal(err)
	}
	if kept, err := openCache(t, reg).Served().Kept(context.Background(), "acme-tools"); err != nil || !kept {
		t.Fatalf("the registry kept an upload of acme-tools: %v, %v; want its project tag pushed", kept, err)
	}
	for _, page := range []string{simple + "acme-tools/", other} {
		waitForPage(t, page, registrycache.KeptTTL+2*time.Second, func(body string) bool {
			return strings.Contains(body, w.Filename) && !strings.Contains(body, "acme_tools-9.0")
		})
	}
}

// lockOfAcmeTools1 pushes a lock's wheelhouse of one public file,
// acme-tools 1.0, under the lock's tag, and returns the file.
func lockOfAcmeTools1(t *testing.T, reg *dockerregistry.Registry, lockSHA256 string) *pypitest.File {
	t.Helper()
	w, _, _ := uploadedWheel(t, "acme-tools", "1.0", 0)
	pushLockWheelhouse(t, openCache(t, reg), lockSHA256, w)
	return w
}

// upstreamOfAcmeTools9 starts an upstream index that offers acme-tools
// 9.0, a higher version than any of the tests' own.
func upstreamOfAcmeTools9(t *testing.T) *pypitest.Server {
	t.Helper()
	return pypitest.Start(t, &pypitest.Index{Projects: []pypitest.Project{{Name: "acme-tools", Releases: []pypitest.Release{pure("9.0")}}}})
}

// pushLockWheelhouse pushes a wheelhouse of the wheels, public files of
// a lock, to the cache under the lock's tag.
func pushLockWheelhouse(t *testing.T, c *registrycache.Cache, lockSHA256 string, wheels ...*pypitest.File) {
	t.Helper()
	store := wheelhousetest.Store(t, t.TempDir(), wheels...)
	if _, err := registrycache.PushWheelhouse(context.Background(), c, store, lockSHA256); err != nil {
		t.Fatal(err)
	}
}

// TestALockTagPushedAgainWithOtherFilesIsReadAgain: a running replica
// read a lock's tag; the tag is pushed again with one more file; the
// replica serves the new file within TagCheckEvery (and a list), not
// only after a restart.
func TestALockTagPushedAgainWithOtherFilesIsReadAgain(t *testing.T) {
	testenv.Slow(t, "waits out the 5 s between checks of a tag")
	reg := startRegistry(t)
	first, _, _ := uploadedWheel(t, "acme-first", "1.0", 0)
	second, _, _ := uploadedWheel(t, "acme-second", "1.0", 0)
	lock := strings.Repeat("b", 64)
	pushLockWheelhouse(t, openCache(t, reg), lock, first)
	up := pypitest.Start(t, &pypitest.Index{})
	simple := startReplica(t, openCache(t, reg), up.URL())
	if code, body := getPage(t, simple+"acme-first/"); code != http.StatusOK || !strings.Contains(body, first.Filename) {
		t.Fatalf("the lock's file: %d\n%s", code, body)
	}
	pushLockWheelhouse(t, openCache(t, reg), lock, first, second)
	took := waitForPage(t, simple+"acme-second/", registrycache.TagCheckEvery+3*time.Second, func(body string) bool {
		return strings.Contains(body, second.Filename)
	})
	t.Logf("the lock's new file was served %v after its tag was pushed again", took.Round(time.Millisecond))
	if code, body := getPage(t, simple+"acme-first/"); code != http.StatusOK || !strings.Contains(body, first.Filename) {
		t.Fatalf("the lock's first file, after: %d\n%s", code, body)
	}
}

// TestPagesOfAPublicProjectOfTheRegistryDoNotListItAgain: a replica with
// an upstream serves a project a lock's wheelhouse in the registry holds
// as public, many pages in a row: before the upstream it asks the
// registry whether an upload of the name was kept (a HEAD), and lists
// the registry again only if one was, not once a second as for a name no
// list knows.
func TestPagesOfAPublicProjectOfTheRegistryDoNotListItAgain(t *testing.T) {
	testenv.Slow(t, "asks for pages for 3 s")
	reg := startRegistry(t)
	w := lockOfAcmeTools1(t, reg, strings.Repeat("c", 64))
	p := proxyRegistry(t, reg, "", "")
	up := upstreamOfAcmeTools9(t)
	page := startReplica(t, openCacheAt(t, p.host), up.URL()) + "acme-tools/"
	list := "/v2/larder/cache/tags/list"
	before := p.requests(list)
	pages := 0
	for start := time.Now(); time.Since(start) < 3*time.Second; pages++ {
		if code, body := getPage(t, page); code != http.StatusOK || !strings.Contains(body, w.Filename) || !strings.Contains(body, "acme_tools-9.0") {
			t.Fatalf("the public project's page: %d, want the wheelhouse's file and the upstream's\n%s", code, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n := p.requests(list) - before; n != 0 {
		t.Fatalf("%d pages of a public project the registry lists listed the registry %d times more, want none", pages, n)
	}
	if n := p.requests("/v2/larder/cache/manifests/" + registrycache.ProjectTag("acme-tools")); n < 1 {
		t.Fatalf("the registry was never asked whether an upload of the project was kept")
	}
}

// faultyRegistry is a real registry behind a proxy that answers 500
// UNKNOWN, as docker-registry answers a read of a tag while another
// server pushes it (its file system storage truncates the tag's link
// before writing it), to the requests fail picks; it returns the proxy's
// host and how many requests were failed.
func faultyRegistry(t *testing.T, reg *dockerregistry.Registry, fail func(r *http.Request) bool) (string, func() int) {
	t.Helper()
	target, _ := url.Parse("http://" + reg.Host)
	rp := httputil.NewSingleHostReverseProxy(target)
	var mu sync.Mutex
	failed := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		f := fail(r)
		if f {
			failed++
		}
		mu.Unlock()
		if f {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, `{"errors":[{"code":"UNKNOWN","message":"unknown error"}]}`)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), func() int {
		mu.Lock()
		defer mu.Unlock()
		return failed
	}
}

// TestAReadOfTheFileTagFailingOnceDoesNotFailKeep: Keep reads the file's
// tag before and after pushing it, the very moments another server's
// racing push of it can make the registry fail a read (docker-registry
// does, about one race in ten); one failed read is read again, and the
// upload is kept, its project tag too, instead of the client being told
// nothing was stored while the file's tag is in the registry.
func TestAReadOfTheFileTagFailingOnceDoesNotFailKeep(t *testing.T) {
	for _, tc := range []struct {
		name string
		// failAt is the GET of the file's tag to fail: 1 is the first
		// question, 2 the one just before the push, 3 the read back.
		failAt int
	}{
		{"the question just before the push", 2},
		{"the read back after the push", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := startRegistry(t)
			w, path, e := uploadedWheel(t, "acme-tools", "1.0", 0)
			tagPath := "/v2/larder/cache/manifests/" + registrycache.UploadTag(w.Filename)
			gets := 0
			host, failed := faultyRegistry(t, reg, func(r *http.Request) bool {
				if r.Method != http.MethodGet || r.URL.Path != tagPath {
					return false
				}
				gets++
				return gets == tc.failAt
			})
			if err := openCacheAt(t, host).Served().Keep(context.Background(), e, path, w.Metadata); err != nil {
				t.Fatalf("keeping an upload whose tag's read failed once: %v", err)
			}
			if failed() != 1 {
				t.Fatalf("%d reads of the file's tag failed, want 1", failed())
			}
			if kept, err := openCache(t, reg).Served().Kept(context.Background(), "acme-tools"); err != nil || !kept {
				t.Fatalf("Kept: %v, %v; want the project tag pushed", kept, err)
			}
		})
	}
}

// TestAPublicProjectIsListedAgainWhileTheRegistryCannotSayWhetherItWasUploaded:
// a replica serving a project a lock's wheelhouse holds as public cannot
// ask the registry whether an upload of it was kept (its HEAD fails, and
// it is not asked again for a while); another replica takes an upload of
// the very bytes of the lock's file; the first still turns the project
// private within seconds, by listing the registry again (at most once a
// second) as long as it cannot ask.
func TestAPublicProjectIsListedAgainWhileTheRegistryCannotSayWhetherItWasUploaded(t *testing.T) {
	reg := startRegistry(t)
	w := lockOfAcmeTools1(t, reg, strings.Repeat("f", 64))
	question := "/v2/larder/cache/manifests/" + registrycache.ProjectTag("acme-tools")
	host, failed := faultyRegistry(t, reg, func(r *http.Request) bool {
		return r.Method == http.MethodHead && r.URL.Path == question
	})
	up := upstreamOfAcmeTools9(t)
	page := startReplica(t, openCacheAt(t, host), up.URL()) + "acme-tools/"
	if code, body := getPage(t, page); code != http.StatusOK || !strings.Contains(body, "acme_tools-9.0") {
		t.Fatalf("before the upload, a public project's page: %d, want the upstream's file\n%s", code, body)
	}
	if failed() == 0 {
		t.Fatal("the replica never asked whether an upload of the project was kept")
	}
	legacy, _ := uploadReplica(t, openCache(t, reg), serve.WithOffline(true))
	if _, err := postUpload(t, legacy, w); err != nil {
		t.Fatal(err)
	}
	took := waitForPage(t, page, 5*time.Second, func(body string) bool {
		return strings.Contains(body, w.Filename) && !strings.Contains(body, "acme_tools-9.0")
	})
	t.Logf("private %v after the upload, the registry failing every question about it", took.Round(time.Millisecond))
}

// TestAnUploadWhoseTagCannotBeReadBackIsKeptInPart: the registry takes
// the file's tag, then fails every read of it: Keep says the upload was
// kept only in part (serve.ErrPartlyKept, which the server answers with
// "upload it again"), not that nothing was stored; once the registry
// answers, keeping it again completes it, project tag and all.
func TestAnUploadWhoseTagCannotBeReadBackIsKeptInPart(t *testing.T) {
	reg := startRegistry(t)
	w, path, e := uploadedWheel(t, "acme-tools", "1.0", 0)
	tagPath := "/v2/larder/cache/manifests/" + registrycache.UploadTag(w.Filename)
	var pushed atomic.Bool
	host, failed := faultyRegistry(t, reg, func(r *http.Request) bool {
		if r.Method == http.MethodPut && r.URL.Path == tagPath {
			pushed.Store(true)
		}
		return pushed.Load() && r.Method == http.MethodGet && r.URL.Path == tagPath
	})
	err := openCacheAt(t, host).Served().Keep(context.Background(), e, path, w.Metadata)
	if !errors.Is(err, serve.ErrPartlyKept) || errors.Is(err, serve.ErrConflict) {
		t.Fatalf("Keep with its tag unreadable after the push: %v, want ErrPartlyKept", err)
	}
	if failed() == 0 {
		t.Fatal("no read of the file's tag failed")
	}
	if err := openCache(t, reg).Served().Keep(context.Background(), e, path, w.Metadata); err != nil {
		t.Fatalf("keeping it again: %v", err)
	}
	if kept, err := openCache(t, reg).Served().Kept(context.Background(), "acme-tools"); err != nil || !kept {
		t.Fatalf("Kept: %v, %v; want the project tag pushed by the second Keep", kept, err)
	}
}
