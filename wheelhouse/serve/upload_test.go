package serve

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/internal/testenv"
	"github.com/larder-build/larder/internal/uploadtest"
	"github.com/larder-build/larder/wheelhouse"
)

// storedFiles lists the files of a store's folder (temporary files
// included) and its manifest's entries.
func storedFiles(t *testing.T, dir string) (onDisk, listed []string) {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(dir, wheelhouse.FilesDir))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		onDisk = append(onDisk, e.Name())
	}
	st, err := wheelhouse.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range st.Entries() {
		listed = append(listed, e.Filename)
	}
	return onDisk, listed
}

// uploadServer starts an offline server over a new wheelhouse that takes
// uploads from alice (password "pw"), and returns the wheelhouse's folder,
// the store and the server's base URL.
func uploadServer(t *testing.T, opts ...Option) (string, *wheelhouse.Store, string) {
	t.Helper()
	dir := t.TempDir()
	st, err := wheelhouse.Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, base := serveUploads(t, st, opts...)
	return dir, st, base
}

// serveUploads starts an offline server over st that takes uploads from
// alice (password "pw"), and returns it and its base URL.
func serveUploads(t *testing.T, st *wheelhouse.Store, opts ...Option) (*Server, string) {
	t.Helper()
	users := uploadtest.Htpasswd(t, "alice:pw")
	return startServer(t, st, append([]Option{WithHtpasswd(users), WithOffline(true)}, opts...)...)
}

