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
with_node=${MESH_TENANCY_NODE:-0}
if [ "$with_node" = 1 ]; then
	# Before the node starts (it imports the images it finds built): Istio's official charts, and the proxyless data
	# plane (pilot-agent, Istio's echo server, mesh-caller) that the smoke workloads run on there.
	"$scripts_dir/build-toolchain.sh" istio-charts pilot-agent istio-echo mesh-caller >/dev/null
fi
if ! "$scripts_dir/cluster.sh" status >/dev/null 2>&1; then
	# A fresh control plane has none of the objects an old stack state records: start the state afresh too.
	"$scripts_dir/cluster.sh" start >/dev/null
	rm -rf "${PULUMI_BACKEND_URL#file://}" && mkdir -p "${PULUMI_BACKEND_URL#file://}"
fi

# Stack `local` leaves Istio's CRDs to the cluster (istio.crds: external); apply Istio's own (idempotent).
"$scripts_dir/istio.sh" crds
pulumi stack select --create local --non-interactive
config_args=()
if [ -f "$state_dir/kubelet.pid" ]; then
	# With a node, pods run: istiod and the proxies must be images the node has. Stack `local` as committed, with Istio's
	# official charts from the toolchain, the node's images, small istiod requests for a two-core node, and the smoke
	# workloads on Istio's proxyless gRPC (no Envoy can be had here), in a config file of the cluster's own.
	config_args=(--config-file "$state_dir/Pulumi.local.yaml")
	node - "stacks/Pulumi.local.yaml" "$state_dir/Pulumi.local.yaml" "$bin_dir/istio-charts" <<'JS'
const fs = require("fs");
const YAML = require("yaml");
const [from, to, charts] = process.argv.slice(2);
const doc = YAML.parse(fs.readFileSync(from, "utf8"));
const c = doc.config;
const proxyless = "mesh-tenancy.local/proxyless:local";
c["mesh-tenancy:istio"] = { ...c["mesh-tenancy:istio"], chartDirectory: charts, images: { pilot: "mesh-tenancy.local/pilot:local", proxy: proxyless } };
c["mesh-tenancy:smokeWorkloads"] = { proxyless: { image: proxyless } };
for (const ug of c["mesh-tenancy:usergroups"]) ug.istiod = { ...ug.istiod, resources: { requests: { cpu: "50m", memory: "128Mi" } } };
fs.writeFileSync(to, `# Written by scripts/local-up.sh from ${from} for a cluster with a node.\n${YAML.stringify(doc)}`);
JS
fi
"$scripts_dir/pulumi-run.sh" up --yes --skip-preview --non-interactive --stack local "${config_args[@]}" \
	--policy-pack policy --policy-pack-config policy/config/dev.json
pulumi stack output --stack local --json
if [ -f "$state_dir/kubelet.pid" ]; then
	# Each istiod and every smoke workload Running and Ready (their pods start once the namespaces' istiod injects them).
	for d in $(kubectl get deployments -A -l 'app=istiod' -o jsonpath='{range .items[*]}{.metadata.namespace}/{.metadata.name}{" "}{end}') \
		$(kubectl get deployments -A -o jsonpath='{range .items[?(@.metadata.name=="smoke-echo")]}{.metadata.namespace}/{.metadata.name}{" "}{end}{range .items[?(@.metadata.name=="smoke-client")]}{.metadata.namespace}/{.metadata.name}{" "}{end}'); do
		kubectl rollout status deployment "${d#*/}" -n "${d%%/*}" --timeout=300s >/dev/null ||
			{ echo "local-up: $d did not become Ready (kubectl describe pods -n ${d%%/*})" >&2; exit 1; }
	done
	kubectl get pods -A -o wide >&2
fi

cat >&2 <<MSG

local-up: stack 'local' is deployed to the control plane at $(grep -m1 'server:' "$KUBECONFIG" | awk '{print $2}').
  kubectl:  export PATH=$bin_dir:\$PATH KUBECONFIG=$KUBECONFIG; kubectl get ns -L usergroup,istio.io/rev
  node:     $(if [ -f "$state_dir/kubelet.pid" ]; then echo "running (kubectl get pods -A; scripts/node.sh status). istiod and the smoke workloads run; the
            gateways' pods cannot (they need Envoy). A call through the mesh:
            kubectl exec -n shop deploy/smoke-client -c client -- /usr/local/bin/mesh-caller payments=xds:///smoke-echo.payments.svc.cluster.local:7070"; else echo "none (MESH_TENANCY_NODE=1 starts one)"; fi)
  stop:     npm run local:down
MSG
