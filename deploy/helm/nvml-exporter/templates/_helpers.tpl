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

{{- define "nvml-exporter.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride }}
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
{{- if .Values.serviceAccount.create }}
{{- default (include "nvml-exporter.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "nvml-exporter.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{/* The counters CSV the chart's ConfigMap holds: customMetrics, counters.csv, or the default file. */}}
{{- define "nvml-exporter.countersCsv" -}}
{{- .Values.customMetrics | default .Values.counters.csv | default (.Files.Get "files/default-counters.csv") }}
{{- end }}

{{- define "nvml-exporter.countersConfigMap" -}}
{{- .Values.counters.existingConfigMap | default (printf "%s-counters" (include "nvml-exporter.fullname" .)) }}
{{- end }}

{{/* Whether the exporter reads the API server (pods; ResourceSlices for the DRA fallback; the counters ConfigMap). */}}
{{- define "nvml-exporter.readsApi" -}}
{{- if or (include "nvml-exporter.readsPods" .) .Values.kubernetesDRA.resourceSlices .Values.counters.followConfigMap }}true{{ end }}
{{- end }}

{{/* Whether the exporter watches this node's pods (labels, UID, workload). */}}
{{- define "nvml-exporter.readsPods" -}}
{{- if or .Values.kubernetes.enablePodLabels .Values.kubernetes.enablePodUID .Values.kubernetes.enableWorkloadLabel }}true{{ end }}
{{- end }}

{{/* TLS or basic auth: the exporter gets a web config file. */}}
{{- define "nvml-exporter.webConfig" -}}
{{- if or .Values.tlsServerConfig.enabled .Values.basicAuth.users }}true{{ end }}
{{- end }}

{{- define "nvml-exporter.tlsSecretName" -}}
{{- .Values.tlsServerConfig.existingSecret | default (printf "%s-tls" (include "nvml-exporter.fullname" .)) }}
{{- end }}
