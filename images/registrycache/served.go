package registrycache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"golang.org/x/sync/errgroup"

	"github.com/larder-build/larder/wheelhouse"
	"github.com/larder-build/larder/wheelhouse/serve"
)

// maxServedTags bounds how many wheelhouse manifests Served reads when it
// lists them all.
const maxServedTags = 10000

// TooManyTagsError is returned by a list that finds more wheelhouses and
// uploads than Served reads.
type TooManyTagsError struct {
	Ref       string // the cache's repository
	Tags, Max int    // how many were found, and how many are read at most
}

func (e *TooManyTagsError) Error() string {
	return fmt.Sprintf("listing %s: %d wheelhouses and uploads, more than the %d served", e.Ref, e.Tags, e.Max)
}

// How often Served asks whether a tag it read names another manifest
// since (Files): at most tagChecksPerList tags a list, each at most every
// tagCheckEvery, so that a list costs at most tagChecksPerList HEAD
// requests besides the new tags, and a lock's tag pushed again is read
// again at the first list tagCheckEvery after the last check, with up to
// tagChecksPerList tags: later with more.
const (
	tagCheckEvery    = 5 * time.Second
	tagChecksPerList = 8
)

// How Served asks whether an upload of a name was kept (Kept): a server
// asks before the upstream about every name no list names or marks
// private, so a page of a public project would otherwise cost a registry
// round trip each time.
const (
	// keptTTL is how long an answer "no upload of this name" is used:
	// the pages of a public project cost at most one question per
	// keptTTL, and an upload through another server is seen at most
	// keptTTL after it was kept.
	keptTTL = 3 * time.Second
	// maxNotKept bounds the answers remembered: the names are the
	// clients' to choose.
	maxNotKept = 4096
	// keptQuestions bounds the questions asked at once, whatever the
	// names; keptQuestionTimeout bounds one.
	keptQuestions       = 4
	keptQuestionTimeout = 10 * time.Second
)

// Keeping an upload (Keep).
const (
	// uploadSettle is how long after pushing an upload's tag Keep reads it
	// back: a registry has no compare-and-swap on a tag, so of two servers
	// taking other bytes under one name at once the last push wins, and
	// the first learns of it here.
	uploadSettle = 500 * time.Millisecond
	// uploadUnsettled is how young an upload may be (by its upload time)
	// for its tag to be read again at every list rather than once: a
	// racing upload may still replace it. It covers keepTimeout in
	// serve, for the push, and clocks a few minutes apart.
	uploadUnsettled = 10 * time.Minute
)

// Served is the view of a cache an index server serves from: the files of
// its wheelhouse manifests, by name, read by sha256.
type Served struct {
	c    *Cache
	tags []string

	mu   sync.Mutex
	seen map[string]readTag // the lock and upload tags read

	notKeptMu sync.Mutex
	notKept   map[string]time.Time     // when the registry was asked, for names it kept no upload of
	asking    map[string]*keptQuestion // the last question asked about each name, while under way
	questions chan struct{}            // a place for each question asked at once

	// testHookJoined, set by tests only before s is used, runs each time
	// a caller of Kept joins a question another caller asked.
	testHookJoined func(project string)
}

// keptQuestion is a question to the registry whether an upload of a
// name was kept, shared by the callers that ask while it is under way.
type keptQuestion struct {
	started time.Time
	done    chan struct{} // closed once found and err are set
	found   bool
	err     error
	// stale: an upload of the name was kept here since the question
	// was asked, or a newer question replaced it, so its "no" is not
	// remembered.
	stale bool
}

var (
	_ serve.Cache  = (*Served)(nil)
	_ serve.Keeper = (*Served)(nil)
)

// Served returns the files of the wheelhouses tagged tags, or of every
// wheelhouse pushed under its lock's tag (sha256-*) and every upload kept
// (upload-*) when none is given.
func (c *Cache) Served(tags ...string) *Served {
	return &Served{c: c, tags: tags, questions: make(chan struct{}, keptQuestions)}
}

