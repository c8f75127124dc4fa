#!/usr/bin/env bash
# Destroys stack `local` and stops the local control plane started by local-up.sh.
set -euo pipefail
scripts_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$scripts_dir/.."
. "$scripts_dir/pulumi-env.sh"
if "$scripts_dir/cluster.sh" status >/dev/null 2>&1 && pulumi stack select local --non-interactive 2>/dev/null; then
	"$scripts_dir/pulumi-run.sh" destroy --yes --skip-preview --non-interactive --stack local
fi
"$scripts_dir/cluster.sh" stop
