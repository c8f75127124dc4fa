#!/usr/bin/env bash
# Builds the end-to-end toolchain from Go modules (see scripts/README.md):
# pulumi, pulumi-language-nodejs, pulumi-resource-kubernetes, etcd,
# kube-apiserver, kube-controller-manager, kubectl, istioctl, pilot-discovery
# and xds-probe; istioctl-1.30 and pilot-discovery-1.30 only when named, and
# the local node's tools (kubelet, kube-proxy, kube-scheduler, kube-router,
# echoprobe, coredns) only when named or by scripts/node.sh; vap-eval, the unit suite's
# judge of the admission guardrails, only when named (npm test names it).
#
# Usage: scripts/build-toolchain.sh [TOOL...]   (default: every default tool)
#
# A binary whose stamp (a hash of its inputs) is current is skipped, and each
# one is built under a temporary name and then moved into place, so a repeated
# run does nothing and an interrupted one resumes where it stopped. Progress
# goes to stderr; the last line of stdout is the bin dir.
set -euo pipefail

scripts_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
toolchain_dir=$scripts_dir/toolchain
# shellcheck source=toolchain/versions.env
. "$toolchain_dir/versions.env"
# shellcheck source=toolchain/istio.env
. "$toolchain_dir/istio.env"

default_tools=(etcd kube-apiserver kube-controller-manager kubectl pulumi pulumi-resource-kubernetes pulumi-language-nodejs
	istioctl pilot-discovery xds-probe)
# Built only when asked for by name: a second Istio costs about as much again.
optional_tools=(istioctl-1.30 pilot-discovery-1.30)
# Istio's official Helm charts (base, istiod, gateway), taken from the Istio
# module the istio wrapper pins, as a chart directory the program can name.
optional_tools+=(istio-charts)
# The Kubernetes Gateway API's standard-channel CRDs, of the sigs.k8s.io/gateway-api
# version Istio's module requires, as a directory `ingress.gatewayApiCrds` can name.
optional_tools+=(gateway-api-crds)
# The local node's (scripts/node.sh): a few minutes cold, needed only with a node.
node_tools=(kubelet kube-proxy kube-scheduler kube-router echoprobe coredns)
optional_tools+=("${node_tools[@]}")
# Istio's data plane without Envoy, for the node's proxyless gRPC suite:
# pilot-agent (the grpc-agent injection template's container), Istio's echo
# server, and mesh-caller, our caller over grpc-go's xDS client.
optional_tools+=(pilot-agent istio-echo mesh-caller)
# The unit suite's judge of the admission guardrails (test/guardrailsCel.test.ts
# names it): the API server's own CEL, seconds to build once the Kubernetes
# packages are in the build cache.
optional_tools+=(vap-eval)
all_tools=("${default_tools[@]}" "${optional_tools[@]}")

log() { printf 'build-toolchain: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

command -v go >/dev/null || die "go is not on PATH"

# The default tools dir is keyed by the Go version and versions.env. Inside it,
# each binary has a stamp of its own inputs (its wrapper module's go.mod and
# go.sum, and our own sources), and is rebuilt when they change.
version_key() {
	{ go version; cat "$toolchain_dir/versions.env"; } | sha256sum | cut -c1-16
}

# tool_inputs TOOL: prints the wrapper files that TOOL is built from.
tool_inputs() {
	local mod
	case $1 in
	etcd) mod=etcd ;;
	kube-apiserver | kube-controller-manager | kubectl | kubelet | kube-proxy | kube-scheduler) mod=kubernetes ;;
	kube-router) mod=kube-router ;;
	echoprobe) mod=node-images ;;
	coredns) mod=coredns ;;
	pulumi | pulumi-language-nodejs) mod=pulumi ;;
	pulumi-resource-kubernetes) mod=pulumi-resource-kubernetes ;;
	istioctl | pilot-discovery | istio-charts | gateway-api-crds | pilot-agent | istio-echo | mesh-caller) mod=istio ;;
	istioctl-1.30 | pilot-discovery-1.30) mod=istio-1.30 ;;
	xds-probe) mod=xds-probe ;;
	vap-eval) mod=cel ;;
	esac
	printf '%s\n' "$toolchain_dir/$mod/go.mod" "$toolchain_dir/$mod/go.sum"
	case $1 in
	pulumi-language-nodejs) find "$toolchain_dir/pulumi/cmd/pulumi-language-nodejs" -type f -name '*.go' | LC_ALL=C sort ;;
	pulumi-resource-kubernetes) find "$toolchain_dir/pulumi-resource-kubernetes" -type f -name '*.go' | LC_ALL=C sort ;;
	xds-probe) find "$toolchain_dir/xds-probe" -type f -name '*.go' | LC_ALL=C sort ;;
	echoprobe) find "$toolchain_dir/node-images" -type f -name '*.go' | LC_ALL=C sort ;;
	coredns) printf '%s\n' "$toolchain_dir/coredns/main.go" ;;
	vap-eval) find "$toolchain_dir/cel" -type f -name '*.go' | LC_ALL=C sort ;;
	istioctl* | pilot-discovery* | istio-charts | pilot-agent | istio-echo) printf '%s\n' "$toolchain_dir/istio.env" ;;
	mesh-caller) find "$toolchain_dir/istio/mesh-caller" -type f -name '*.go' | LC_ALL=C sort ;;
	esac
}

