#!/usr/bin/env bash
# Lints the GitHub workflows with actionlint, built from the Go module proxy into the tools cache on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
version=v1.7.12
bin_dir=${MESH_TENANCY_TOOLS_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/mesh-tenancy/tools}/actionlint-$version
if [ ! -x "$bin_dir/actionlint" ]; then
	echo "lint-workflows: building actionlint $version" >&2
	GOBIN="$bin_dir" GOFLAGS=-mod=mod go install "github.com/rhysd/actionlint/cmd/actionlint@$version"
fi
"$bin_dir/actionlint" -no-color .github/workflows/*.yml
echo "lint-workflows: $(ls .github/workflows/*.yml | wc -l) workflows pass actionlint $version"