// Files lists the files of the wheelhouses, metadata blobs left out, and
// so are files whose name is not a plain file name or whose size is
// below zero (the registry's manifests are not trusted with paths). A
// lock's or an upload's tag is read once, several at a time, and its
// files kept for the manifest it named; the tags read are then asked
// again (a HEAD each, at most tagChecksPerList a list, each at most every
// tagCheckEvery) which manifest they name, and read again if it is
// another: a lock's tag pushed again with other files. A tag named to
// Served (a moving one such as main) is read every time. A tag Served was
// not told to serve that is gone or not a manifest is passed over, so that
// one bad upload does not stop every server; a registry that fails to
// answer fails the list.
func (s *Served) Files(ctx context.Context) ([]wheelhouse.Entry, error) {
	locks, uploads, err := s.c.wheelhouseTags(ctx)
	if err != nil {
		return nil, err
	}
	tags := append(locks, uploads...)
	if len(s.tags) > 0 {
		// Uploads are every server's, whichever lock tags it serves.
		tags = append(slices.Clone(s.tags), uploads...)
	}
	if len(tags) > maxServedTags {
		return nil, &TooManyTagsError{Ref: s.c.ref, Tags: len(tags), Max: maxServedTags}
	}
	due := s.dueChecks(tags)
	found := make([][]wheelhouse.Entry, len(tags))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i, tag := range tags {
		named := slices.Contains(s.tags, tag)
		s.mu.Lock()
		read, seen := s.seen[tag]
		s.mu.Unlock()
		if seen && !due[tag] {
			found[i] = read.files
			continue
		}
		g.Go(func() error {
			if seen {
				digest, ok, err := s.c.tagDigest(gctx, tag)
				if err == nil && ok && digest == read.digest {
					found[i] = read.files
					s.remember(tag, read.digest, read.files)
					return nil
				}
				// Pushed again, gone, or no answer: read as a new tag.
			}
			digest, files, err := s.tagFiles(gctx, tag)
			switch {
			case err != nil && (named || !errors.Is(err, errUnreadableTag)):
				// A registry that fails to answer fails the list: a
				// wheelhouse left out could hide a private name.
				return err
			case err != nil:
				s.mu.Lock()
				delete(s.seen, tag)
				s.mu.Unlock()
				return nil // passed over, and read again next time
			}
			found[i] = files
			if !named && !unsettled(tag, files) {
				s.remember(tag, digest, files)
			} else if seen {
				// What was kept of it is stale now: it is read again at
				// every list, not answered from the old read.
				s.mu.Lock()
				delete(s.seen, tag)
				s.mu.Unlock()
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	s.forgetTagsGone(tags)
	var out []wheelhouse.Entry
	for _, files := range found {
		out = append(out, files...)
	}
	return out, nil
}

// readTag is what Served read of a tag: the manifest it named, its
// files, and when the tag was last asked which manifest it names.
type readTag struct {
	digest  string
	files   []wheelhouse.Entry
	checked time.Time
}

// remember keeps the files of the manifest digest that tag names now.
func (s *Served) remember(tag, digest string, files []wheelhouse.Entry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen == nil {
		s.seen = map[string]readTag{}
	}
	s.seen[tag] = readTag{digest: digest, files: files, checked: time.Now()}
}

// forgetTagsGone forgets the files of the tags read before that the
// list no longer holds: tags are deleted (old locks' wheelhouses), and a
// server runs for months.
func (s *Served) forgetTagsGone(tags []string) {
	listed := make(map[string]bool, len(tags))
	for _, tag := range tags {
		listed[tag] = true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for tag := range s.seen {
		if !listed[tag] {
			delete(s.seen, tag)
		}
	}
}

// dueChecks picks, of the tags read before, the tagChecksPerList asked
// longest ago, if that was tagCheckEvery ago or more.
func (s *Served) dueChecks(tags []string) map[string]bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	var due []string
	for _, tag := range tags {
		if read, ok := s.seen[tag]; ok && time.Since(read.checked) >= tagCheckEvery {
			due = append(due, tag)
		}
	}
	slices.SortFunc(due, func(a, b string) int { return s.seen[a].checked.Compare(s.seen[b].checked) })
	out := map[string]bool{}
	for _, tag := range due[:min(len(due), tagChecksPerList)] {
		out[tag] = true
	}
	return out
}

// unsettled reports whether tag is an upload young enough that a racing
// upload of other bytes under its name may still replace it (Keep).
func unsettled(tag string, files []wheelhouse.Entry) bool {
	if !strings.HasPrefix(tag, "upload-") {
		return false
	}
	for _, e := range files {
		// An upload time ahead of this clock counts by how far ahead it
		// is, as one behind does: a time far in the future (another
		// server's clock gone wrong) must not keep a tag read again at
		// every list until then.
		if !e.UploadTime.IsZero() && time.Since(e.UploadTime).Abs() < uploadUnsettled {
			return true
		}
	}
	return false
}

// errUnreadableTag is a tag removed since it was listed, or whose
// manifest is not JSON.
var errUnreadableTag = errors.New("no such tag, or not a manifest")

// tagFiles reads the files of the wheelhouse tagged tag, and the digest
// of its manifest.
func (s *Served) tagFiles(ctx context.Context, tag string) (string, []wheelhouse.Entry, error) {
	raw, found, err := s.c.manifest(ctx, tag)
	if err != nil {
		return "", nil, err
	}
	if !found {
		return "", nil, fmt.Errorf("reading the wheelhouse %s of %s: %w", tag, s.c.ref, errUnreadableTag)
	}
	digest := sha256Hex(raw)
	var m v1.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return "", nil, fmt.Errorf("reading the wheelhouse %s of %s: %w: %w", tag, s.c.ref, errUnreadableTag, err)
	}
	if m.ArtifactType != ArtifactTypeWheelhouse {
		if slices.Contains(s.tags, tag) {
			return "", nil, fmt.Errorf("reading the wheelhouse %s of %s: artifact type %q, not a wheelhouse", tag, s.c.ref, m.ArtifactType)
		}
		return digest, nil, nil
	}
	var out []wheelhouse.Entry
	for _, d := range m.Layers {
		a := d.Annotations
		if d.MediaType != MediaTypeFile || a[AnnotationOf] != "" || d.Digest.Algorithm != "sha256" {
			continue
		}
		// The registry's word: no name, a name that climbs out or is a
		// path, or a size below zero, is no file of a wheelhouse (a
		// sha256 digest's hex was checked as it was decoded).
		if !wheelhouse.ValidFilename(a[AnnotationFilename]) || d.Size < 0 {
			continue
		}
		e := wheelhouse.Entry{
			Filename: a[AnnotationFilename], Project: a[AnnotationProject], Version: a[AnnotationVersion],
			SHA256: d.Digest.Hex, Size: d.Size, Private: a[AnnotationPrivate] == "true",
			Origin: wheelhouse.Origin{Kind: a[AnnotationOrigin], Uploader: a[AnnotationUploader]},
		}
		if t, err := time.Parse(time.RFC3339, a[AnnotationUploadTime]); err == nil {
			e.UploadTime = t
		}
		out = append(out, e)
	}
	return digest, out, nil
}

// Open reads the blob sha256; the server verifies it.
func (s *Served) Open(ctx context.Context, sum string) (io.ReadCloser, error) {
	rc, _, err := s.c.Get(ctx, sum)
	return rc, err
}

// UploadTag is the tag an upload kept by Keep is pushed under: one per
// file name (a tag cannot hold every file name), so that a second upload
// of the name finds the first.
func UploadTag(filename string) string { return hashTag("upload-", filename) }

// hashTag is prefix and the sha256 of s in hex: a tag for any string.
func hashTag(prefix, s string) string { return prefix + sha256Hex([]byte(s)) }

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// ProjectTag is the tag every upload of a project (a normalized name) is
// pushed under too, so that a server can ask whether the project has one.
func ProjectTag(project string) string { return hashTag("project-", project) }

// Kept reports whether an upload of the project was kept (Keep), with
// one HEAD request. A "no" is used for keptTTL; the servers asking about
// one name at once share one question, asked afresh once it is keptTTL
// old (a question started earlier may predate an upload), and at most
// keptQuestions are asked at once. A caller that gives up leaves its
// question to the others.
//
// The look-up of a "no", the joining of a question under way and the
// start of a new one are one step, and a question's "no" is remembered
// in the step that ends it: a caller cannot miss both, as it could when
// the question was forgotten before its caller asked again, or when the
// callers of one moment fell on either side of a keptTTL period.
func (s *Served) Kept(ctx context.Context, project string) (bool, error) {
	q, joined := s.question(ctx, project)
	if q == nil {
		return false, nil
	}
	if joined && s.testHookJoined != nil {
		s.testHookJoined(project)
	}
	select {
	case <-q.done:
		if q.err != nil {
			return false, fmt.Errorf("asking %s about uploads of %s: %w", s.c.ref, project, q.err)
		}
		return q.found, nil
	case <-ctx.Done():
		return false, fmt.Errorf("asking %s about uploads of %s: %w", s.c.ref, project, context.Cause(ctx))
	}
}

// question returns the question to wait for about project, and whether
// another caller asked it: the one under way if it started less than
// keptTTL ago, else a new one; nil when a "no" less than keptTTL old is
// known.
func (s *Served) question(ctx context.Context, project string) (q *keptQuestion, joined bool) {
	s.notKeptMu.Lock()
	defer s.notKeptMu.Unlock()
	if at, ok := s.notKept[project]; ok && time.Since(at) < keptTTL {
		return nil, false
	}
	if q, ok := s.asking[project]; ok {
		if time.Since(q.started) < keptTTL {
			return q, true
		}
		// Its answer, when it comes, is older than the new one's.
		q.stale = true
	}
	q = &keptQuestion{started: time.Now(), done: make(chan struct{})}
	if s.asking == nil {
		s.asking = map[string]*keptQuestion{}
	}
	s.asking[project] = q
	go s.ask(context.WithoutCancel(ctx), project, q)
	return q, false
}

// ask asks q, remembers its "no" from the moment it was asked, and then
// lets its callers go.
func (s *Served) ask(ctx context.Context, project string, q *keptQuestion) {
	found, asked, err := s.askKept(ctx, project)
	s.notKeptMu.Lock()
	if s.asking[project] == q {
		delete(s.asking, project)
	}
	if err == nil && !found && !q.stale {
		s.rememberNotKeptLocked(project, asked)
	}
	q.found, q.err = found, err
	s.notKeptMu.Unlock()
	close(q.done)
}

// askKept asks the registry whether the project's tag is there, and
// says when it was asked.
func (s *Served) askKept(ctx context.Context, project string) (found bool, asked time.Time, err error) {
	ctx, cancel := context.WithTimeout(ctx, keptQuestionTimeout)
	defer cancel()
	select {
	case s.questions <- struct{}{}:
		defer func() { <-s.questions }()
	case <-ctx.Done():
		return false, time.Time{}, context.Cause(ctx)
	}
	asked = time.Now()
	found, err = s.c.hasTag(ctx, ProjectTag(project))
	return found, asked, err
}

// rememberNotKeptLocked remembers a "no" asked at asked, unless one
// asked later is; when maxNotKept names are remembered, the expired ones
// are forgotten, and if none is, this one is not remembered (and asked
// again next time). s.notKeptMu is held.
func (s *Served) rememberNotKeptLocked(project string, asked time.Time) {
	if at, ok := s.notKept[project]; ok && at.After(asked) {
		return
	}
	if s.notKept == nil {
		s.notKept = map[string]time.Time{}
	}
	if len(s.notKept) >= maxNotKept {
		for p, at := range s.notKept {
			if time.Since(at) >= keptTTL {
				delete(s.notKept, p)
			}
		}
		if len(s.notKept) >= maxNotKept {
			return
		}
	}
	s.notKept[project] = asked
}

// forgetNotKept forgets a "no" about project, once an upload of it was
// kept here: the one remembered, and the one a question under way may
// yet bring, which may predate the upload; later callers ask again.
func (s *Served) forgetNotKept(project string) {
	s.notKeptMu.Lock()
	defer s.notKeptMu.Unlock()
	delete(s.notKept, project)
	if q, ok := s.asking[project]; ok {
		q.stale = true
		delete(s.asking, project)
	}
}

// hasTag reports whether tag names a manifest, with a HEAD request.
func (c *Cache) hasTag(ctx context.Context, tag string) (bool, error) {
	_, found, err := c.tagDigest(ctx, tag)
	return found, err
}

// tagDigest returns the sha256 (hex) of the manifest tag names, with a
// HEAD request.
func (c *Cache) tagDigest(ctx context.Context, tag string) (string, bool, error) {
	if c.dir != "" {
		raw, found, err := c.manifest(ctx, tag)
		if err != nil || !found {
			return "", found, err
		}
		return sha256Hex(raw), true, nil
	}
	rt, err := c.reader(ctx)
	if err != nil {
		return "", false, err
	}
	d, err := remote.Head(c.repo.Tag(tag), remote.WithContext(ctx), remote.WithTransport(rt))
	var te *transport.Error
	if errors.As(err, &te) && te.StatusCode == http.StatusNotFound {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("asking for %s of %s: %w", tag, c.ref, err)
	}
	return d.Digest.Hex, true, nil
}

// Keep pushes an upload (its bytes at path and, for a wheel, its core
// metadata) as a wheelhouse of its own tagged UploadTag, then its
// project's tag (ProjectTag), so that every server of the cache serves
// it. Other bytes already kept under the same file name fail it with an
// error wrapping serve.ErrConflict, and so do other bytes pushed under
// that name at the same time by another server, if the other push came
// last: the tag is asked for just before the push and read back
// uploadSettle after it (a registry cannot refuse a tag's second push),
// and only the bytes it then names get a project tag.
func (s *Served) Keep(ctx context.Context, e wheelhouse.Entry, path string, metadata []byte) error {
	tag := UploadTag(e.Filename)
	// A layout is held until the project's tag is written: the upload's
	// blobs are untagged until then.
	release, err := s.c.hold(ctx, true)
	if err != nil {
		return fmt.Errorf("keeping %s: %w", e.Filename, err)
	}
	defer release()
	if kept, err := s.keptBefore(ctx, e, tag); kept || err != nil {
		return err
	}
	layers, blobs, err := fileDescriptors(e, path, "")
	if err != nil {
		return err
	}
	for _, b := range blobs {
		if _, err := s.c.putIfAbsent(ctx, b.sum, b.path); err != nil {
			return fmt.Errorf("keeping %s in %s: %w", e.Filename, s.c.ref, tooLarge(err))
		}
	}
	if len(metadata) > 0 {
		mh, err := s.c.putBytes(ctx, metadata)
		if err != nil {
			return fmt.Errorf("keeping the metadata of %s in %s: %w", e.Filename, s.c.ref, tooLarge(err))
		}
		layers = append(layers, metadataDescriptor(e.Filename, mh, int64(len(metadata))))
	}
	if _, err := s.c.putBytes(ctx, []byte("{}")); err != nil {
		return fmt.Errorf("keeping %s in %s: %w", e.Filename, s.c.ref, err)
	}
	raw, err := wheelhouseManifest(layers, nil)
	if err != nil {
		return err
	}
	// Asked again now that the blobs are up: the window in which
	// another server's push can go unseen is one request long.
	if kept, err := s.keptBefore(ctx, e, tag); kept || err != nil {
		return err
	}
	if _, err := s.c.putManifest(ctx, raw, []string{tag}); err != nil {
		return fmt.Errorf("keeping %s: %w", e.Filename, err)
	}
	// From here the file's tag is in the registry: a failure leaves the
	// upload kept in part (serve.ErrPartlyKept), and keeping it again
	// completes it.
	if s.c.dir == "" {
		if err := sleep(ctx, uploadSettle); err != nil {
			return fmt.Errorf("keeping %s: %w: %w", e.Filename, serve.ErrPartlyKept, err)
		}
	}
	// The project's tag last, and only for the bytes the file's tag
	// names: once a server can see it, the file's is there.
	kept, err := s.keptBefore(ctx, e, tag)
	switch {
	case err != nil && !errors.Is(err, serve.ErrConflict):
		return fmt.Errorf("%w: %w", serve.ErrPartlyKept, err)
	case err == nil && !kept:
		return fmt.Errorf("keeping %s in %s: its tag %s is gone after the push", e.Filename, s.c.ref, tag)
	}
	return err
}

// tooLarge wraps serve.ErrTooLarge around a push the registry (or a proxy
// in front of it) refused with 413, so that the server tells the uploader
// the file is too large instead of "try again".
func tooLarge(err error) error {
	var te *transport.Error
	if errors.As(err, &te) && te.StatusCode == http.StatusRequestEntityTooLarge {
		return fmt.Errorf("%w: %w", serve.ErrTooLarge, err)
	}
	return err
}

// keptBefore reads the file's tag: kept is true when it names these
// bytes (whose project tag it then restores if a push cut short left it
// out), and the error wraps serve.ErrConflict when it names other bytes.
func (s *Served) keptBefore(ctx context.Context, e wheelhouse.Entry, tag string) (kept bool, err error) {
	raw, found, err := s.readRacedTag(ctx, tag)
	if err != nil || !found {
		if err != nil {
			err = fmt.Errorf("keeping %s in %s: %w", e.Filename, s.c.ref, err)
		}
		return false, err
	}
	var m v1.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return false, fmt.Errorf("keeping %s in %s: reading its tag %s: %w", e.Filename, s.c.ref, tag, err)
	}
	for _, d := range m.Layers {
		if d.MediaType != MediaTypeFile || d.Annotations[AnnotationFilename] != e.Filename {
			continue
		}
		if d.Digest.Hex != e.SHA256 {
			return false, fmt.Errorf("keeping %s in %s: %w (sha256 %s)", e.Filename, s.c.ref, serve.ErrConflict, d.Digest.Hex)
		}
		project := ProjectTag(e.Project)
		has, err := s.c.hasTag(ctx, project)
		if err != nil {
			return false, fmt.Errorf("keeping %s in %s: %w", e.Filename, s.c.ref, err)
		}
		if !has {
			if _, err := s.c.putManifest(ctx, raw, []string{project}); err != nil {
				return false, fmt.Errorf("keeping %s: %w", e.Filename, err)
			}
		}
		s.forgetNotKept(e.Project)
		return true, nil
	}
	return false, nil
}

// racedTagReads is how many times Keep reads the file's tag when the
// registry fails to answer: docker-registry's file system storage
// truncates a tag's link before writing it, so that about one read in
// ten of a tag being pushed fails with 500, and Keep reads the tag just
// when another server's racing push may be writing it.
const racedTagReads = 4

// readRacedTag reads the manifest tag names, again after a registry error
// (a status of 500 or more), up to racedTagReads times in all.
func (s *Served) readRacedTag(ctx context.Context, tag string) (raw []byte, found bool, err error) {
	for attempt := range racedTagReads {
		if attempt > 0 {
			if werr := sleep(ctx, 25*time.Millisecond<<attempt); werr != nil {
				return nil, false, fmt.Errorf("%w (then, waiting to read it again: %w)", err, werr)
			}
		}
		raw, found, err = s.c.manifest(ctx, tag)
		var te *transport.Error
		if !errors.As(err, &te) || te.StatusCode < http.StatusInternalServerError {
			return raw, found, err
		}
	}
	return raw, found, err
}

// wheelhouseTags lists the tags wheelhouses are pushed (sha256-*) and
// uploads kept (upload-*) under, each sorted.
func (c *Cache) wheelhouseTags(ctx context.Context) (locks, uploads []string, err error) {
	var all []string
	if c.dir != "" {
		tagged, err := c.layoutManifests()
		if err != nil {
			return nil, nil, fmt.Errorf("listing the tags of %s: %w", c.ref, err)
		}
		for _, d := range tagged {
			all = append(all, d.Annotations[annotationRefName])
		}
	} else {
		rt, err := c.reader(ctx)
		if err != nil {
			return nil, nil, err
		}
		all, err = listTags(ctx, c.repo, rt)
		var te *transport.Error
		if errors.As(err, &te) && te.StatusCode == http.StatusNotFound {
			// A repository nothing was pushed to yet holds no wheelhouse.
			return nil, nil, nil
		}
		if err != nil {
			return nil, nil, fmt.Errorf("listing the tags of %s: %w", c.ref, err)
		}
	}
	for _, t := range all {
		switch {
		case strings.HasPrefix(t, "sha256-") && len(t) == len("sha256-")+64:
			locks = append(locks, t)
		case strings.HasPrefix(t, "upload-") && len(t) == len("upload-")+64:
			uploads = append(uploads, t)
		}
	}
	sort.Strings(locks)
	sort.Strings(uploads)
	return locks, uploads, nil
}

// listTags lists the tags of repo, page by page as the registry's Link
// headers say, for at most maxTagPages pages and maxListedTags tags, and
// never the same page twice: a registry cannot keep a list going.
func listTags(ctx context.Context, repo name.Repository, rt http.RoundTripper) ([]string, error) {
	p, err := remote.NewPuller(remote.WithTransport(rt))
	if err != nil {
		return nil, err
	}
	l, err := p.Lister(ctx, repo)
	if err != nil {
		return nil, err
	}
	var all []string
	asked := map[string]bool{}
	for pages := 0; l.HasNext(); pages++ {
		if pages >= maxTagPages {
			return nil, fmt.Errorf("more than %d pages of tags", maxTagPages)
		}
		page, err := l.Next(ctx)
		if err != nil {
			return nil, err
		}
		all = append(all, page.Tags...)
		if len(all) > maxListedTags {
			return nil, fmt.Errorf("more than %d tags", maxListedTags)
		}
		if page.Next != "" {
			if asked[page.Next] {
				return nil, fmt.Errorf("the tag list's pages loop back to %s", page.Next)
			}
			asked[page.Next] = true
		}
	}
	return all, nil
}
