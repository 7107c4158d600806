{{/*
Names are kept under Kubernetes' 63-character limit for labels and DNS names.
Service keys are the names of their Deployment, Service, ServiceAccount, HPA
and PDB: the seed's routes (auth-service:3001, ...) and the Pod Identity
associations (namespace/service-account) depend on them.
*/}}
{{- define "kreo-marketplace.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "kreo-marketplace.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* A resource name derived from the release and a suffix, at most 63 characters. */}}
{{- define "kreo-marketplace.fullname" -}}
{{- printf "%s-%s" .root.Release.Name .suffix | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Name of a per-service object: the service key, at most 63 characters. */}}
{{- define "kreo-marketplace.serviceName" -}}
{{- . | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "kreo-marketplace.labels" -}}
helm.sh/chart: {{ include "kreo-marketplace.chart" . }}
app.kubernetes.io/part-of: {{ include "kreo-marketplace.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Labels of one service's objects; call with (dict "root" $ "name" $name). */}}
{{- define "kreo-marketplace.serviceLabels" -}}
{{ include "kreo-marketplace.labels" .root }}
{{ include "kreo-marketplace.selectorLabels" . }}
app.kubernetes.io/component: service
{{- end -}}

{{- define "kreo-marketplace.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kreo-marketplace.serviceName" .name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{/* A service's settings over the chart-wide defaults; call with (dict "root" $ "service" $svc). */}}
{{- define "kreo-marketplace.autoscaling" -}}
{{- $a := .service.autoscaling | default .root.Values.defaults.autoscaling -}}
{{- if gt (int $a.minReplicas) (int $a.maxReplicas) -}}
{{- fail (printf "services.%s.autoscaling: minReplicas (%v) is greater than maxReplicas (%v)" .name $a.minReplicas $a.maxReplicas) -}}
{{- end -}}
{{- toYaml $a -}}
{{- end -}}

{{/* The one service marked gateway: true (the Ingress's default backend). */}}
{{- define "kreo-marketplace.gateway" -}}
{{- $gateways := list -}}
{{- range $name, $svc := .Values.services -}}
{{- if $svc.gateway -}}{{- $gateways = append $gateways $name -}}{{- end -}}
{{- end -}}
{{- if ne (len $gateways) 1 -}}
{{- fail (printf "services: exactly one service needs gateway: true, found %d" (len $gateways)) -}}
{{- end -}}
{{- first $gateways -}}
{{- end -}}

{{- define "kreo-marketplace.configName" -}}
{{- include "kreo-marketplace.fullname" (dict "root" . "suffix" "config") -}}
{{- end -}}

{{- define "kreo-marketplace.sharedSecretName" -}}
{{- include "kreo-marketplace.fullname" (dict "root" . "suffix" "shared-secrets") -}}
{{- end -}}

{{- define "kreo-marketplace.serviceSecretName" -}}
{{- printf "%s-secrets" .name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