// projectWheel builds the pure-Python wheel of a project's version,
// padded by size bytes.
func projectWheel(t *testing.T, name, version string, size int) *pypitest.File {
	t.Helper()
	p := &pypitest.Project{Name: name, Releases: []pypitest.Release{release(version)}}
	w, err := pypitest.BuildWheel(p, &p.Releases[0], pypitest.Wheel{Tags: "py3-none-any", Size: size})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// withInitTail returns a copy of a wheel whose __init__.py ends with tail;
// with fixRecord its RECORD is rewritten to match, so only the file's
// bytes differ.
func withInitTail(t *testing.T, w *pypitest.File, tail string, fixRecord bool) *pypitest.File {
	t.Helper()
	return rewritten(t, w, pypitest.WheelEdit{StaleRecord: !fixRecord, Member: func(name string, b []byte) []byte {
		if strings.HasSuffix(name, "/__init__.py") {
			return append(b, tail...)
		}
		return b
	}})
}

// rewritten returns a copy of the wheel w changed as e says, with its
// hash.
func rewritten(t *testing.T, w *pypitest.File, e pypitest.WheelEdit) *pypitest.File {
	t.Helper()
	data, err := pypitest.RewriteWheel(w.Data, e)
	if err != nil {
		t.Fatal(err)
	}
	c := *w
	c.Data = data
	c.SHA256 = sha256Of(data)
	return &c
}

// postUpload sends f to the legacy upload API, as the user and password
// in auth when given, and answers the response, its body read and closed.
func postUpload(t *testing.T, base string, f *pypitest.File, edit func(fields map[string]string), auth ...string) (*http.Response, []byte, error) {
	t.Helper()
	req := uploadRequest(t, base+"/legacy/", f, edit)
	if len(auth) == 2 {
		req.SetBasicAuth(auth[0], auth[1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, body, nil
}

// mustUpload uploads f as user and fails the test unless it is stored.
func mustUpload(t *testing.T, base string, f *pypitest.File, user, pass string) {
	t.Helper()
	resp, _, err := postUpload(t, base, f, nil, user, pass)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("uploading %s: %d", f.Filename, resp.StatusCode)
	}
}

// TestTwineUploadsArePrivateAndPipInstallsThem is the organisation's push
// workflow with the real clients: twine uploads a wheel and an sdist as a
// user of an htpasswd -B file; wrong credentials store nothing; the same
// file again succeeds; other content under the same name is refused with
// 409; pip installs the upload through the server, and the upstream, which
// offers a higher version of that name, is never asked about it.
func TestTwineUploadsArePrivateAndPipInstallsThem(t *testing.T) {
	p := newPip(t, "python3")
	users := uploadtest.Htpasswd(t, "alice:correct horse", "bob:battery staple")
	// The upstream offers acme-tools 9.0: were it ever asked, pip would
	// pick it over the upload.
	upstream := pypitest.Start(t, &pypitest.Index{Projects: []pypitest.Project{
		{Name: "acme-tools", Releases: []pypitest.Release{release("9.0")}},
	}})
	dir := t.TempDir()
	st, err := wheelhouse.Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	var log testLog
	s, base := startServer(t, st, WithHtpasswd(users), WithUpstream(upstream.URL()), WithCacheDir(t.TempDir()),
		WithAccessLog(true), WithLogger(log.logger()))
	t.Cleanup(func() {
		for _, pw := range []string{"correct horse", "battery staple", "wr0ng-guess"} {
			if strings.Contains(log.String(), pw) {
				t.Errorf("the server's log holds the password %q", pw)
			}
		}
	})
	project := &pypitest.Project{Name: "acme-tools", Releases: []pypitest.Release{release("1.0")}}
	wheel, sdist, paths := uploadtest.DistFiles(t, filepath.Join(t.TempDir(), "dist"), project, 0)

	for _, c := range []struct{ name, user, pass string }{
		{"wrong password", "alice", "wr0ng-guess"},
		{"no password", "alice", ""},
		{"unknown user", "mallory", "correct horse"},
		{"another user's password", "bob", "correct horse"},
	} {
		out, err := uploadtest.Twine(t, base+"/legacy/", c.user, c.pass, paths)
		if err == nil || !strings.Contains(out, "401") {
			t.Errorf("%s: twine succeeded or did not report 401: %v\n%s", c.name, err, out)
		}
	}
	onDisk, listed := storedFiles(t, dir)
	if len(onDisk) != 0 || len(listed) != 0 {
		t.Fatalf("refused uploads left files %v, entries %v", onDisk, listed)
	}

	if out, err := uploadtest.Twine(t, base+"/legacy/", "alice", "correct horse", paths); err != nil {
		t.Fatalf("twine upload: %v\n%s", err, out)
	}
	onDisk, listed = storedFiles(t, dir)
	wantDisk := []string{sdist.Filename, wheel.Filename, wheel.Filename + ".metadata"}
	slices.Sort(wantDisk)
	if !slices.Equal(onDisk, wantDisk) || len(listed) != 2 {
		t.Fatalf("after the upload: files %v (want %v), entries %v", onDisk, wantDisk, listed)
	}
	// The manifest says who uploaded what and when, and that it is private.
	reread, err := wheelhouse.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range reread.Entries() {
		if e.Origin.Kind != wheelhouse.OriginUpload || e.Origin.Uploader != "alice" || !e.Private || e.UploadTime.IsZero() || e.Project != "acme-tools" || e.Version != "1.0" {
			t.Errorf("manifest entry %+v: want private, uploaded by alice, with a time", e)
		}
	}
	// Served at once, with the PEP 658 metadata pip reads first.
	if b := testenv.Download(t, base+"/files/"+wheel.Filename); !bytes.Equal(b, wheel.Data) {
		t.Errorf("the uploaded wheel is served with other bytes")
	}
	if b := testenv.Download(t, base+"/files/"+wheel.Filename+".metadata"); !bytes.Equal(b, wheel.Metadata) {
		t.Errorf("the uploaded wheel's metadata is %q, want %q", b, wheel.Metadata)
	}

	// Re-runs succeed: the same files again, plain and with --skip-existing.
	for _, extra := range [][]string{nil, {"--skip-existing"}} {
		if out, err := uploadtest.Twine(t, base+"/", "bob", "battery staple", paths, extra...); err != nil {
			t.Errorf("twine upload %v of the same files: %v\n%s", extra, err, out)
		}
	}

	// The same name with other content: 409, and the stored file stays.
	_, _, other := uploadtest.DistFiles(t, filepath.Join(t.TempDir(), "other"), project, 64<<10)
	out, err := uploadtest.Twine(t, base+"/legacy/", "alice", "correct horse", other[:1])
	if err == nil || !strings.Contains(out, "409") {
		t.Errorf("a different wheel under the same name: twine did not report 409: %v\n%s", err, out)
	}
	if b := testenv.Download(t, base+"/files/"+wheel.Filename); !bytes.Equal(b, wheel.Data) {
		t.Errorf("a refused upload replaced the stored wheel")
	}

	// pip installs the upload, and the upstream is never asked about it.
	installsTheUpload := func(base, server string) {
		t.Helper()
		target, out, err := p.install(t, base+"/simple/", "acme-tools")
		if err != nil {
			t.Fatalf("pip install from %s: %v\n%s", server, err, out)
		}
		if got := installed(t, target); !slices.Equal(got, []string{"acme-tools==1.0"}) {
			t.Errorf("from %s pip installed %v, want the upload acme-tools==1.0", server, got)
		}
		if n := upstream.TotalRequests(); n != 0 {
			t.Errorf("with %s the upstream got %d requests (%v) for an uploaded, private name", server, n, upstream.Counts())
		}
	}
	upstream.Reset()
	installsTheUpload(base, "the server")
	if st := s.Stats(); st.UpstreamRequests != 0 {
		t.Errorf("the server sent %d upstream requests", st.UpstreamRequests)
	}

	// A restarted server still holds the upload private.
	st2, err := wheelhouse.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, base2 := startServer(t, st2, WithUpstream(upstream.URL()))
	installsTheUpload(base2, "a restarted server")
}

// uploadRequest is a legacy upload API request as twine sends it.
func uploadRequest(t *testing.T, u string, f *pypitest.File, edit func(fields map[string]string)) *http.Request {
	t.Helper()
	md := md5.Sum(f.Data)
	filetype := "bdist_wheel"
	if f.IsSdist {
		filetype = "sdist"
	}
	fields := map[string]string{
		":action": "file_upload", "protocol_version": "1", "name": f.Project, "version": f.Version,
		"filetype": filetype, "sha256_digest": f.SHA256, "md5_digest": hex.EncodeToString(md[:]), "metadata_version": "2.1",
	}
	if edit != nil {
		edit(fields)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		mw.WriteField(k, fields[k])
	}
	fw, err := mw.CreateFormFile("content", f.Filename)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(f.Data)
	mw.Close()
	req, err := http.NewRequest(http.MethodPost, u, &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return req
}

// TestUploadsAreRefusedWithNothingStored sends uploads that must each be
// refused, and checks the answer and that the store is untouched.
func TestUploadsAreRefusedWithNothingStored(t *testing.T) {
	dir, _, base := uploadServer(t, WithMaxUpload(200<<10))
	w := projectWheel(t, "acme-tools", "1.0", 0)
	big := projectWheel(t, "acme-tools", "1.0", 300<<10)
	// A wheel whose module was changed after RECORD was written: its
	// file hashes are right, its member is not.
	tampered := withInitTail(t, w, "import os; os.system('curl evil')\n", false)
	// A wheel with a member RECORD does not list.
	unlisted := rewritten(t, w, pypitest.WheelEdit{Add: map[string]string{"acme_tools/extra.py": ""}, StaleRecord: true})
	// A consistent wheel (RECORD rewritten) whose METADATA names another
	// project than its file name.
	renamedAs := rewritten(t, w, pypitest.WheelEdit{Member: func(name string, b []byte) []byte {
		if strings.HasSuffix(name, ".dist-info/METADATA") {
			return bytes.Replace(b, []byte("Name: acme-tools"), []byte("Name: requests"), 1)
		}
		return b
	}})
	cases := []struct {
		name   string
		file   *pypitest.File
		auth   []string // user, password; nil for none
		edit   func(map[string]string)
		status int
	}{
		{"no credentials", w, nil, nil, http.StatusUnauthorized},
		{"wrong password", w, []string{"alice", "nope"}, nil, http.StatusUnauthorized},
		{"wrong sha256", w, []string{"alice", "pw"}, func(f map[string]string) { f["sha256_digest"] = strings.Repeat("0", 64) }, http.StatusBadRequest},
		{"wrong md5", w, []string{"alice", "pw"}, func(f map[string]string) { f["md5_digest"] = strings.Repeat("0", 32) }, http.StatusBadRequest},
		{"no digest", w, []string{"alice", "pw"}, func(f map[string]string) { delete(f, "sha256_digest"); delete(f, "md5_digest") }, http.StatusBadRequest},
		{"form names another project", w, []string{"alice", "pw"}, func(f map[string]string) { f["name"] = "requests" }, http.StatusBadRequest},
		{"form names another version", w, []string{"alice", "pw"}, func(f map[string]string) { f["version"] = "2.0" }, http.StatusBadRequest},
		{"wrong filetype", w, []string{"alice", "pw"}, func(f map[string]string) { f["filetype"] = "sdist" }, http.StatusBadRequest},
		{"other action", w, []string{"alice", "pw"}, func(f map[string]string) { f[":action"] = "remove_pkg" }, http.StatusBadRequest},
		{"member does not match RECORD", tampered, []string{"alice", "pw"}, nil, http.StatusBadRequest},
		{"member not in RECORD", unlisted, []string{"alice", "pw"}, nil, http.StatusBadRequest},
		{"metadata names another project", renamedAs, []string{"alice", "pw"}, nil, http.StatusBadRequest},
		{"larger than --max-upload", big, []string{"alice", "pw"}, nil, http.StatusRequestEntityTooLarge},
		{"a form field one byte over its limit", w, []string{"alice", "pw"}, func(f map[string]string) { f["description"] = strings.Repeat("x", maxFormField+1) }, http.StatusRequestEntityTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body, err := postUpload(t, base, c.file, c.edit, c.auth...)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != c.status {
				t.Errorf("status %d (%s), want %d", resp.StatusCode, body, c.status)
			}
			if c.status == http.StatusUnauthorized && resp.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("401 without WWW-Authenticate")
			}
			if c.auth != nil && strings.Contains(string(body), c.auth[1]) {
				t.Errorf("the answer repeats the password: %s", body)
			}
			onDisk, listed := storedFiles(t, dir)
			if len(onDisk) != 0 || len(listed) != 0 {
				t.Errorf("a refused upload left files %v, entries %v", onDisk, listed)
			}
		})
	}
}

// TestUploadsLeaveNothingHalfWritten cuts an upload's connection halfway
// through the file, and uploads over a file a killed server renamed into
// place but never listed: the cut upload leaves no file, temporary or
// not; the unlisted file is listed when the same bytes come again and is
// never replaced by other bytes.
func TestUploadsLeaveNothingHalfWritten(t *testing.T) {
	dir, st, base := uploadServer(t)
	w := projectWheel(t, "acme-tools", "1.0", 256<<10)

	t.Run("connection cut", func(t *testing.T) {
		req := uploadRequest(t, base+"/legacy/", w, nil)
		req.SetBasicAuth("alice", "pw")
		body, _ := io.ReadAll(req.Body)
		conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "POST /legacy/ HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n",
			req.Header.Get("Authorization"), req.Header.Get("Content-Type"), len(body))
		conn.Write(body[:len(body)/2])
		// Wait until the server has the temporary file, then cut.
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			if onDisk, _ := storedFiles(t, dir); len(onDisk) > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the server never started storing the upload")
			}
		}
		conn.Close()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			onDisk, listed := storedFiles(t, dir)
			if len(onDisk) == 0 && len(listed) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("a cut upload left files %v, entries %v", onDisk, listed)
			}
		}
	})

	post := func(f *pypitest.File) int {
		resp, _, err := postUpload(t, base, f, nil, "alice", "pw")
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode
	}
	t.Run("unlisted file", func(t *testing.T) {
		// What a server killed between its rename and its manifest
		// leaves: the file, unlisted.
		if err := os.WriteFile(st.Path(w.Filename), w.Data, 0o644); err != nil {
			t.Fatal(err)
		}
		other := withInitTail(t, w, "# other\n", true)
		if got := post(other); got != http.StatusConflict {
			t.Errorf("other bytes over an unlisted file: %d, want 409", got)
		}
		if b, _ := os.ReadFile(st.Path(w.Filename)); !bytes.Equal(b, w.Data) {
			t.Errorf("other bytes replaced the unlisted file")
		}
		if got := post(w); got != http.StatusOK {
			t.Errorf("the same bytes over an unlisted file: %d, want 200", got)
		}
		if _, listed := storedFiles(t, dir); !slices.Equal(listed, []string{w.Filename}) {
			t.Errorf("listed %v, want the upload", listed)
		}
		if b := testenv.Download(t, base+"/files/"+w.Filename); !bytes.Equal(b, w.Data) {
			t.Errorf("the upload is not served")
		}
	})
}

