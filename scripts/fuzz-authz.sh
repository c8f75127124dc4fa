#!/usr/bin/env bash
# Differential fuzzing of mesh admission (test/authz/fuzz.ts): random AuthorizationPolicy and PeerAuthentication
# estates judged by a real istiod's compiled RBAC and by the semantics model, on a fresh local control plane.
# Usage: npm run fuzz:authz -- [--seed N] [--runs M] [--seconds S] [--out FILE]
set -euo pipefail
scripts_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$scripts_dir/.."

export MESH_TENANCY_CLUSTER_DIR=${MESH_TENANCY_FUZZ_DIR:-$(mktemp -d /tmp/mesh-tenancy-fuzz.XXXXXX)}
export MESH_TENANCY_BIN=${MESH_TENANCY_BIN:-$("$scripts_dir/build-toolchain.sh" etcd kube-apiserver kube-controller-manager kubectl istioctl pilot-discovery xds-probe | tail -n 1)}
export PATH=$MESH_TENANCY_BIN:$PWD/node_modules/.bin:$PATH
export KUBECONFIG=$MESH_TENANCY_CLUSTER_DIR/kubeconfig

cleanup() {
	"$scripts_dir/cluster.sh" stop >/dev/null 2>&1 || true
}
trap cleanup EXIT
"$scripts_dir/cluster.sh" start >/dev/null
"$scripts_dir/istio.sh" crds
ts-node --transpile-only test/authz/fuzzCli.ts "$@"
