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

{{/*
The services one service calls in the cluster, as a JSON list: every other
service for the gateway, its own `calls` for the rest; call with
(dict "root" $ "name" $name).
*/}}
{{- define "kreo-marketplace.callees" -}}
{{- $services := .root.Values.services -}}
{{- $svc := get $services .name -}}
{{- $callees := list -}}
{{- if $svc.gateway -}}
{{- $callees = without (keys $services | sortAlpha) .name -}}
{{- else -}}
{{- range $callee := $svc.calls | default list -}}
{{- if or (eq $callee $.name) (not (hasKey $services $callee)) -}}
{{- fail (printf "services.%s.calls: %s is not another service" $.name $callee) -}}
{{- end -}}
{{- $callees = append $callees $callee -}}
{{- end -}}
{{- end -}}
{{- toJson $callees -}}
{{- end -}}

{{/* The services that call service .name: the reverse of kreo-marketplace.callees. */}}
{{- define "kreo-marketplace.callers" -}}
{{- $root := .root -}}
{{- $target := .name -}}
{{- $callers := list -}}
{{- range $caller := keys $root.Values.services | sortAlpha -}}
{{- if has $target (include "kreo-marketplace.callees" (dict "root" $root "name" $caller) | fromJsonArray) -}}
{{- $callers = append $callers $caller -}}
{{- end -}}
{{- end -}}
{{- toJson $callers -}}
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

{{/* The database-roles hook job's objects (Job, ServiceAccount, ConfigMap). */}}
{{- define "kreo-marketplace.databaseRolesName" -}}
{{- include "kreo-marketplace.fullname" (dict "root" . "suffix" "database-roles") -}}
{{- end -}}

{{/* The Secret (from Secrets Manager) with the master user's credentials, for that job only. */}}
{{- define "kreo-marketplace.databaseMasterSecretName" -}}
{{- include "kreo-marketplace.fullname" (dict "root" . "suffix" "database-master") -}}
{{- end -}}

{{- define "kreo-marketplace.databaseRolesSelectorLabels" -}}
app.kubernetes.io/name: database-roles
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* The common labels (with the instance) and the job's name and component. */}}
{{- define "kreo-marketplace.databaseRolesLabels" -}}
{{ include "kreo-marketplace.labels" . }}
app.kubernetes.io/name: database-roles
app.kubernetes.io/component: database-roles
{{- end -}}

{{/*
The roles script: for every service a writer role owning the schema of its name
and a reader role with SELECT on it, both LOGIN and IAM-authenticated (rds_iam,
no password). Every statement is idempotent, so the script runs on every
install and upgrade; psql runs it in one transaction.
*/}}
{{- define "kreo-marketplace.databaseRolesSql" -}}
{{- $dr := .Values.databaseRoles -}}
-- Rendered from values.databaseRoles by the kreo-marketplace chart; run by the
-- database-roles hook job as the master user on every install and upgrade.
-- Idempotent: running it again changes nothing.

-- One run at a time.
SELECT pg_advisory_xact_lock(hashtext('kreo-marketplace-database-roles'));

-- Nobody creates objects in public, nor connects, unless granted below.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
REVOKE ALL ON DATABASE "{{ $dr.database }}" FROM PUBLIC;
{{- range $name, $roles := $dr.services }}
{{- $user := $roles.user }}
{{- $reader := $roles.readerUser }}

-- {{ $name }}: "{{ $user }}" owns schema "{{ $user }}"; "{{ $reader }}" reads it.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = '{{ $user }}') THEN
    CREATE ROLE "{{ $user }}" LOGIN;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = '{{ $reader }}') THEN
    CREATE ROLE "{{ $reader }}" LOGIN;
  END IF;
END
$$;
ALTER ROLE "{{ $user }}" WITH LOGIN INHERIT NOCREATEDB NOCREATEROLE PASSWORD NULL;
ALTER ROLE "{{ $reader }}" WITH LOGIN INHERIT NOCREATEDB NOCREATEROLE PASSWORD NULL;
-- IAM authentication only (RDS: members of rds_iam log in with IAM tokens).
GRANT rds_iam TO "{{ $user }}", "{{ $reader }}";
GRANT CONNECT ON DATABASE "{{ $dr.database }}" TO "{{ $user }}", "{{ $reader }}";
ALTER ROLE "{{ $user }}" SET search_path = "{{ $user }}";
ALTER ROLE "{{ $reader }}" SET search_path = "{{ $user }}";
-- The master may act as the writer (SET ROLE) without inheriting its rights.
GRANT "{{ $user }}" TO CURRENT_USER WITH INHERIT FALSE, SET TRUE;
CREATE SCHEMA IF NOT EXISTS "{{ $user }}" AUTHORIZATION "{{ $user }}";
ALTER SCHEMA "{{ $user }}" OWNER TO "{{ $user }}";
SET ROLE "{{ $user }}";
REVOKE ALL ON SCHEMA "{{ $user }}" FROM PUBLIC;
GRANT USAGE ON SCHEMA "{{ $user }}" TO "{{ $reader }}";
GRANT SELECT ON ALL TABLES IN SCHEMA "{{ $user }}" TO "{{ $reader }}";
ALTER DEFAULT PRIVILEGES FOR ROLE "{{ $user }}" IN SCHEMA "{{ $user }}" GRANT SELECT ON TABLES TO "{{ $reader }}";
RESET ROLE;
{{- end }}
{{- end -}}
