package layers

import (
	"context"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sync/errgroup"
)

// Kinds of the parts of a stack.
const (
	KindBucket = "bucket"
	KindIndex  = "index"
	KindPages  = "pages"
	KindDelta  = "delta"
)

// Part is one layer of a platform's wheelhouse stack.
type Part struct {
	Kind string
	// Bucket is set for bucket layers.
	Bucket *BucketRecord
	// Layer is the built layer; nil when Reused.
	Layer *Layer
	// Reused says the layer is the previous image's, found by DiffID.
	Reused bool
	DiffID v1.Hash
	// Files and Bytes count the wheelhouse files (sidecars aside) the
	// layer adds.
	Files int
	Bytes int64
	// Comment says what the layer holds, for the image's history.
	Comment string
}

// Built is a platform's stack of layers, bottom up, and the layout to
// record in its image.
type Built struct {
	Platform string
	Parts    []Part
	Layout   *Layout
}

// BuildStacks builds the layers of every stack of the plan, bottom up:
// the buckets, then the larder-index layer of index[platform] (when
// given), then the pages layer, then the delta. Reused buckets and pages
// layers are not built; a bucket shared by several stacks (every pure
// bucket) is built once. Layers are built WithJobs at once.
func (b *Builder) BuildStacks(ctx context.Context, plan *Plan, c Content, index map[string][]File) ([]Built, error) {
	type work struct {
		files []File
		layer *Layer
		pages *pagesRecord // what a pages layer holds, to remember
	}
	todo := map[string]*work{}
	var order []string
	need := func(files []File) *work {
		k := b.key(files)
		if w, ok := todo[k]; ok {
			return w
		}
		w := &work{files: files}
		todo[k] = w
		order = append(order, k)
		return w
	}
	type pending struct {
		part Part
		w    *work
	}
	// What each stack's kept pages layer holds is read for every stack
	// at once (from a previous image on a registry, each is a download),
	// while the index made ahead may still be in the making.
	type keptPart struct {
		rec    *pagesRecord
		diffID v1.Hash
	}
	// One layer kept by several stacks (every platform's, when all the
	// wheels are pure) is read once.
	kepts := make([]keptPart, len(plan.Stacks))
	firstOf := map[string]int{}
	kg, kctx := errgroup.WithContext(ctx)
	kg.SetLimit(b.jobs)
	for i := range plan.Stacks {
		if p := plan.Stacks[i].Pages; p != nil {
			if _, seen := firstOf[p.DiffID]; seen {
				continue
			}
			firstOf[p.DiffID] = i
		}
		kg.Go(func() error {
			rec, diffID, err := b.keptPages(kctx, c, &plan.Stacks[i])
			kepts[i] = keptPart{rec, diffID}
			return err
		})
	}
	if err := kg.Wait(); err != nil {
		return nil, err
	}
	for i := range plan.Stacks {
		if p := plan.Stacks[i].Pages; p != nil {
			kepts[i] = kepts[firstOf[p.DiffID]]
		}
	}
	stacks := make([][]pending, len(plan.Stacks))
	for i := range plan.Stacks {
		s := &plan.Stacks[i]
		for _, bk := range s.Buckets {
			rec := bk.BucketRecord
			p := Part{Kind: KindBucket, Bucket: &rec, Reused: bk.Reused, Files: len(bk.Files), Bytes: bk.Bytes()}
			p.Comment = fmt.Sprintf("larder: wheelhouse bucket %s, %d files, %s", rec, p.Files, megabytes(p.Bytes))
			if bk.Reused {
				h, err := v1.NewHash(rec.DiffID)
				if err != nil {
					return nil, fmt.Errorf("bucket %s of the previous image: %w", rec, err)
				}
				p.DiffID = h
				stacks[i] = append(stacks[i], pending{part: p})
				continue
			}
			files, err := c.BucketFiles(s, bk)
			if err != nil {
				return nil, err
			}
			stacks[i] = append(stacks[i], pending{part: p, w: need(files)})
		}
		if files, ok := index[s.Platform]; ok {
			p := Part{Kind: KindIndex, Comment: "larder: larder-index " + IndexBinaryPath + " and " + IndexConfigPath}
			stacks[i] = append(stacks[i], pending{part: p, w: need(files)})
		}
		kept, keptID := kepts[i].rec, kepts[i].diffID
		ix, err := c.index(s)
		if err != nil {
			return nil, err
		}
		// A kept layer's history says what it holds, not what the image
		// now does.
		if kept != nil {
			p := Part{Kind: KindPages, Comment: pagesComment(kept), Reused: true, DiffID: keptID}
			stacks[i] = append(stacks[i], pending{part: p})
		} else {
			pages, rec := ix.all()
			w := need(pages)
			w.pages = rec
			stacks[i] = append(stacks[i], pending{part: Part{Kind: KindPages, Comment: pagesComment(rec)}, w: w})
		}
		files, err := c.deltaFiles(s, ix, kept)
		if err != nil {
			return nil, err
		}
		p := Part{Kind: KindDelta, Files: len(s.Delta), Bytes: total(s.Delta)}
		p.Comment = fmt.Sprintf("larder: wheelhouse delta, %d files added (%s), %d removed; manifest of %d files, pages changed since the pages layer",
			len(s.Delta), megabytes(p.Bytes), len(s.Removed), len(s.Entries))
		stacks[i] = append(stacks[i], pending{part: p, w: need(files)})
	}

	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(b.jobs)
	for _, k := range order {
		w := todo[k]
		g.Go(func() error {
			for _, f := range w.files {
				if err := f.check(); err != nil {
					return err
				}
			}
			l, err := b.build(gctx, k, w.files)
			w.layer = l
			return err
		})
	}
	if err := g.Wait(); err != nil {
		// Nothing of this call goes on behind the caller's back.
		for _, w := range todo {
			if w.layer != nil {
				w.layer.Sync()
			}
		}
		return nil, err
	}

	out := make([]Built, len(plan.Stacks))
	for i, ps := range stacks {
		out[i] = Built{Platform: plan.Stacks[i].Platform, Layout: &Layout{Version: layoutVersion}}
		for _, p := range ps {
			part := p.part
			if p.w != nil {
				part.Layer = p.w.layer
				part.DiffID = p.w.layer.diffID
			}
			if part.Kind == KindPages {
				out[i].Layout.Pages = &PagesLayer{DiffID: part.DiffID.String()}
				if p.w != nil {
					b.rememberPages(part.DiffID, *p.w.pages)
				}
			}
			if part.Bucket != nil {
				part.Bucket.DiffID = part.DiffID.String()
				out[i].Layout.Buckets = append(out[i].Layout.Buckets, *part.Bucket)
			}
			out[i].Parts = append(out[i].Parts, part)
		}
	}
	return out, nil
}

// pagesComment is the history comment of a pages layer holding rec.
func pagesComment(rec *pagesRecord) string {
	return fmt.Sprintf("larder: simple index of %d projects", len(rec.Projects))
}

// megabytes formats a size for history comments.
func megabytes(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }
