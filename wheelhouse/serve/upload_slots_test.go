package serve

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/internal/uploadtest"
	"github.com/larder-build/larder/wheelhouse"
)

// splitUpload is the multipart body of f's upload, as uploadRequest makes
// it, cut around the file's bytes: head is every byte before them (the
// fields, unless contentFirst, and the content part's headers), tail
// every byte after.
func splitUpload(t *testing.T, f *pypitest.File, contentFirst bool) (head, content, tail []byte, contentType string) {
	t.Helper()
	var fields bytes.Buffer
	req := uploadRequest(t, "http://x/legacy/", f, nil)
	full, err := io.ReadAll(req.Body)
	if err != nil {
		t.Fatal(err)
	}
	if !contentFirst {
		i := bytes.Index(full, f.Data)
		if i < 0 {
			t.Fatal("the file is not in its upload's body")
		}
		return full[:i], f.Data, full[i+len(f.Data):], req.Header.Get("Content-Type")
	}
	// The same form, its content part first.
	mw := multipart.NewWriter(&fields)
	fw, err := mw.CreateFormFile("content", f.Filename)
	if err != nil {
		t.Fatal(err)
	}
	head = bytes.Clone(fields.Bytes())
	fw.Write(f.Data)
	fields.Reset()
	mr := multipart.NewReader(bytes.NewReader(full), strings.TrimPrefix(req.Header.Get("Content-Type"), "multipart/form-data; boundary="))
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if p.FormName() == "content" {
			continue
		}
		v, _ := io.ReadAll(p)
		mw.WriteField(p.FormName(), string(v))
	}
	mw.Close()
	return head, f.Data, bytes.Clone(fields.Bytes()), mw.FormDataContentType()
}

// TestUploadsOfAUserWithoutRightsHoldUpNoOtherUpload: bob, who may upload
// no project, sends more uploads of alice's project than the server has
// upload slots, each as a client that trickles its file. Sent as twine
// sends a form (name before content), each is refused with 403 before
// any byte of its file is sent; sent content first, each is read (its
// right can only be checked once the name comes) but holds no slot while
// it arrives. Either way alice's upload, sent meanwhile, is stored within
// a bound, not after bob's uploads end.
func TestUploadsOfAUserWithoutRightsHoldUpNoOtherUpload(t *testing.T) {
	const bound = 10 * time.Second // roomy: an upload here takes milliseconds
	for _, c := range []struct {
		name         string
		contentFirst bool
	}{
		{"name before content, as twine sends it", false},
		{"content first, trickled", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			users := uploadtest.Htpasswd(t, "alice:pw-a", "bob:pw-b")
			st, err := wheelhouse.Create(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			_, base := startServer(t, st, WithHtpasswd(users), WithOffline(true), WithUploaders(map[string][]string{"acme-*": {"alice"}}))
			w := projectWheel(t, "acme-tools", "1.0", 64<<10)
			head, content, tail, contentType := splitUpload(t, w, c.contentFirst)

			type answer struct {
				status int
				body   string
				err    error
			}
			const n = uploadSlots + 1
			stop := make(chan struct{})
			var writers, requests sync.WaitGroup
			answers := make(chan answer, n)
			sent := make([]int, n) // bytes of the file sent by the answer, under mu
			var mu sync.Mutex
			pipes := make([]*io.PipeWriter, n)
			for i := range n {
				pr, pw := io.Pipe()
				pipes[i] = pw
				answered := make(chan struct{})
				writers.Add(1)
				go func() {
					defer writers.Done()
					if _, err := pw.Write(head); err != nil {
						return
					}
					if !c.contentFirst {
						// Not a byte of the file until the answer comes.
						select {
						case <-answered:
						case <-stop:
						}
						pw.CloseWithError(errors.New("stopped"))
						return
					}
					// 64 bytes every 50 ms: 50 s for the file, far past
					// the test; bounded in count and by stop.
					for off := 0; off < len(content); off += 64 {
						select {
						case <-stop:
							pw.CloseWithError(errors.New("stopped"))
							return
						case <-time.After(50 * time.Millisecond):
						}
						if _, err := pw.Write(content[off:min(off+64, len(content))]); err != nil {
							return
						}
						mu.Lock()
						sent[i] = off + 64
						mu.Unlock()
					}
					pw.Write(tail)
					pw.Close()
				}()
				req, err := http.NewRequest(http.MethodPost, base+"/legacy/", pr)
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Content-Type", contentType)
				req.SetBasicAuth("bob", "pw-b")
				requests.Add(1)
				go func() {
					defer requests.Done()
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						answers <- answer{err: err}
						return
					}
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					mu.Lock()
					sentThen := sent[i]
					mu.Unlock()
					close(answered)
					answers <- answer{status: resp.StatusCode, body: fmt.Sprintf("%s (after %d bytes of the file)", bytes.TrimSpace(b), sentThen)}
				}()
			}
			t.Cleanup(func() {
				close(stop)
				for _, pw := range pipes {
					pw.CloseWithError(errors.New("stopped"))
				}
				done := make(chan struct{})
				go func() { writers.Wait(); requests.Wait(); close(done) }()
				select {
				case <-done:
				case <-time.After(bound):
					t.Errorf("bob's uploads did not end within %s of being stopped", bound)
				}
			})

			if !c.contentFirst {
				for range n {
					select {
					case a := <-answers:
						if a.err != nil || a.status != http.StatusForbidden || !strings.Contains(a.body, "may not upload project acme-tools") {
							t.Errorf("bob's upload, name first: %d %s %v; want 403 before the file is sent", a.status, a.body, a.err)
						}
					case <-time.After(bound):
						t.Fatalf("bob's upload, name first, was not answered within %s while its file was held back", bound)
					}
				}
			} else {
				// As many of bob's uploads as there are slots have begun
				// to arrive (a temporary file each), bounded: were they
				// to hold slots as they arrive, they would hold them all.
				arriving := func() int {
					tmps, _ := filepath.Glob(filepath.Join(st.Dir(), wheelhouse.FilesDir, ".upload-*.tmp"))
					return len(tmps)
				}
				for deadline := time.Now().Add(bound); arriving() < uploadSlots; time.Sleep(10 * time.Millisecond) {
					if time.Now().After(deadline) {
						t.Fatalf("after %s, %d of bob's %d uploads are arriving", bound, arriving(), n)
					}
				}
			}

			other := projectWheel(t, "acme-tools", "2.0", 0)
			done := make(chan answer, 1)
			go func() {
				resp, body, err := postUpload(t, base, other, nil, "alice", "pw-a")
				if err != nil {
					done <- answer{err: err}
					return
				}
				done <- answer{status: resp.StatusCode, body: string(body)}
			}()
			select {
			case a := <-done:
				if a.err != nil || a.status != http.StatusOK {
					t.Errorf("alice's upload: %d %s %v, want 200", a.status, a.body, a.err)
				}
			case <-time.After(bound):
				t.Fatalf("alice's upload waited %s behind %d trickling uploads of bob's", bound, n)
			}
		})
	}
}
