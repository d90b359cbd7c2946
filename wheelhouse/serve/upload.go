package serve

import (
	"archive/zip"
	"bufio"
	"compress/gzip"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime/multipart"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/larder-build/larder/internal/readlimit"
	"github.com/larder-build/larder/resolver/distname"
	"github.com/larder-build/larder/wheelhouse"
)

// uploader is the upload side of a Server: nil when uploads are off.
type uploader struct {
	store   *wheelhouse.Store
	release func() // ends the registration as a writer of store
	maxSize int64
	rate    *windowLimiter // uploads per user
	// slots bound the uploads checked and kept at once (each reads a
	// whole archive), taken once an upload has arrived whole; userSlots
	// bound each user's uploads under way, arriving included, so that a
	// user who trickles uploads holds up their own, never anyone's slot.
	slots     chan struct{}
	userMu    sync.Mutex
	userSlots map[string]chan struct{}
	// names makes "is this name taken?" and "take it" one step for each
	// file name (lockName), so that a slow push to a shared cache holds
	// up the uploads of that name only; storeMu serialises the writes to
	// store.
	names   sync.Map
	storeMu sync.Mutex
}

// uploadError is a refused upload: its status and what to tell the client.
type uploadError struct {
	status int
	msg    string
}

func (e *uploadError) Error() string { return e.msg }

// uploadForm is what the legacy upload API sends besides the file.
type uploadForm struct {
	fields   map[string]string
	filename string
	tmp      string // the content, in a temporary file of the store
	size     int64
	sha256   string
	md5      string
}

// knownFields are the form fields kept; the rest (description,
// classifiers...) are read and dropped.
var knownFields = map[string]bool{
	":action": true, "protocol_version": true, "name": true, "version": true, "filetype": true,
	"sha256_digest": true, "md5_digest": true,
}

// openWrites reads the htpasswd file and turns uploads on: what
// WithHtpasswd asks for.
func (s *Server) openWrites(store *wheelhouse.Store) error {
	var err error
	if s.auth, err = readHtpasswd(s.o.htpasswd); err != nil {
		return err
	}
	for _, r := range s.o.uploaders {
		for _, u := range r.users {
			if _, ok := s.auth.users[u]; !ok {
				return fmt.Errorf("uploaders %q: user %q is not in %s", r.glob, u, s.o.htpasswd)
			}
		}
	}
	if s.uploader, err = openUploader(store, s.o.maxUpload, len(s.auth.users)); err != nil {
		return err
	}
	s.checkAuth, s.serveUploads = s.auth.check, s.serveUpload
	return nil
}

// serveUpload answers the legacy upload API (twine upload, uv publish):
// a multipart POST of a distribution, checked and stored, or refused with
// nothing stored.
func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request) {
	u := s.uploader
	if u == nil {
		s.metrics.upload(uploadRefused, 0)
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "uploads are not enabled on this server", http.StatusMethodNotAllowed)
		return
	}
	// Every line names the client as the login limiter counts it (behind
	// a trusted proxy, the address it forwarded for), and the TCP peer.
	log := s.log.With("client", requestClient(r, s.o.trustedProxies), "remote", r.RemoteAddr)
	user, res := s.auth.check(r)
	if res != authOK {
		s.metrics.upload(uploadUnauthorized, 0)
		log.Warn("refusing an upload: no valid credentials", "user", user)
		challenge(w, res)
		return
	}
	if !u.rate.take(user) {
		s.metrics.upload(uploadRefused, 0)
		log.Warn("refusing an upload: the user's uploads this minute are used up", "user", user, "limit", uploadsPerMinute)
		w.Header().Set("Retry-After", "60")
		http.Error(w, fmt.Sprintf("user %s has made %d uploads this minute; try again in a minute", user, uploadsPerMinute), http.StatusTooManyRequests)
		return
	}
	us := &slot{slots: u.slotsOf(user)}
	if us.take(r.Context()) != nil {
		return
	}
	defer us.give()
	body := newIdleBody(w, r.Body)
	r.Body = body
	sl := &slot{slots: u.slots}
	defer sl.give()
	created, size, err := s.upload(r, user, sl)
	if err != nil && !body.eof {
		// An answer before the body's end (403 as soon as the form names
		// a project the user may not upload, 413, a disk failure): sent
		// at once, and the rest is not read, so that neither the answer
		// nor the handler waits on a client that trickles the rest.
		w.Header().Set("Connection", "close")
		_ = http.NewResponseController(w).SetReadDeadline(time.Now())
	}
	var ue *uploadError
	switch {
	case errors.As(err, &ue):
		result := uploadRefused
		if ue.status == http.StatusConflict {
			result = uploadConflict
		}
		s.metrics.upload(result, 0)
		log.Warn("refusing an upload", "user", user, "err", ue.msg)
		http.Error(w, ue.msg, ue.status)
	case err != nil && r.Context().Err() != nil:
		// The client went away (while the body was read, or while it
		// waited for another upload of its file name): nobody to answer,
		// and nothing wrong with the server.
		s.metrics.upload(uploadRefused, 0)
		log.Info("an upload ended with its client", "user", user, "err", err)
	case err != nil && diskFull(err):
		s.metrics.upload(uploadRefused, 0)
		log.Error("storing an upload failed: the disk is full", "user", user, "err", err)
		http.Error(w, "storing the upload failed: the server's disk is full", http.StatusInsufficientStorage)
	case err != nil:
		s.metrics.upload(uploadRefused, 0)
		log.Error("storing an upload failed", "user", user, "err", err)
		http.Error(w, "storing the upload failed", http.StatusInternalServerError)
	case created:
		s.metrics.upload(uploadStored, size)
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "OK\n")
	default:
		s.metrics.upload(uploadExisting, 0)
		io.WriteString(w, "OK (this file was uploaded before)\n")
	}
}

// diskFull reports whether err is a write that found no room: the disk
// full, or the server's quota of it used up.
func diskFull(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// upload reads, checks and stores one upload; created is false when the
// same file was there already.
func (s *Server) upload(r *http.Request, user string, sl *slot) (created bool, size int64, err error) {
	u := s.uploader
	// The right to upload the project is checked as soon as the form
	// names it (twine and uv send name and version before the content),
	// so that an upload the user may not make is refused before its
	// content arrives; a form that sends the content first is checked
	// once it has.
	mayName := func(name string) error {
		if norm := distname.NormalizeName(name); !mayUpload(s.o.uploaders, user, norm) {
			return refuse(http.StatusForbidden, "user %s may not upload project %s", user, norm)
		}
		return nil
	}
	form, err := u.readForm(r, mayName)
	if form != nil && form.tmp != "" {
		defer os.Remove(form.tmp) // a no-op once renamed into place
	}
	if err != nil {
		return false, 0, err
	}
	if err := form.check(); err != nil {
		return false, 0, err
	}
	if err := mayName(form.fields["name"]); err != nil {
		return false, 0, err
	}
	// The upload has arrived whole: its check is work, and takes a slot.
	if err := sl.take(r.Context()); err != nil {
		return false, 0, err
	}
	meta, err := inspectArchive(form.tmp, form.filename, form.size*maxUnpackedFactor)
	if err != nil {
		return false, 0, err
	}
	name, version, requiresPython, err := parseCoreMetadata(meta)
	if err != nil {
		return false, 0, refuse(http.StatusBadRequest, "%s: its core metadata: %v", form.filename, err)
	}
	fproject, fversion, _ := splitFilename(form.filename, distname.NormalizeName(form.fields["name"]))
	switch {
	case distname.NormalizeName(name) != distname.NormalizeName(fproject):
		return false, 0, refuse(http.StatusBadRequest, "%s: its metadata names project %q, its file name %q", form.filename, name, fproject)
	case !sameVersion(version, fversion):
		return false, 0, refuse(http.StatusBadRequest, "%s: its metadata says version %q, its file name %q", form.filename, version, fversion)
	case form.fields["version"] != "" && form.fields["version"] != version:
		return false, 0, refuse(http.StatusBadRequest, "%s: the form says version %q, its metadata %q", form.filename, form.fields["version"], version)
	}
	e := wheelhouse.Entry{
		Filename: form.filename, Project: distname.NormalizeName(name), Version: version,
		SHA256: form.sha256, Size: form.size, RequiresPython: requiresPython,
		UploadTime: s.o.now().UTC().Truncate(time.Second),
		Origin:     wheelhouse.Origin{Kind: wheelhouse.OriginUpload, Uploader: user},
		Private:    true,
	}
	if e.IsWheel() {
		e.MetadataSHA256 = sha256Hex(meta)
	}
	created, err = s.keepUpload(r.Context(), form.tmp, e, meta, sl)
	return created, form.size, err
}

// readForm streams the multipart form: the content into a temporary file of
// the store, hashed as it arrives; the fields into memory, bounded. The
// name field is passed to mayName as soon as it is read, and its error
// ends the read.
func (u *uploader) readForm(r *http.Request, mayName func(name string) error) (*uploadForm, error) {
	r.Body = http.MaxBytesReader(nil, r.Body, u.maxSize+maxFormBytes)
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, refuse(http.StatusBadRequest, "want a multipart/form-data upload: %v", err)
	}
	form := &uploadForm{fields: map[string]string{}}
	var fieldBytes int64
	for parts := 0; ; parts++ {
		if parts == maxFormParts {
			return form, refuse(http.StatusBadRequest, "more than %d form fields", maxFormParts)
		}
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return form, uploadReadError("reading the upload", err, u.maxSize)
		}
		field := p.FormName()
		if field == "content" {
			if form.tmp != "" {
				return form, refuse(http.StatusBadRequest, "more than one content field")
			}
			if err := u.readContent(p, form); err != nil {
				return form, err
			}
			continue
		}
		b, err := readlimit.ReadAll(p, maxFormField)
		var tooLarge *readlimit.TooLargeError
		switch {
		case errors.As(err, &tooLarge):
			return form, refuse(http.StatusRequestEntityTooLarge, "form field %q: %v", field, err)
		case err != nil:
			return form, uploadReadError("reading form field "+field, err, u.maxSize)
		}
		fieldBytes += int64(len(b))
		switch {
		case fieldBytes > maxFormBytes:
			return form, refuse(http.StatusRequestEntityTooLarge, "the form fields are larger than %d bytes", maxFormBytes)
		case knownFields[field]:
			form.fields[field] = strings.TrimSpace(string(b))
		}
		if field == "name" {
			if err := mayName(form.fields[field]); err != nil {
				return form, err
			}
		}
	}
	if form.tmp == "" {
		return form, refuse(http.StatusBadRequest, "no content field: nothing to upload")
	}
	return form, nil
}

