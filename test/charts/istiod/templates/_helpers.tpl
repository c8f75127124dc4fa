{{/* "-<revision>" or nothing. */}}
{{- define "istiod.suffix" -}}
{{- with .Values.revision }}-{{ . }}{{ end -}}
{{- end }}

{{/* Name shared by the Deployment, Service, ServiceAccount and HPA. */}}
{{- define "istiod.name" -}}
istiod{{ include "istiod.suffix" . }}
{{- end }}

{{/* Value of the istio.io/rev label. */}}
{{- define "istiod.revLabel" -}}
{{- .Values.revision | default "default" -}}
{{- end }}

{{/*
Effective pilot settings as YAML: top-level keys overlaid with `pilot:`
(pilot wins), so both spellings are accepted.
*/}}
{{- define "istiod.pilot" -}}
{{- $top := pick .Values "autoscaleEnabled" "autoscaleMin" "autoscaleMax" "replicaCount" "hub" "tag" "image" "resources" "env" "cpu" "podAnnotations" "podLabels" "deploymentLabels" "nodeSelector" "tolerations" | deepCopy }}
{{- $fromPilot := .Values.pilot | default dict | deepCopy }}
{{- mustMergeOverwrite $top $fromPilot | toYaml }}
{{- end }}

{{- define "istiod.commonLabels" -}}
app.kubernetes.io/managed-by: {{ .Release.Service | quote }}
app.kubernetes.io/instance: {{ .Release.Name | quote }}
app.kubernetes.io/part-of: "istio"
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | trunc 63 | trimSuffix "-" | quote }}
{{- end }}

{{/* Labels carried by the revisioned objects. */}}
{{- define "istiod.revisionLabels" -}}
istio.io/rev: {{ include "istiod.revLabel" . | quote }}
install.operator.istio.io/owning-resource: {{ .Values.ownerName | default "unknown" | quote }}
operator.istio.io/component: "Pilot"
release: {{ .Release.Name | quote }}
app.kubernetes.io/name: "istiod"
{{ include "istiod.commonLabels" . }}
{{- end }}

{{/*
One sidecar-injection webhook entry, without selectors (the caller appends
namespaceSelector/objectSelector at the same indentation).
Expects a dict: prefix, service, namespace, path, reinvocation.
*/}}
{{- define "istiod.injectionHook" -}}
- name: {{ .prefix }}sidecar-injector.istio.io
  admissionReviewVersions: ["v1"]
  sideEffects: None
  failurePolicy: Ignore
  reinvocationPolicy: {{ .reinvocation | quote }}
  clientConfig:
    service:
      name: {{ .service }}
      namespace: {{ .namespace }}
      path: {{ .path | quote }}
      port: 443
  rules:
    - operations: ["CREATE"]
      apiGroups: [""]
      apiVersions: ["v1"]
      resources: ["pods"]
{{- end }}

{{/*
The two per-revision injection webhooks: namespaces labelled
istio.io/rev=<value>, and pods labelled istio.io/rev=<value> in namespaces
without injection labels. Expects a dict: root (chart context), value.
*/}}
{{- define "istiod.revisionHooks" -}}
{{- $hook := dict "service" (include "istiod.name" .root) "namespace" .root.Release.Namespace "path" (.root.Values.istiodRemote.injectionPath | default "/inject") "reinvocation" (.root.Values.sidecarInjectorWebhook.reinvocationPolicy | default "Never") }}
{{ include "istiod.injectionHook" (merge (dict "prefix" "rev.namespace.") $hook) }}
  namespaceSelector:
    matchExpressions:
      - key: istio.io/rev
        operator: In
        values: [{{ .value | quote }}]
      - key: istio-injection
        operator: DoesNotExist
  objectSelector:
    matchExpressions:
      - key: sidecar.istio.io/inject
        operator: NotIn
        values: ["false"]
{{ include "istiod.injectionHook" (merge (dict "prefix" "rev.object.") $hook) }}
  namespaceSelector:
    matchExpressions:
      - key: istio.io/rev
        operator: DoesNotExist
      - key: istio-injection
        operator: DoesNotExist
  objectSelector:
    matchExpressions:
      - key: sidecar.istio.io/inject
        operator: NotIn
        values: ["false"]
      - key: istio.io/rev
        operator: In
        values: [{{ .value | quote }}]
{{- end }}

{{/* Extra webhooks that only the default control plane (or tag "default") has. */}}
{{- define "istiod.defaultHooks" -}}
{{- $hook := dict "service" (include "istiod.name" .) "namespace" .Release.Namespace "path" (.Values.istiodRemote.injectionPath | default "/inject") "reinvocation" (.Values.sidecarInjectorWebhook.reinvocationPolicy | default "Never") }}
{{ include "istiod.injectionHook" (merge (dict "prefix" "namespace.") $hook) }}
  namespaceSelector:
    matchExpressions:
      - key: istio-injection
        operator: In
        values: ["enabled"]
  objectSelector:
    matchExpressions:
      - key: sidecar.istio.io/inject
        operator: NotIn
        values: ["false"]
{{ include "istiod.injectionHook" (merge (dict "prefix" "object.") $hook) }}
  namespaceSelector:
    matchExpressions:
      - key: istio-injection
        operator: DoesNotExist
      - key: istio.io/rev
        operator: DoesNotExist
  objectSelector:
    matchExpressions:
      - key: sidecar.istio.io/inject
        operator: In
        values: ["true"]
      - key: istio.io/rev
        operator: DoesNotExist
{{- end }}