// TestUploadersDecideWhoUploadsWhichProject gives alice the acme-*
// projects and both users "shared": an upload outside a user's rules is
// refused with 403 and stores nothing.
func TestUploadersDecideWhoUploadsWhichProject(t *testing.T) {
	users := uploadtest.Htpasswd(t, "alice:pw-a", "bob:pw-b")
	dir := t.TempDir()
	st, err := wheelhouse.Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(st, WithHtpasswd(users), WithUploaders(map[string][]string{"acme-*": {"carol"}})); err == nil || !strings.Contains(err.Error(), `user "carol" is not in`) {
		t.Errorf("a rule naming a user the file does not list: %v", err)
	}
	_, base := startServer(t, st, WithHtpasswd(users), WithOffline(true),
		WithUploaders(map[string][]string{"Acme_*": {"alice"}, "shared": {"alice", "bob"}}))
	for _, c := range []struct {
		user, pass, project string
		status              int
	}{
		{"bob", "pw-b", "acme-tools", http.StatusForbidden},
		{"alice", "pw-a", "other", http.StatusForbidden}, // no rule matches
		{"alice", "pw-a", "acme-tools", http.StatusOK},
		{"bob", "pw-b", "shared", http.StatusOK},
	} {
		resp, body, err := postUpload(t, base, projectWheel(t, c.project, "1.0", 0), nil, c.user, c.pass)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != c.status {
			t.Errorf("%s uploading %s: %d %s, want %d", c.user, c.project, resp.StatusCode, body, c.status)
		}
	}
	if _, listed := storedFiles(t, dir); !slices.Equal(listed, []string{"acme_tools-1.0-py3-none-any.whl", "shared-1.0-py3-none-any.whl"}) {
		t.Errorf("listed %v, want only the allowed uploads", listed)
	}
}