// uploadReadError turns a body that ended early or ran over its limit into a
// refusal.
func uploadReadError(doing string, err error, limit int64) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return refuse(http.StatusRequestEntityTooLarge, "the upload is larger than %d bytes", limit)
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return refuse(http.StatusRequestTimeout, "%s: the upload stalled for %s or took over %s", doing, uploadIdleTimeout, uploadTimeout)
	}
	return refuse(http.StatusBadRequest, "%s: %v", doing, err)
}

// readContent streams the file into a temporary file of the store, named
// so that a writer's start-up clean-up removes it after a crash.
func (u *uploader) readContent(p *multipart.Part, form *uploadForm) error {
	name := p.FileName()
	if name == "" || name != path.Base(name) || !wheelhouse.ValidFilename(name) || !plainFilename(name) {
		return refuse(http.StatusBadRequest, "file name %q: not the name of a wheel or sdist", name)
	}
	if len(name) > wheelhouse.MaxSidecarName {
		return refuse(http.StatusBadRequest, "file name %q: %d bytes, over the %d this server stores", name, len(name), wheelhouse.MaxSidecarName)
	}
	form.filename = name
	// A name of its own, not the file's with a prefix and a suffix: a
	// file's name may take up to MaxSidecarName bytes, and the temporary
	// one must fit in 255 too. Every dot-name in files/ is a temporary one
	// the store's next first writer removes.
	tmp, err := wheelhouse.CreateTemp(filepath.Join(u.store.Dir(), wheelhouse.FilesDir), ".upload-*.tmp", 0o644)
	if err != nil {
		return fmt.Errorf("storing %s: %w", name, err)
	}
	form.tmp = tmp.Name()
	sha, md := sha256.New(), md5.New()
	disk := &writeRecorder{w: tmp}
	n, err := io.Copy(io.MultiWriter(disk, sha, md), io.LimitReader(p, u.maxSize+1))
	cerr := tmp.Close()
	switch {
	case disk.err != nil:
		// The store's disk failed (full, or an I/O error), not the
		// client's upload: the caller removes the temporary file.
		return fmt.Errorf("storing %s: %w", name, disk.err)
	case err != nil:
		return uploadReadError("reading "+name, err, u.maxSize)
	case cerr != nil:
		return fmt.Errorf("storing %s: %w", name, cerr)
	}
	if n > u.maxSize {
		return refuse(http.StatusRequestEntityTooLarge, "%s is larger than %d bytes", name, u.maxSize)
	}
	form.size = n
	form.sha256, form.md5 = hex.EncodeToString(sha.Sum(nil)), hex.EncodeToString(md.Sum(nil))
	return nil
}

// writeRecorder is a writer that keeps the first error of its writes,
// so that a copy's failure can be told apart from its source's.
type writeRecorder struct {
	w   io.Writer
	err error
}

func (r *writeRecorder) Write(p []byte) (int, error) {
	n, err := r.w.Write(p)
	if err != nil && r.err == nil {
		r.err = err
	}
	return n, err
}

// plainFilename reports whether a distribution's file name holds only
// what its parts may (ASCII letters and digits, and . _ + ! -): a name
// is shown on pages and written to disk, and a look-alike letter, a bidi
// override, markup or a space would pass the checks against the metadata
// (a wheel's tags and an sdist's version are not in it as such).
func plainFilename(name string) bool {
	for _, c := range name {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '.', c == '_', c == '+', c == '!', c == '-':
		default:
			return false
		}
	}
	return true
}

