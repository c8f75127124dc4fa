{{/*
Gateway name: .Values.name, else the release name (ignored when it is the
placeholder "RELEASE-NAME"), else "istio-ingressgateway".
*/}}
{{- define "gateway.name" -}}
{{- $release := .Release.Name -}}
{{- if eq $release "RELEASE-NAME" }}{{ $release = "" }}{{ end -}}
{{- coalesce .Values.name $release "istio-ingressgateway" -}}
{{- end }}

{{/*
Selector labels: app = labels.app or the gateway name; istio = labels.istio
or the gateway name without a leading "istio-".
*/}}
{{- define "gateway.selectorLabels" -}}
{{- $name := include "gateway.name" . -}}
{{- $extra := .Values.labels | default dict -}}
app: {{ get $extra "app" | default $name | quote }}
istio: {{ get $extra "istio" | default (trimPrefix "istio-" $name) | quote }}
{{- end }}

{{/* .Values.labels other than app/istio. */}}
{{- define "gateway.extraLabels" -}}
{{- range $k, $v := (.Values.labels | default dict) }}
{{- if not (has $k (list "app" "istio")) }}
{{ $k | quote }}: {{ $v | quote }}
{{- end }}
{{- end }}
{{- end }}

{{- define "gateway.commonLabels" -}}
app.kubernetes.io/name: {{ include "gateway.name" . | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service | quote }}
app.kubernetes.io/instance: {{ .Release.Name | quote }}
app.kubernetes.io/part-of: "istio"
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | trunc 63 | trimSuffix "-" | quote }}
{{- end }}

{{/* Labels on every object: common + selector + extra. */}}
{{- define "gateway.labels" -}}
{{ include "gateway.commonLabels" . }}
{{ include "gateway.selectorLabels" . }}
{{- include "gateway.extraLabels" . }}
{{- end }}

{{- define "gateway.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- .Values.serviceAccount.name | default (include "gateway.name" .) -}}
{{- else -}}
{{- .Values.serviceAccount.name | default "default" -}}
{{- end -}}
{{- end }}

{{- define "gateway.metadata" -}}
name: {{ include "gateway.name" . }}
namespace: {{ .Release.Namespace }}
labels:
  {{- include "gateway.labels" . | nindent 2 }}
{{- with .Values.annotations }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}
