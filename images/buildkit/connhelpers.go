package buildkit

// The address schemes of BuildKit's connection helpers, beside unix://
// and tcp://: docker-container:// (a docker buildx builder),
// podman-container://, nerdctl-container://, kube-pod:// and ssh://. Each
// registers itself; the helpers run the matching CLI (docker, podman,
// nerdctl, kubectl, ssh) to reach buildctl dial-stdio in the builder.
import (
	_ "github.com/moby/buildkit/client/connhelper/dockercontainer"
	_ "github.com/moby/buildkit/client/connhelper/kubepod"
	_ "github.com/moby/buildkit/client/connhelper/nerdctlcontainer"
	_ "github.com/moby/buildkit/client/connhelper/podmancontainer"
	_ "github.com/moby/buildkit/client/connhelper/ssh"
)