// check checks the form against itself: the action, the file name against
// the project and version fields and the file type, and every digest sent.
func (f *uploadForm) check() error {
	if a := f.fields[":action"]; a != "file_upload" {
		return refuse(http.StatusBadRequest, ":action %q: only file_upload is supported", a)
	}
	if v := f.fields["protocol_version"]; v != "" && v != "1" {
		return refuse(http.StatusBadRequest, "protocol_version %q: only 1 is supported", v)
	}
	norm := distname.NormalizeName(f.fields["name"])
	if !validProjectName(norm) {
		return refuse(http.StatusBadRequest, "name %q: not a valid project name", f.fields["name"])
	}
	wheel := strings.HasSuffix(f.filename, ".whl")
	if !wheel && !strings.HasSuffix(f.filename, ".tar.gz") && !strings.HasSuffix(f.filename, ".zip") {
		return refuse(http.StatusBadRequest, "%s: only wheels and .tar.gz or .zip sdists are accepted", f.filename)
	}
	project, version, ok := splitFilename(f.filename, norm)
	if !ok || distname.NormalizeName(project) != norm {
		return refuse(http.StatusBadRequest, "%s: not a file name of project %s", f.filename, norm)
	}
	if v := f.fields["version"]; v != "" && !sameVersion(v, version) {
		return refuse(http.StatusBadRequest, "%s: the form says version %q", f.filename, v)
	}
	switch ft := f.fields["filetype"]; {
	case ft == "":
	case wheel && ft != "bdist_wheel", !wheel && ft != "sdist":
		return refuse(http.StatusBadRequest, "%s: filetype %q does not match the file", f.filename, ft)
	}
	// blake2_256_digest (twine sends it too) is not checked: BLAKE2
	// would link golang.org/x/sys into larder-index, and the sha256 or
	// md5 next to it is.
	digests := []struct{ field, got string }{{"sha256_digest", f.sha256}, {"md5_digest", f.md5}}
	sent := 0
	for _, d := range digests {
		want := strings.ToLower(f.fields[d.field])
		if want == "" {
			continue
		}
		sent++
		if want != d.got {
			return refuse(http.StatusBadRequest, "%s: %s %s does not match the content received (%s)", f.filename, d.field, want, d.got)
		}
	}
	if sent == 0 {
		return refuse(http.StatusBadRequest, "%s: no sha256_digest or md5_digest sent", f.filename)
	}
	return nil
}

// sameVersion compares a version as written in metadata with one from a
// file name, where '-' is spelt '_' and case may differ.
func sameVersion(meta, file string) bool {
	norm := func(v string) string { return strings.ToLower(strings.ReplaceAll(v, "-", "_")) }
	return meta != "" && norm(meta) == norm(file)
}

// inspectArchive reads a distribution's core metadata, and checks every
// member of a wheel against its RECORD; it decompresses at most budget
// bytes.
func inspectArchive(p, filename string, budget int64) ([]byte, error) {
	f, size, err := wheelhouse.OpenRegularSize(p)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", filename, err)
	}
	defer f.Close()
	return inspectUpload(&uploadFile{f: f}, size, filename, budget)
}

// inspectUpload is inspectArchive over an upload opened (of size bytes).
// Once a read of it has failed, the answer is that failure, the
// server's fault, whatever the archive readers made of the upload.
func inspectUpload(u *uploadFile, size int64, filename string, budget int64) ([]byte, error) {
	budget = max(budget, 64<<20)
	var meta []byte
	var err error
	switch {
	case strings.HasSuffix(filename, ".whl"):
		meta, err = inspectWheel(u, size, filename, budget)
	case strings.HasSuffix(filename, ".zip"):
		meta, err = inspectZipSdist(u, size, filename)
	default:
		meta, err = inspectTarSdist(u, filename, budget)
	}
	if u.fault != nil {
		return nil, fmt.Errorf("reading %s: %w", filename, u.fault)
	}
	return meta, err
}

// openZip opens an uploaded zip archive, refusing one whose central
// directory lists too many members before archive/zip reads it.
func openZip(u *uploadFile, size int64, filename string) (*zip.Reader, error) {
	zr, err := readlimit.OpenZip(u, size, readlimit.MaxZipMembers)
	if err != nil {
		if tm := (*readlimit.TooManyMembersError)(nil); errors.As(err, &tm) {
			return nil, refuse(http.StatusBadRequest, "%s: %v", filename, err)
		}
		return nil, refuse(http.StatusBadRequest, "%s: not a zip archive: %v", filename, err)
	}
	return zr, nil
}

func inspectWheel(u *uploadFile, size int64, filename string, budget int64) ([]byte, error) {
	zr, err := openZip(u, size, filename)
	if err != nil {
		return nil, err
	}
	w, err := distname.ParseWheelName(filename)
	if err != nil {
		return nil, refuse(http.StatusBadRequest, "%s: %v", filename, err)
	}
	if err := checkMemberPaths(zr, filename); err != nil {
		return nil, err
	}
	// The .dist-info folder is named after the project and version as
	// the file name spells them (escaped as PEP 427 says), and is the
	// only one: installers disagree on which of two they would read.
	var distInfo, other string
	for _, f := range zr.File {
		dir, _, ok := strings.Cut(f.Name, "/")
		switch {
		case !ok || !strings.HasSuffix(dir, ".dist-info"), dir+"/" == distInfo, dir+"/" == other:
		case strings.EqualFold(strings.TrimSuffix(dir, ".dist-info"), escapeWheelPart(w.Name)+"-"+w.Version) && distInfo == "":
			distInfo = dir + "/"
		default:
			other = dir + "/"
		}
		if distInfo != "" && other != "" {
			return nil, refuse(http.StatusBadRequest, "%s: two .dist-info folders, %s and %s: a wheel has one", filename, distInfo, other)
		}
	}
	if distInfo == "" {
		return nil, refuse(http.StatusBadRequest, "%s: no %s-%s.dist-info folder", filename, escapeWheelPart(w.Name), w.Version)
	}
	members := map[string]*zip.File{}
	for _, f := range zr.File {
		if _, dup := members[f.Name]; dup {
			return nil, refuse(http.StatusBadRequest, "%s: member %s appears twice", filename, f.Name)
		}
		members[f.Name] = f
	}
	read := func(name string, limit int64) ([]byte, error) {
		f := members[name]
		if f == nil {
			return nil, refuse(http.StatusBadRequest, "%s: no %s", filename, name)
		}
		rc, err := f.Open()
		if err != nil {
			return nil, refuse(http.StatusBadRequest, "%s: reading %s: %v", filename, name, err)
		}
		defer rc.Close()
		return readMember(rc, filename, name, limit)
	}
	meta, err := read(distInfo+"METADATA", maxMetadataSize)
	if err != nil {
		return nil, err
	}
	record, err := read(distInfo+"RECORD", maxMetadataSize)
	if err != nil {
		return nil, err
	}
	rows, err := parseRecord(record)
	if err != nil {
		return nil, refuse(http.StatusBadRequest, "%s: reading %sRECORD: %v", filename, distInfo, err)
	}
	listed := map[string]bool{}
	for i, row := range rows {
		if len(row) != 3 {
			return nil, refuse(http.StatusBadRequest, "%s: %sRECORD line %d: want path,hash,size", filename, distInfo, i+1)
		}
		name, digest := row[0], row[1]
		listed[name] = true
		if digest == "" {
			if !isSignatureOrRecord(name, distInfo) {
				return nil, refuse(http.StatusBadRequest, "%s: %sRECORD line %d: %s has no hash", filename, distInfo, i+1, name)
			}
			continue
		}
		algo, want, _ := strings.Cut(digest, "=")
		if algo != "sha256" {
			return nil, refuse(http.StatusBadRequest, "%s: %sRECORD line %d: hash %s: only sha256 is checked", filename, distInfo, i+1, algo)
		}
		f := members[name]
		if f == nil {
			return nil, refuse(http.StatusBadRequest, "%s: %sRECORD lists %s, which the wheel does not hold", filename, distInfo, name)
		}
		got, n, err := hashMember(f, budget)
		if err != nil {
			return nil, refuse(http.StatusBadRequest, "%s: reading %s: %v", filename, name, err)
		}
		budget -= n
		if strings.TrimRight(want, "=") != got {
			return nil, refuse(http.StatusBadRequest, "%s: %s does not match its hash in RECORD", filename, name)
		}
	}
	for name := range members {
		if !strings.HasSuffix(name, "/") && !listed[name] && !isSignatureOrRecord(name, distInfo) {
			return nil, refuse(http.StatusBadRequest, "%s: %s is not listed in %sRECORD", filename, name, distInfo)
		}
	}
	return meta, nil
}

// escapeWheelPart spells a name as a wheel's file name and .dist-info
// folder do.
func escapeWheelPart(s string) string {
	return strings.NewReplacer("-", "_", ".", "_").Replace(s)
}

func isSignatureOrRecord(name, distInfo string) bool {
	return name == distInfo+"RECORD" || name == distInfo+"RECORD.jws" || name == distInfo+"RECORD.p7s"
}

// hashMember returns the unpadded urlsafe-base64 sha256 of a zip member,
// reading at most budget bytes.
func hashMember(f *zip.File, budget int64) (string, int64, error) {
	rc, err := f.Open()
	if err != nil {
		return "", 0, err
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(rc, budget+1))
	if err != nil {
		return "", n, err
	}
	if n > budget {
		return "", n, errors.New("the wheel unpacks to more bytes than the upload may")
	}
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)), n, nil
}

