// Command pulumi-resource-kubernetes serves the Pulumi Kubernetes provider.
//
// The upstream command embeds files that its repository generates and ignores,
// so they are missing from the module; build-toolchain.sh writes them here
// (see internal/embedgen) before building.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema-embed.json
var schema []byte

//go:embed terraform-mapping-embed.json
var terraformMapping []byte

func main() {
	provider.Serve("kubernetes", version.Version, schema, terraformMapping)
}