// TestConcurrentUploadsOfOneNameKeepOneContent races uploads of two
// different wheels under one file name, several of each: the first to be
// kept wins, every upload of its bytes answers 200, every other 409, and
// the stored file and manifest hold exactly the winner.
func TestConcurrentUploadsOfOneNameKeepOneContent(t *testing.T) {
	dir, st, base := uploadServer(t)
	a := projectWheel(t, "acme-tools", "1.0", 0)
	b := withInitTail(t, a, "# b\n", true)
	const each = 4
	type result struct {
		sha    string
		status int
	}
	results := make(chan result, 2*each)
	for i := range 2 * each {
		f := a
		if i%2 == 1 {
			f = b
		}
		go func() {
			resp, _, err := postUpload(t, base, f, nil, "alice", "pw")
			if err != nil {
				results <- result{f.SHA256, 0}
				return
			}
			results <- result{f.SHA256, resp.StatusCode}
		}()
	}
	var got []result
	for range 2 * each {
		select {
		case r := <-results:
			got = append(got, r)
		case <-time.After(time.Minute):
			t.Fatal("uploads did not answer within a minute")
		}
	}
	stored, err := os.ReadFile(st.Path(a.Filename))
	if err != nil {
		t.Fatal(err)
	}
	winner := sha256Of(stored)
	for _, r := range got {
		want := http.StatusConflict
		if r.sha == winner {
			want = http.StatusOK
		}
		if r.status != want {
			t.Errorf("an upload of %s…: %d, want %d (the stored file is %s…)", r.sha[:12], r.status, want, winner[:12])
		}
	}
	reread, err := wheelhouse.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	e, ok := reread.Lookup(a.Filename)
	if !ok || e.SHA256 != winner {
		t.Errorf("the manifest lists %+v, the file on disk is %s", e, winner)
	}
	if onDisk, _ := storedFiles(t, dir); len(onDisk) != 2 { // the wheel and its metadata
		t.Errorf("files left: %v", onDisk)
	}
}

