#!/usr/bin/env bash
# `npm run bench:istiod -- [N...]`: bench/istiod.ts with the toolchain on PATH (built on first use).
# `npm run bench:istiod -- --churn [--proxies P] [--window S] [--interval S] [--rate R] [--setups a,b,c] [N...]`:
# bench/istiodChurn.ts, a fleet of proxies through `xds-probe fleet` while the estate changes.
set -euo pipefail
scripts_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../scripts" && pwd)
cd "$scripts_dir/.."
export MESH_TENANCY_CLUSTER_DIR=${TMPDIR:-/tmp}/mesh-tenancy-bench-istiod-env
# shellcheck source=../scripts/pulumi-env.sh
. "$scripts_dir/pulumi-env.sh"
if [ "${1:-}" = --churn ]; then
	shift
	exec npx ts-node --transpile-only bench/istiodChurn.ts "$@"
fi
exec npx ts-node --transpile-only bench/istiod.ts "$@"