// checkMemberPaths refuses an archive with a member an installer would
// write outside its folder (distname.CheckMemberPath).
func checkMemberPaths(zr *zip.Reader, filename string) error {
	for _, f := range zr.File {
		if err := distname.CheckMemberPath(f.Name); err != nil {
			return refuse(http.StatusBadRequest, "%s: %v", filename, err)
		}
	}
	return nil
}

func inspectZipSdist(u *uploadFile, size int64, filename string) ([]byte, error) {
	zr, err := openZip(u, size, filename)
	if err != nil {
		return nil, err
	}
	if err := checkMemberPaths(zr, filename); err != nil {
		return nil, err
	}
	for _, f := range zr.File {
		if isPkgInfo(f.Name) {
			rc, err := f.Open()
			if err != nil {
				return nil, refuse(http.StatusBadRequest, "%s: reading %s: %v", filename, f.Name, err)
			}
			defer rc.Close()
			return readMember(rc, filename, f.Name, maxMetadataSize)
		}
	}
	return nil, refuse(http.StatusBadRequest, "%s: no PKG-INFO at the top of the sdist", filename)
}

func inspectTarSdist(u *uploadFile, filename string, budget int64) ([]byte, error) {
	gz, err := gzip.NewReader(bufio.NewReader(u))
	if err != nil {
		return nil, refuse(http.StatusBadRequest, "%s: not a gzip archive: %v", filename, err)
	}
	// Every member's path is checked, past PKG-INFO too: to the end of
	// the archive, within budget.
	meta, err := findInTar(&capReader{r: gz, n: budget, over: errTooLargeUnpacked}, isPkgInfo, maxMetadataSize, distname.CheckMemberPath)
	switch {
	case errors.Is(err, errNotInTar):
		return nil, refuse(http.StatusBadRequest, "%s: no PKG-INFO at the top of the sdist", filename)
	case err != nil:
		return nil, refuse(http.StatusBadRequest, "%s: %v", filename, err)
	}
	return meta, nil
}

// isPkgInfo reports whether an sdist member is the top folder's PKG-INFO.
func isPkgInfo(name string) bool {
	dir, rest, ok := strings.Cut(strings.TrimPrefix(name, "./"), "/")
	return ok && dir != "" && rest == "PKG-INFO"
}

// readMember reads an archive member of at most limit bytes, refusing the
// upload that holds a longer or unreadable one.
func readMember(r io.Reader, filename, member string, limit int64) ([]byte, error) {
	b, err := readlimit.ReadAll(r, limit)
	if err != nil {
		return nil, refuse(http.StatusBadRequest, "%s: reading %s: %v", filename, member, err)
	}
	return b, nil
}

// parseCoreMetadata returns the Name, Version and Requires-Python of core
// metadata (RFC 822 headers, up to the first blank line). A header that
// holds one value (these three and Metadata-Version) given twice is an
// error naming it: pip reads the first, a reader that keeps the last
// another project or version.
func parseCoreMetadata(b []byte) (name, version, requiresPython string, err error) {
	seen := map[string]bool{}
	for line := range strings.SplitSeq(string(b), "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "" {
			break
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		key := strings.ToLower(k)
		switch key {
		case "metadata-version", "name", "version", "requires-python":
			if seen[key] {
				return "", "", "", fmt.Errorf("the %s header appears twice: it holds one value", k)
			}
			seen[key] = true
		}
		switch key {
		case "name":
			name = v
		case "version":
			version = v
		case "requires-python":
			requiresPython = v
		}
	}
	return name, version, requiresPython, nil
}

// keepTimeout bounds how long an upload waits for the shared cache.
const keepTimeout = 5 * time.Minute