// TestASlowUploadOutlastsTheReadTimeout trickles an upload for longer
// than the server's ReadTimeout (a minute in production, 1 s here, roomy
// against its 100 ms pauses on a loaded machine): it is stored, since its
// deadline moves with each read, while reads keep the ReadTimeout.
func TestASlowUploadOutlastsTheReadTimeout(t *testing.T) {
	_, _, base := uploadServer(t, withReadTimeout(time.Second))
	w := projectWheel(t, "acme-tools", "1.0", 64<<10)
	full := uploadRequest(t, base+"/legacy/", w, nil)
	body, _ := io.ReadAll(full.Body)
	pr, pw := io.Pipe()
	go func() {
		// 20 pieces, 100 ms apart: 2 s in all.
		const pieces = 20
		step := (len(body) + pieces - 1) / pieces
		for i := 0; i < len(body); i += step {
			time.Sleep(100 * time.Millisecond)
			if _, err := pw.Write(body[i:min(i+step, len(body))]); err != nil {
				return
			}
		}
		pw.Close()
	}()
	req, err := http.NewRequest(http.MethodPost, base+"/legacy/", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", full.Header.Get("Content-Type"))
	req.SetBasicAuth("alice", "pw")
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("a slow upload was cut after %s: %v", time.Since(start).Round(time.Millisecond), err)
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("a slow upload: %d %s", resp.StatusCode, msg)
	}
	if got := testenv.Download(t, base+"/files/"+w.Filename); !bytes.Equal(got, w.Data) {
		t.Errorf("the slow upload is not served whole")
	}
}

