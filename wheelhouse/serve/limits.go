package serve

import "time"

// Limits on what clients and the upstream may send, and on what the
// server keeps of it: larder-index runs inside containers with little
// memory, and must stay well under 100 MB whatever an upstream sends.
const (
	// maxPageSize bounds a project page as sent. PyPI's largest project
	// pages (thousands of files at about 700 bytes of JSON each) are a few
	// MiB; 16 MiB leaves room for growth and for the more verbose HTML.
	// Pages are read as a stream, so this bounds time and traffic, not
	// memory.
	maxPageSize = 16 << 20
	// maxPageBytes bounds what a parsed page takes in memory (estimated
	// by pageParser): about 16,000 files, twice the files of PyPI's
	// largest pages. A real page keeps less than it was sent; a hostile
	// one made of the shortest valid entries would keep several times
	// more, and is cut off here.
	maxPageBytes = 8 << 20
	// maxMissing bounds the names the upstream has no page for that are
	// remembered (for the page TTL, the oldest forgotten first past it),
	// kept apart from the pages: 16 bytes of a hash and 8 of a time each,
	// 1 MB or so in all, whatever the names' length, and a client asking
	// for random names never pushes a real page out of the cache.
	maxMissing = 16384
	// maxFetchesPerClient bounds the upstream pages one client address
	// (clientKey; behind a trusted proxy, the client it forwarded for)
	// has fetched at once, from a request until the fetch ends, whether
	// the client stayed for it or not; more wait for one to end. Pages
	// cached and fetches others started cost no slot. A fall-through
	// file's PEP 658 metadata fetched upstream takes one of these slots
	// too, while its request lasts: like a page, a resolver's small
	// request, bounded by the page timeout.
	maxFetchesPerClient = 8
	// maxDownloadsPerClient bounds the fall-through files one client
	// downloads from the upstream at once, each for as long as it
	// streams; more wait for one to end, as long as their requests
	// last. Slots of their own, not the pages': a client's downloads
	// of large wheels, which may each stream for minutes, do not hold
	// up its resolution's pages, nor its pages its downloads.
	maxDownloadsPerClient = 8
	// pageCacheBytes bounds the parsed pages kept, least recently used
	// going first; maxPages bounds their number (the names the upstream
	// has no page for are kept apart: maxMissing).
	pageCacheBytes = 16 << 20
	maxPages       = 4096
	// maxParses bounds pages read and parsed at once, so that the pages
	// being parsed add at most maxParses*maxPageBytes. A parsed page is
	// then held only while requests write it, as a stream.
	maxParses       = 2
	maxMetadataSize = 16 << 20
	// One HTML tag of a page read as a stream is bounded by
	// simple.MaxTagSize.

	// Uploads (larder serve --htpasswd):

	// DefaultMaxUpload is the largest distribution accepted.
	DefaultMaxUpload = 100 << 20
	// maxFormField bounds one form field (twine sends the long
	// description as one); maxFormBytes all of them; maxFormParts their
	// number.
	maxFormField = 1 << 20
	maxFormBytes = 4 << 20
	maxFormParts = 256
	// uploadsPerMinute bounds one user's uploads.
	uploadsPerMinute = 60
	// uploadSlots bounds the uploads checked and kept at once: each reads
	// a whole archive. An upload takes one once it has arrived whole.
	uploadSlots = 4
	// uploadsPerUser bounds one user's uploads under way, arriving,
	// checked or waiting for another upload of their file name: a user
	// who trickles uploads waits for their own, and the uploads arriving
	// at once, each in a temporary file of up to --max-upload bytes, are
	// bounded by the htpasswd file's users. Twice uploadSlots, so that
	// one user's uploads waiting on a slow push of one name leave that
	// user room to upload others.
	uploadsPerUser = 2 * uploadSlots
	// maxUnpackedFactor bounds the bytes an archive check decompresses, as
	// a multiple of the upload's size (a zip bomb is refused, not read).
	maxUnpackedFactor = 20
	// uploadIdleTimeout cuts an upload that sends nothing this long;
	// uploadTimeout bounds the whole of one. The server's ReadTimeout (a
	// minute) is right for reads, not for 100 MiB over a slow link.
	uploadIdleTimeout = 60 * time.Second
	uploadTimeout     = 30 * time.Minute
)