// keepUpload renames a checked upload into the store, with its metadata
// sidecar for a wheel, and lists it; a file of the same name is answered
// by comparing hashes. On any failure nothing new stays in the store.
func (s *Server) keepUpload(ctx context.Context, tmp string, e wheelhouse.Entry, meta []byte, sl *slot) (bool, error) {
	u := s.uploader
	unlock, err := u.lockName(ctx, e.Filename, sl)
	if err != nil {
		return false, err
	}
	defer unlock()
	old, listed, err := s.existing(e.Filename)
	switch {
	case err != nil:
		return false, err
	case old != nil && old.SHA256 != e.SHA256:
		return false, refuse(http.StatusConflict, "%s exists with different content (sha256 %s); files are immutable: upload a new version", e.Filename, old.SHA256)
	case old != nil && listed && s.keepsUploads() && s.baked.files[e.Filename] == nil && s.shared.Load().files[e.Filename] != nil:
		// The same bytes as a shared cache's file (of a lock's
		// wheelhouse, or another server's upload): kept as an upload
		// there too, so that every server learns its project is private.
		if err := s.keepShared(ctx, tmp, e, meta); err != nil {
			return false, err
		}
		s.keptNames.Store(e.Project, true)
		s.cacheGen.Add(1)
		return false, nil
	case old != nil && listed:
		return false, nil
	}
	if err := s.keepShared(ctx, tmp, e, meta); err != nil {
		return false, err
	}
	// Not there, or there with the same bytes but unlisted (a server
	// killed between the rename and the manifest): listed now.
	u.storeMu.Lock()
	defer u.storeMu.Unlock()
	final := u.store.Path(e.Filename)
	metaPath := ""
	if e.IsWheel() {
		metaPath = u.store.MetadataPath(e.Filename)
		if err := wheelhouse.WriteFileAtomic(metaPath, meta, 0o644); err != nil {
			return false, fmt.Errorf("storing the metadata of %s: %w", e.Filename, err)
		}
	}
	if err := os.Rename(tmp, final); err != nil {
		if metaPath != "" {
			os.Remove(metaPath)
		}
		return false, fmt.Errorf("storing %s: %w", e.Filename, err)
	}
	if err := u.store.Put(e); err != nil {
		u.store.Remove(e.Filename)
		return false, fmt.Errorf("storing %s: %w", e.Filename, err)
	}
	if err := u.store.Commit(); err != nil {
		u.store.Remove(e.Filename)
		return false, fmt.Errorf("storing %s: %w", e.Filename, err)
	}
	lf := &localFile{entry: e, project: e.Project, path: final, metaPath: metaPath, kind: kindUploaded}
	if metaPath != "" {
		lf.metaSHA = e.MetadataSHA256
	}
	s.uploadedNames.Store(e.Project, true)
	s.cacheMu.Lock()
	s.uploaded.add(lf)
	s.cacheMu.Unlock()
	s.cacheGen.Add(1)
	return true, nil
}

// keepsUploads reports whether the shared cache keeps uploads (Keeper).
func (s *Server) keepsUploads() bool {
	_, ok := s.o.shared.(Keeper)
	return ok
}

// keepShared keeps an upload in the shared cache, if it keeps uploads,
// before the server keeps it, so that every server of the cache serves
// it: one that will not take it leaves nothing stored here.
func (s *Server) keepShared(ctx context.Context, tmp string, e wheelhouse.Entry, meta []byte) error {
	k, ok := s.o.shared.(Keeper)
	if !ok {
		return nil
	}
	// Not cut short by the client: a push half done (the file's tag
	// without the project's) would leave the upload private on this
	// server only.
	kctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), keepTimeout)
	err := k.Keep(kctx, e, tmp, meta)
	cancel()
	switch {
	case errors.Is(err, ErrConflict):
		return refuse(http.StatusConflict, "%s exists in the shared cache with different content; files are immutable: upload a new version", e.Filename)
	case errors.Is(err, ErrTooLarge):
		s.log.Warn("the shared cache refused an upload as too large", "file", e.Filename, "size", e.Size, "err", err)
		return refuse(http.StatusRequestEntityTooLarge, "the shared cache refused %s (%d bytes) as too large: nothing was stored; ask the server's operator to raise its registry's limit", e.Filename, e.Size)
	case errors.Is(err, ErrPartlyKept):
		s.log.Warn("the shared cache kept an upload only in part", "file", e.Filename, "err", err)
		return refuse(http.StatusServiceUnavailable, "the shared cache kept %s only in part (other servers may serve it already): upload it again to complete it", e.Filename)
	case err != nil:
		s.log.Warn("the shared cache did not keep an upload", "file", e.Filename, "err", err)
		return refuse(http.StatusServiceUnavailable, "the shared cache did not keep %s: nothing was stored; try again", e.Filename)
	}
	return nil
}

// lockName waits until no other upload of the file name is being kept,
// or ctx ends, and holds the name until unlock. Waiting is not work: the
// caller's upload slot (sl, when given) goes back while it waits and is
// taken again before the name is held, so that uploads of one name
// waiting behind a slow push cannot hold every slot and stall the
// uploads of other names.
func (u *uploader) lockName(ctx context.Context, filename string, sl *slot) (unlock func(), err error) {
	held := make(chan struct{})
	for {
		other, taken := u.names.LoadOrStore(filename, held)
		if !taken {
			return func() {
				u.names.Delete(filename)
				close(held)
			}, nil
		}
		if sl != nil {
			sl.give()
		}
		select {
		case <-other.(chan struct{}):
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for another upload of %s: %w", filename, context.Cause(ctx))
		}
		if sl != nil {
			if err := sl.take(ctx); err != nil {
				return nil, fmt.Errorf("waiting for another upload of %s: %w", filename, err)
			}
		}
	}
}