// TestUploadsWaitingForOneNameLeaveTheSlotsToOtherNames holds a file name
// as a slow push to a shared cache would, sends more uploads of that name
// than there are upload slots, and then an upload of another name: it is
// stored while the name is still held (the waiting uploads gave their
// slots back), and once the name is free the waiting ones all answer.
func TestUploadsWaitingForOneNameLeaveTheSlotsToOtherNames(t *testing.T) {
	st, err := wheelhouse.Create(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	srv, base := serveUploads(t, st)
	held := projectWheel(t, "acme-tools", "1.0", 0)
	unlock, err := srv.uploader.lockName(context.Background(), held.Filename, nil)
	if err != nil {
		t.Fatal(err)
	}
	// upload sends f as alice and its status (0 when the request failed)
	// to statuses.
	upload := func(f *pypitest.File, statuses chan<- int) {
		go func() {
			resp, _, err := postUpload(t, base, f, nil, "alice", "pw")
			if err != nil {
				statuses <- 0
				return
			}
			statuses <- resp.StatusCode
		}()
	}
	const waiting = uploadSlots + 2
	statuses := make(chan int, waiting)
	for range waiting {
		upload(held, statuses)
	}
	// Every one has read its body into a temporary file and waits for the
	// name, holding no slot (bounded: 10 s).
	waitingNow := func() int {
		// Only uploads of the held name are under way: every upload's
		// temporary file is one of theirs.
		tmps, _ := filepath.Glob(filepath.Join(st.Dir(), wheelhouse.FilesDir, ".upload-*.tmp"))
		return len(tmps)
	}
	for deadline := time.Now().Add(10 * time.Second); waitingNow() < waiting || len(srv.uploader.slots) > 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s, %d of %d uploads of the held name wait for it and %d upload slots are taken", waitingNow(), waiting, len(srv.uploader.slots))
		}
	}
	other := projectWheel(t, "other-tools", "1.0", 0)
	done := make(chan int, 1)
	upload(other, done)
	select {
	case code := <-done:
		if code != http.StatusOK {
			t.Errorf("the upload of another name: %d, want 200", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("the upload of another name waited 10 s behind %d uploads of a held name", waiting)
	}
	unlock()
	for range waiting {
		select {
		case code := <-statuses:
			if code != http.StatusOK {
				t.Errorf("an upload of the held name: %d, want 200 (stored, or the same bytes stored before)", code)
			}
		case <-time.After(time.Minute):
			t.Fatal("uploads of the freed name did not answer within a minute")
		}
	}
	if _, ok := st.Lookup(held.Filename); !ok {
		if err := st.Refresh(); err != nil {
			t.Fatal(err)
		}
		if _, ok := st.Lookup(held.Filename); !ok {
			t.Errorf("%s was not stored", held.Filename)
		}
	}
}
