package images

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/types"
)

// TestAManifestNamingAHugeConfigIsRefusedBeforeTheConfigIsRead: a
// registry's manifest says how long its config is, and the config would
// be read whole into memory; a hostile registry naming gigabytes is
// refused from the manifest alone, for an image and for an index's.
func TestAManifestNamingAHugeConfigIsRefusedBeforeTheConfigIsRead(t *testing.T) {
	reg := newRegistry(t)
	put := func(ref, mediaType string, body []byte) {
		req, _ := http.NewRequest(http.MethodPut, reg.URL+"/v2/evil/app/manifests/"+ref, bytes.NewReader(body))
		req.Header.Set("Content-Type", mediaType)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			t.Fatalf("PUT %s: %s", ref, resp.Status)
		}
	}
	const huge = 64 << 30
	manifest := []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"config":{"mediaType":%q,"size":%d,"digest":"sha256:%s"},"layers":[]}`,
		types.OCIManifestSchema1, types.OCIConfigJSON, huge, strings.Repeat("a", 64)))
	put("image", string(types.OCIManifestSchema1), manifest)
	sum := sha256.Sum256(manifest)
	index := []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"manifests":[{"mediaType":%q,"size":%d,"digest":"%s","platform":{"os":"linux","architecture":"amd64"}}]}`,
		types.OCIImageIndex, types.OCIManifestSchema1, len(manifest), "sha256:"+hex.EncodeToString(sum[:])))
	put("index", string(types.OCIImageIndex), index)

	for _, tag := range []string{"image", "index"} {
		t.Run(tag, func(t *testing.T) {
			reg.reset()
			src := openOutput(t, mustRef(t, "docker://"+reg.host()+"/evil/app:"+tag))
			_, err := src.ForPlatform("linux/amd64")
			if err == nil || !strings.Contains(err.Error(), "config of 68719476736 bytes") {
				t.Errorf("err %v, want the config's size refused", err)
			}
			for _, l := range reg.requests() {
				if strings.Contains(l, "/blobs/") {
					t.Errorf("the config was asked for: %s", l)
				}
			}
		})
	}
}
