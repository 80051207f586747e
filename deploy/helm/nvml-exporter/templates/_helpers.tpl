{{/* Names and labels shared by every template. */}}
{{- define "nvml-exporter.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "nvml-exporter.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else if contains (include "nvml-exporter.name" .) .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name (include "nvml-exporter.name" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "nvml-exporter.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/name: {{ include "nvml-exporter.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: nvml-exporter
{{- end }}

{{- define "nvml-exporter.selectorLabels" -}}
app.kubernetes.io/name: {{ include "nvml-exporter.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "nvml-exporter.serviceAccountName" -}}
{{- default (include "nvml-exporter.fullname" .) .Values.serviceAccount.name }}
{{- end }}

{{- define "nvml-exporter.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{/* A probe's handler under webConfig: tcpSocket with basic auth (a probe has no credentials),
HTTPS with TLS, else HTTP. Call with (dict "path" "/health" "root" $). */}}
{{- define "nvml-exporter.probe" -}}
{{- if and .root.Values.webConfig.enabled .root.Values.webConfig.basicAuth.users }}
tcpSocket:
  port: metrics
{{- else }}
httpGet:
  path: {{ .path }}
  port: metrics
  {{- if and .root.Values.webConfig.enabled .root.Values.webConfig.tls.secretName }}
  scheme: HTTPS
  {{- end }}
{{- end }}
{{- end }}

{{- define "nvml-exporter.webConfigSecret" -}}
{{- .Values.webConfig.existingSecret | default (printf "%s-web-config" (include "nvml-exporter.fullname" .)) }}
{{- end }}