tool_stamp() {
	{
		go version
		cat "$toolchain_dir/versions.env"
		declare -f "build_${1//-/_}"
		case $1 in
		kube-apiserver | kube-controller-manager | kubelet | kube-proxy | kube-scheduler) declare -f k8s_ldflags ;;
		istioctl* | pilot-discovery* | pilot-agent | istio-echo) declare -f istio_build ;;
		esac
		tool_inputs "$1" | while read -r f; do printf '%s\n' "${f#"$toolchain_dir"/}"; cat "$f"; done
	} | sha256sum | cut -c1-64
}

tools_dir=${MESH_TENANCY_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/mesh-tenancy/tools/$(version_key)}
bin_dir=$tools_dir/bin

if [ "$#" -gt 0 ]; then
	tools=("$@")
	for t in "${tools[@]}"; do
		case " ${all_tools[*]} " in *" $t "*) ;; *) die "unknown tool '$t' (known: ${all_tools[*]})" ;; esac
	done
else
	tools=("${default_tools[@]}")
fi

mkdir -p "$bin_dir"
exec 9>"$tools_dir/.lock"
flock 9 || die "cannot lock $tools_dir/.lock"

# Committed go.sum files pin every module; -mod=readonly refuses to change them.
export GOFLAGS="-mod=readonly -buildvcs=false"
export GOTOOLCHAIN=local
export CGO_ENABLED=0

tmp_dir=$(mktemp -d)
trap 'rm -rf "$tmp_dir"' EXIT