// slotsOf returns the slots of user's uploads under way.
func (u *uploader) slotsOf(user string) chan struct{} {
	u.userMu.Lock()
	defer u.userMu.Unlock()
	// Bounded by the htpasswd file's users: only they get here.
	c := u.userSlots[user]
	if c == nil {
		c = make(chan struct{}, uploadsPerUser)
		u.userSlots[user] = c
	}
	return c
}

// slot is one request's share of a bounded number of uploads: taken and
// given back, never given twice.
type slot struct {
	slots chan struct{}
	held  bool
}

// take waits for a free slot, or for ctx to end.
func (sl *slot) take(ctx context.Context) error {
	select {
	case sl.slots <- struct{}{}:
		sl.held = true
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// give hands the slot back, when held.
func (sl *slot) give() {
	if sl.held {
		sl.held = false
		<-sl.slots
	}
}

// existing returns the entry of a file of that name the server has or the
// store has (another process may have written it), or nil; listed is
// false for a file on disk that no manifest lists, whose hash is read. A
// file there that cannot be read is an error: whether it holds the
// upload's bytes cannot be told.
func (s *Server) existing(filename string) (e *wheelhouse.Entry, listed bool, err error) {
	if lf := s.baked.files[filename]; lf != nil {
		return &lf.entry, true, nil
	}
	// A shared cache's file is listed as a local one: an upload of other
	// bytes under its name would list the name twice.
	if lf := s.shared.Load().files[filename]; lf != nil {
		return &lf.entry, true, nil
	}
	s.cacheMu.RLock()
	lf := s.uploaded.files[filename]
	s.cacheMu.RUnlock()
	if lf != nil {
		return &lf.entry, true, nil
	}
	if err := s.uploader.store.Refresh(); err != nil {
		s.log.Warn("re-reading the wheelhouse manifest", "err", err)
	}
	if e, ok := s.uploader.store.Lookup(filename); ok {
		return &e, true, nil
	}
	// A file no manifest lists: a fetch about to list it, or a killed
	// server's. It is never overwritten with other bytes.
	sum, err := hashFile(s.uploader.store.Path(filename), s.uploader.maxSize)
	switch {
	case errors.Is(err, errTooLarge):
		// Larger than any upload may be: not the upload's bytes.
		sum = "of a file larger than " + strconv.FormatInt(s.uploader.maxSize, 10) + " bytes"
	case errors.Is(err, fs.ErrNotExist):
		return nil, false, nil // removed since
	case err != nil:
		return nil, false, fmt.Errorf("reading the earlier %s, unlisted, to compare it with the upload: %w", filename, err)
	}
	return &wheelhouse.Entry{Filename: filename, SHA256: sum}, false, nil
}

// idleBody is an upload's body whose read deadline moves with each read:
// a slow upload goes on, a stalled one is cut, and none outlasts
// uploadTimeout. eof is whether it was read to its end.
type idleBody struct {
	io.ReadCloser
	rc  *http.ResponseController
	end time.Time
	eof bool
}

func newIdleBody(w http.ResponseWriter, body io.ReadCloser) *idleBody {
	b := &idleBody{ReadCloser: body, rc: http.NewResponseController(w), end: time.Now().Add(uploadTimeout)}
	b.extend()
	return b
}

func (b *idleBody) extend() {
	// Not every ResponseWriter supports deadlines (httptest's recorder);
	// the server's ReadTimeout then stays.
	d := time.Now().Add(uploadIdleTimeout)
	if d.After(b.end) {
		d = b.end
	}
	_ = b.rc.SetReadDeadline(d)
}

func (b *idleBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.extend()
	}
	if err == io.EOF {
		b.eof = true
	}
	return n, err
}

// openUploader registers the server as a writer of store for its life.
// users is the number of users of the htpasswd file: the uploads a
// minute are counted by user, and only they get to be counted, so the
// limiter tracks every one of them (a fixed bound let the users past it
// upload without a limit).
func openUploader(store *wheelhouse.Store, maxSize int64, users int) (*uploader, error) {
	if store == nil {
		return nil, errors.New("uploads need a wheelhouse folder to store them in")
	}
	ctx, cancel := context.WithTimeout(context.Background(), cacheLockWait)
	defer cancel()
	release, err := store.BeginWrite(ctx)
	if err != nil {
		return nil, fmt.Errorf("opening the wheelhouse for uploads: %w", err)
	}
	rate := newWindowLimiter(uploadsPerMinute, time.Minute)
	rate.maxKeys = max(users, 1)
	return &uploader{store: store, release: release, maxSize: maxSize,
		rate: rate, slots: make(chan struct{}, uploadSlots),
		userSlots: map[string]chan struct{}{}}, nil
}
