#!/usr/bin/env bash
# The node suites alone (test/e2e/node*.e2e.ts) on a private control plane with a node: no Pulumi, so it builds the
# Kubernetes tools, the node's, and Istio's (istiod runs as a pod of the official chart, rendered by istioctl; the
# proxyless gRPC suite's pods run pilot-agent, Istio's echo server and mesh-caller).
# For a CI job of its own; `MESH_TENANCY_NODE=1 npm run test:e2e` runs the same suites after the others. Fails where
# this machine cannot run a node (the suites would only skip).
# Arguments go to mocha.
set -euo pipefail
scripts_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$scripts_dir/.."
start=$SECONDS

[ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error
"$scripts_dir/node.sh" install

export MESH_TENANCY_CLUSTER_DIR=${MESH_TENANCY_E2E_DIR:-$(mktemp -d /tmp/mesh-tenancy-node-e2e.XXXXXX)}
bin=${MESH_TENANCY_BIN:-$("$scripts_dir/build-toolchain.sh" etcd kube-apiserver kube-controller-manager kubectl \
	kubelet kube-proxy kube-scheduler kube-router echoprobe coredns istioctl pilot-discovery pilot-agent istio-echo mesh-caller | tail -n 1)}
export MESH_TENANCY_BIN=$bin MESH_TENANCY_NODE_BIN=$bin
echo "node-e2e: tools ready after $((SECONDS - start))s" >&2

cleanup() {
	status=$?
	"$scripts_dir/cluster.sh" stop || true
	if [ "$status" -ne 0 ]; then
		echo "node-e2e: failed; cluster logs kept in $MESH_TENANCY_CLUSTER_DIR" >&2
	fi
	exit "$status"
}
trap cleanup EXIT
MESH_TENANCY_NODE=1 "$scripts_dir/cluster.sh" start >/dev/null
[ -f "$MESH_TENANCY_CLUSTER_DIR/kubelet.pid" ] || { echo "node-e2e: the cluster came up without its node" >&2; exit 1; }
export KUBECONFIG=$MESH_TENANCY_CLUSTER_DIR/kubeconfig PATH=$bin:$PWD/node_modules/.bin:$PATH
"$scripts_dir/istio.sh" crds
echo "node-e2e: cluster with a node and Istio's CRDs ready after $((SECONDS - start))s" >&2

npx mocha --no-config -r ts-node/register/transpile-only --extension ts --bail --timeout 1200000 'test/e2e/node*.e2e.ts' "$@"
echo "node-e2e: finished in $((SECONDS - start))s" >&2