k8s_ldflags() {
	local minor=${KUBERNETES_VERSION#v1.}
	minor=${minor%%.*}
	local pkg flags=""
	for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
		flags+=" -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
		flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$KUBERNETES_BUILD_DATE"
	done
	printf '%s' "$flags"
}

# build_TOOL OUTPUT: builds TOOL into the file OUTPUT. Each function is part of
# its tool's stamp, so editing one rebuilds that tool only.
build_etcd() {
	go build -C "$toolchain_dir/etcd" -trimpath -ldflags "-s -w" -o "$1" go.etcd.io/etcd/server/v3
}

build_kube_apiserver() {
	go build -C "$toolchain_dir/kubernetes" -trimpath -ldflags "-s -w$(k8s_ldflags)" \
		-o "$1" k8s.io/kubernetes/cmd/kube-apiserver
}

build_kube_controller_manager() {
	go build -C "$toolchain_dir/kubernetes" -trimpath -ldflags "-s -w$(k8s_ldflags)" \
		-o "$1" k8s.io/kubernetes/cmd/kube-controller-manager
}

build_kubectl() {
	go build -C "$toolchain_dir/kubernetes" -trimpath -ldflags "-s -w$(k8s_ldflags)" \
		-o "$1" k8s.io/kubernetes/cmd/kubectl
}

# The node's Kubernetes binaries, from the same wrapper module and stamps as
# kube-apiserver (so they share its build cache).
build_kubelet() {
	nice -n 10 go build -C "$toolchain_dir/kubernetes" -trimpath -ldflags "-s -w$(k8s_ldflags)" \
		-o "$1" k8s.io/kubernetes/cmd/kubelet
}

build_kube_proxy() {
	nice -n 10 go build -C "$toolchain_dir/kubernetes" -trimpath -ldflags "-s -w$(k8s_ldflags)" \
		-o "$1" k8s.io/kubernetes/cmd/kube-proxy
}

build_kube_scheduler() {
	nice -n 10 go build -C "$toolchain_dir/kubernetes" -trimpath -ldflags "-s -w$(k8s_ldflags)" \
		-o "$1" k8s.io/kubernetes/cmd/kube-scheduler
}

# kube-router enforces the node's NetworkPolicies; its version is the one its
# wrapper's go.mod pins.
build_kube_router() {
	local v=github.com/cloudnativelabs/kube-router/v2/pkg/version version
	version=$(go list -C "$toolchain_dir/kube-router" -m -f '{{.Version}}' github.com/cloudnativelabs/kube-router/v2)
	nice -n 10 go build -C "$toolchain_dir/kube-router" -trimpath -ldflags "-s -w -X $v.Version=$version" \
		-o "$1" github.com/cloudnativelabs/kube-router/v2/cmd/kube-router
}

# The node's cluster DNS: CoreDNS with the plugins toolchain/coredns names.
build_coredns() {
	nice -n 10 go build -C "$toolchain_dir/coredns" -trimpath -ldflags "-s -w" -o "$1" .
}

# The one program in the node's images: pause, echo server and probe.
build_echoprobe() {
	nice -n 10 go build -C "$toolchain_dir/node-images" -trimpath -ldflags "-s -w" -o "$1" .
}

build_pulumi() {
	go build -C "$toolchain_dir/pulumi" -trimpath -tags osusergo,grpcnotrace \
		-ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION" \
		-o "$1" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
}

build_pulumi_language_nodejs() {
	go build -C "$toolchain_dir/pulumi" -trimpath -tags osusergo,grpcnotrace \
		-ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION" \
		-o "$1" ./cmd/pulumi-language-nodejs
}

build_pulumi_resource_kubernetes() {
	# The provider's main embeds files generated from schema.json and
	# terraform-mapping.json; write them into a copy of the wrapper module.
	local work=$tmp_dir/pulumi-resource-kubernetes src
	rm -rf "$work"
	cp -R "$toolchain_dir/pulumi-resource-kubernetes" "$work"
	(cd "$work" && go mod download github.com/pulumi/pulumi-kubernetes/provider/v4)
	src=$(cd "$work" && go list -m -f '{{.Dir}}' github.com/pulumi/pulumi-kubernetes/provider/v4)
	(cd "$work" && go run ./internal/embedgen -src "$src/cmd/pulumi-resource-kubernetes" -out . \
		-version "$PULUMI_KUBERNETES_VERSION")
	go build -C "$work" -trimpath \
		-ldflags "-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$PULUMI_KUBERNETES_VERSION" \
		-o "$1" .
}

# istio_build MODULE VERSION REVISION PACKAGE OUTPUT: Istio's release build
# tags (vtprotobuf marshalling, no protoc-gen-validate) and version stamps.
istio_build() {
	local v=istio.io/istio/pkg/version
	nice -n 10 go build -C "$toolchain_dir/$1" -trimpath -tags vtprotobuf,disable_pgv \
		-ldflags "-s -w -X $v.buildVersion=$2 -X $v.buildGitRevision=$3 -X $v.buildStatus=Clean" \
		-o "$5" "$4"
}

build_istioctl() {
	istio_build istio "$ISTIO_VERSION" "$ISTIO_GIT_REVISION" istio.io/istio/istioctl/cmd/istioctl "$1"
}

build_pilot_discovery() {
	istio_build istio "$ISTIO_VERSION" "$ISTIO_GIT_REVISION" istio.io/istio/pilot/cmd/pilot-discovery "$1"
}

build_pilot_agent() {
	istio_build istio "$ISTIO_VERSION" "$ISTIO_GIT_REVISION" istio.io/istio/pilot/cmd/pilot-agent "$1"
}

build_istio_echo() {
	istio_build istio "$ISTIO_VERSION" "$ISTIO_GIT_REVISION" istio.io/istio/pkg/test/echo/cmd/server "$1"
}

build_mesh_caller() {
	nice -n 10 go build -C "$toolchain_dir/istio" -trimpath -tags vtprotobuf,disable_pgv -ldflags "-s -w" -o "$1" ./mesh-caller
}

build_istioctl_1.30() {
	istio_build istio-1.30 "$ISTIO_1_30_VERSION" "$ISTIO_1_30_GIT_REVISION" istio.io/istio/istioctl/cmd/istioctl "$1"
}

build_pilot_discovery_1.30() {
	istio_build istio-1.30 "$ISTIO_1_30_VERSION" "$ISTIO_1_30_GIT_REVISION" istio.io/istio/pilot/cmd/pilot-discovery "$1"
}

# istio_charts OUTPUT: a directory with base/, istiod/ and gateway/ from the
# module's manifests/charts (istio-control/istio-discovery is the istiod chart),
# each Chart.yaml stamped with the build's version as Istio's release build
# stamps it (the module's say 1.0.0). Never copied into the repository.
build_istio_charts() {
	local src
	go mod download -C "$toolchain_dir/istio" istio.io/istio
	src=$(go list -C "$toolchain_dir/istio" -m -f '{{.Dir}}' istio.io/istio)/manifests/charts
	rm -rf "$1"
	mkdir -p "$1"
	cp -R "$src/base" "$1/base"
	cp -R "$src/istio-control/istio-discovery" "$1/istiod"
	cp -R "$src/gateway" "$1/gateway"
	chmod -R u+w "$1"
	local chart
	for chart in base istiod gateway; do
		sed -i -E "s/^(version|appVersion): .*/\1: $ISTIO_CHART_VERSION/" "$1/$chart/Chart.yaml"
	done
}

build_gateway_api_crds() {
	local src
	go mod download -C "$toolchain_dir/istio" sigs.k8s.io/gateway-api
	src=$(go list -C "$toolchain_dir/istio" -m -f '{{.Dir}}' sigs.k8s.io/gateway-api)/config/crd/standard
	[ -d "$src" ] || die "no standard-channel CRDs in $src"
	rm -rf "$1"
	mkdir -p "$1"
	cp "$src"/*.yaml "$1/"
	chmod -R u+w "$1"
}

build_xds_probe() {
	nice -n 10 go build -C "$toolchain_dir/xds-probe" -trimpath -tags vtprotobuf,disable_pgv -ldflags "-s -w" -o "$1" .
}

build_vap_eval() {
	nice -n 10 go build -C "$toolchain_dir/cel" -trimpath -ldflags "-s -w" -o "$1" .
}

log "bin dir: $bin_dir"
total_start=$SECONDS
mkdir -p "$bin_dir/.stamps"
for tool in "${tools[@]}"; do
	stamp=$(tool_stamp "$tool")
	if [ -x "$bin_dir/$tool" ] && [ "$(cat "$bin_dir/.stamps/$tool" 2>/dev/null)" = "$stamp" ]; then
		log "$tool: up to date, skipping"
		continue
	fi
	log "$tool: building"
	start=$SECONDS
	rm -rf "$bin_dir/.$tool.tmp."* # left by an interrupted run; we hold the lock
	tmp_out=$bin_dir/.$tool.tmp.$$
	if ! "build_${tool//-/_}" "$tmp_out" >&2; then
		rm -f "$tmp_out"
		die "$tool: build failed after $((SECONDS - start))s"
	fi
	rm -rf "$bin_dir/$tool.old" && { [ ! -d "$bin_dir/$tool" ] || mv "$bin_dir/$tool" "$bin_dir/$tool.old"; }
	mv -f "$tmp_out" "$bin_dir/$tool"
	rm -rf "$bin_dir/$tool.old"
	printf '%s\n' "$stamp" >"$bin_dir/.stamps/$tool"
	log "$tool: built in $((SECONDS - start))s"
done
log "done in $((SECONDS - total_start))s"
printf '%s\n' "$bin_dir"
