#!/usr/bin/env bash
# The main job on one machine: install dependencies, build or reuse the toolchain, start a local control plane and
# deploy stack `local` with the policy pack. `npm run local:down` destroys it and stops the control plane.
# MESH_TENANCY_NODE=1 also starts a node (scripts/node.sh), so pods run and NetworkPolicies are enforced.
set -euo pipefail
scripts_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$scripts_dir/.."

echo "local-up: installing dependencies" >&2
npm ci --no-audit --no-fund --loglevel=error
npm ci --prefix policy --no-audit --no-fund --loglevel=error

. "$scripts_dir/pulumi-env.sh"
if ! "$scripts_dir/cluster.sh" status >/dev/null 2>&1; then
	# A fresh control plane has none of the objects an old stack state records: start the state afresh too.
	"$scripts_dir/cluster.sh" start >/dev/null
	rm -rf "${PULUMI_BACKEND_URL#file://}" && mkdir -p "${PULUMI_BACKEND_URL#file://}"
fi

# Stack `local` leaves Istio's CRDs to the cluster (istio.crds: external); apply Istio's own (idempotent).
"$scripts_dir/istio.sh" crds
pulumi stack select --create local --non-interactive
"$scripts_dir/pulumi-run.sh" up --yes --skip-preview --non-interactive --stack local \
	--policy-pack policy --policy-pack-config policy/config/dev.json
pulumi stack output --stack local --json

cat >&2 <<MSG

local-up: stack 'local' is deployed to the control plane at $(grep -m1 'server:' "$KUBECONFIG" | awk '{print $2}').
  kubectl:  export PATH=$bin_dir:\$PATH KUBECONFIG=$KUBECONFIG; kubectl get ns -L usergroup,istio.io/rev
  node:     $(if [ -f "$state_dir/kubelet.pid" ]; then echo "running (kubectl get pods -A; scripts/node.sh status)"; else echo "none (MESH_TENANCY_NODE=1 starts one)"; fi)
  stop:     npm run local:down
MSG
