#!/usr/bin/env bash
# End-to-end suite: the real Pulumi engine, Kubernetes provider and policy pack against a fresh local control plane.
# Builds or reuses the toolchain, starts etcd + kube-apiserver in a private state dir, applies Istio's official CRDs,
# runs test/e2e (which also starts a real istiod per usergroup), stops them.
# The node-less suites run in the order of SUITES below, one file per feature; the engine's four (install, isolation,
# guardrails, operations) share one cluster fixture (test/e2e/engine.ts), so each also runs alone. Arguments go to mocha:
# `npm run test:e2e -- --grep isolation` runs the tests whose titles match (with the hooks and state they need).
# With MESH_TENANCY_NODE=1, the node suites (node*.e2e.ts) then run on a fresh cluster with a node (scripts/node.sh):
# real connections and istiod's real injection against the model; without it they are skipped. The other suites always run node-less: with a node,
# the charts' Deployments would make pods (whose images cannot be had) that change what they judge.
set -euo pipefail
scripts_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$scripts_dir/.."
start=$SECONDS

[ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error
[ -d policy/node_modules ] || npm ci --prefix policy --no-audit --no-fund --loglevel=error

export MESH_TENANCY_CLUSTER_DIR=${MESH_TENANCY_E2E_DIR:-$(mktemp -d /tmp/mesh-tenancy-e2e.XXXXXX)}
. "$scripts_dir/pulumi-env.sh"
# The opt-in upgrade steps run Istio 1.30's istiod beside 1.31's.
if [ "${MESH_TENANCY_E2E_UPGRADE:-}" = 1 ]; then "$scripts_dir/build-toolchain.sh" istioctl-1.30 pilot-discovery-1.30 >/dev/null; fi
# Istio's official charts, from the Istio module (install.e2e.ts previews the stack with them too).
"$scripts_dir/build-toolchain.sh" istio-charts gateway-api-crds >/dev/null
# With a node, Istio's proxyless data plane for the node's gRPC suite (scripts/node.sh makes its image).
if [ "${MESH_TENANCY_NODE:-0}" = 1 ]; then "$scripts_dir/build-toolchain.sh" pilot-agent istio-echo mesh-caller >/dev/null; fi
echo "e2e: toolchain ready after $((SECONDS - start))s" >&2

cleanup() {
	status=$?
	"$scripts_dir/cluster.sh" stop || true
	if [ "$status" -ne 0 ]; then
		echo "e2e: failed; cluster logs kept in $MESH_TENANCY_CLUSTER_DIR" >&2
	fi
	exit "$status"
}
trap cleanup EXIT
with_node=${MESH_TENANCY_NODE:-0}
mocha=(npx mocha --no-config -r ts-node/register/transpile-only --extension ts --bail --timeout 1200000)
# In this order: authorization and the faults bring their own setup and leave the cluster empty or the stack up; the
# Gateway API suite destroys what it made; install starts from an empty stack; the rest take the stack as it is.
SUITES=(authz faults gateway-api install isolation guardrails operations rbac upgrade)
suite_files=()
for s in "${SUITES[@]}"; do suite_files+=("test/e2e/$s.e2e.ts"); done
for f in test/e2e/*.e2e.ts; do
	case " ${suite_files[*]} " in *" $f "*) ;; *) case "$f" in test/e2e/node*) ;; *) echo "e2e: $f is in no place of SUITES (scripts/e2e.sh)" >&2; exit 1 ;; esac ;; esac
done
MESH_TENANCY_NODE=0 "$scripts_dir/cluster.sh" start >/dev/null
# Stack `local` leaves the CRDs to the cluster (istio.crds: external): Istio's own, with their schemas.
"$scripts_dir/istio.sh" crds

if [ "$with_node" = 1 ]; then
	"${mocha[@]}" "${suite_files[@]}" "$@"
	echo "e2e: node-less suites done after $((SECONDS - start))s; restarting the cluster with a node" >&2
	"$scripts_dir/cluster.sh" stop
	MESH_TENANCY_NODE=1 "$scripts_dir/cluster.sh" start >/dev/null
	"$scripts_dir/istio.sh" crds
	"${mocha[@]}" 'test/e2e/node*.e2e.ts' "$@"
else
	"${mocha[@]}" "${suite_files[@]}" 'test/e2e/node*.e2e.ts' "$@"
fi
echo "e2e: finished in $((SECONDS - start))s" >&2
