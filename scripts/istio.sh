#!/usr/bin/env bash
# Istio's official CustomResourceDefinitions for a local control plane, rendered
# by the istioctl that build-toolchain.sh builds (the charts compiled into it),
# so that the API server validates every Istio object against Istio's schemas
# and CEL rules rather than the stand-in base chart's permissive ones.
#
# Usage: scripts/istio.sh crds     render, apply (server-side) and wait until established
#        scripts/istio.sh render   print the CRDs only
#
# Environment: KUBECONFIG (for crds), MESH_TENANCY_BIN (dir holding istioctl
# and kubectl; default: whatever build-toolchain.sh prints for them).
set -euo pipefail

scripts_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

log() { printf 'istio: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

bin=${MESH_TENANCY_BIN:-}
if [ -z "$bin" ]; then
	bin=$("$scripts_dir/build-toolchain.sh" istioctl kubectl | tail -n 1)
fi
[ -x "$bin/istioctl" ] || die "$bin/istioctl is missing; run scripts/build-toolchain.sh istioctl"

# The minimal profile without istiod is the base component alone: the CRDs (and
# nothing cluster-wide that calls an istiod, as no default revision is named).
render() {
	local out
	out=$("$bin/istioctl" manifest generate --set profile=minimal --set components.pilot.enabled=false \
		--set values.defaultRevision="") || die "istioctl manifest generate failed"
	printf '%s\n' "$out" | awk 'BEGIN { RS = "\n---\n" } /(^|\n)kind: CustomResourceDefinition(\n|$)/ { print "---"; print }'
}

crds() {
	[ -x "$bin/kubectl" ] || die "$bin/kubectl is missing; run scripts/build-toolchain.sh kubectl"
	[ -n "${KUBECONFIG:-}" ] || die "KUBECONFIG is not set (eval \"\$(scripts/cluster.sh env)\")"
	local begin=$SECONDS rendered names
	rendered=$(render)
	[ -n "$rendered" ] || die "istioctl rendered no CustomResourceDefinition"
	# Server-side: the largest CRDs exceed the size of the annotation a client-side apply would write.
	names=$(printf '%s\n' "$rendered" | "$bin/kubectl" apply --server-side --force-conflicts \
		--field-manager mesh-tenancy-istio-crds -o name -f -)
	# shellcheck disable=SC2086 # one argument per CRD
	"$bin/kubectl" wait --for condition=established --timeout=60s $names >/dev/null
	log "$(printf '%s\n' "$names" | wc -l) CRDs (istioctl $("$bin/istioctl" version --remote=false --short 2>/dev/null | sed 's/.*: //')) established in $((SECONDS - begin))s"
}

case ${1:-} in
crds) crds ;;
render) render ;;
*) die "usage: $0 crds|render" ;;
esac
