{{/* Labels shared by every object this chart renders. */}}
{{- define "base.commonLabels" -}}
app.kubernetes.io/managed-by: {{ .Release.Service | quote }}
app.kubernetes.io/instance: {{ .Release.Name | quote }}
app.kubernetes.io/part-of: "istio"
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | trunc 63 | trimSuffix "-" | quote }}
{{- end }}

{{/*
Catalogue of Istio custom resource kinds. Every entry becomes one
CustomResourceDefinition; "storage" names the stored version and all
listed versions are served (same kinds and served/storage split as the Istio 1.31
base chart's CRDs).
*/}}
{{- define "base.crdCatalog" -}}
kinds:
  - {group: networking.istio.io, kind: DestinationRule, plural: destinationrules, short: [dr], versions: [v1alpha3, v1beta1, v1], storage: v1}
  - {group: networking.istio.io, kind: EnvoyFilter, plural: envoyfilters, short: [], versions: [v1alpha3], storage: v1alpha3}
  - {group: networking.istio.io, kind: Gateway, plural: gateways, short: [gw], versions: [v1alpha3, v1beta1, v1], storage: v1}
  - {group: networking.istio.io, kind: ProxyConfig, plural: proxyconfigs, short: [], versions: [v1beta1], storage: v1beta1}
  - {group: networking.istio.io, kind: ServiceEntry, plural: serviceentries, short: [se], versions: [v1alpha3, v1beta1, v1], storage: v1}
  - {group: networking.istio.io, kind: Sidecar, plural: sidecars, short: [], versions: [v1alpha3, v1beta1, v1], storage: v1}
  - {group: networking.istio.io, kind: VirtualService, plural: virtualservices, short: [vs], versions: [v1alpha3, v1beta1, v1], storage: v1}
  - {group: networking.istio.io, kind: WorkloadEntry, plural: workloadentries, short: [we], versions: [v1alpha3, v1beta1, v1], storage: v1}
  - {group: networking.istio.io, kind: WorkloadGroup, plural: workloadgroups, short: [wg], versions: [v1alpha3, v1beta1, v1], storage: v1}
  - {group: security.istio.io, kind: AuthorizationPolicy, plural: authorizationpolicies, short: [ap], versions: [v1beta1, v1], storage: v1}
  - {group: security.istio.io, kind: PeerAuthentication, plural: peerauthentications, short: [pa], versions: [v1beta1, v1], storage: v1}
  - {group: security.istio.io, kind: RequestAuthentication, plural: requestauthentications, short: [ra], versions: [v1beta1, v1], storage: v1}
  - {group: telemetry.istio.io, kind: Telemetry, plural: telemetries, short: [telemetry], versions: [v1alpha1, v1], storage: v1alpha1}
  - {group: extensions.istio.io, kind: TrafficExtension, plural: trafficextensions, short: [], versions: [v1alpha1], storage: v1alpha1}
  - {group: extensions.istio.io, kind: WasmPlugin, plural: wasmplugins, short: [], versions: [v1alpha1], storage: v1alpha1}
{{- end }}
