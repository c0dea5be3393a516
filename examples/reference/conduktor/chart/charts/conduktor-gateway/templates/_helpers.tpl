{{- define "conduktor-gateway.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "conduktor-gateway.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "conduktor-gateway.labels" -}}
app.kubernetes.io/name: {{ include "conduktor-gateway.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "conduktor-gateway.podSelectorLabels" -}}
app.kubernetes.io/name: {{ include "conduktor-gateway.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "conduktor-gateway.internalServiceName" -}}
{{- printf "%s-internal" (include "conduktor-gateway.fullname" . | trunc 54) -}}
{{- end -}}

{{- define "conduktor-gateway.externalServiceName" -}}
{{- printf "%s-external" (include "conduktor-gateway.fullname" . | trunc 54) -}}
{{- end -}}

{{- define "conduktor-gateway.internalListenerAdvertisedHost" -}}
{{- printf "%s.%s.svc.%s" (include "conduktor-gateway.internalServiceName" .) .Release.Namespace .Values.clusterDomain -}}
{{- end -}}

{{/* The listener env vars of chart >= 3.20 (multi-listener mode), as the real chart names them. */}}
{{- define "conduktor-gateway.listenerModeEnvVars" -}}
{{- $vars := dict -}}
{{- $_ := set $vars "GATEWAY_LISTENER_NAMES" (ternary "INTERNAL,EXTERNAL" "INTERNAL" .Values.service.external.enable) -}}
{{- $_ := set $vars "GATEWAY_SECURITY_MODE" .Values.gateway.securityMode -}}
{{- $_ := set $vars "GATEWAY_LISTENER_INTERNAL_SECURITY_PROTOCOL" .Values.gateway.listeners.internal.securityProtocol -}}
{{- $_ := set $vars "GATEWAY_LISTENER_INTERNAL_ROUTING" (.Values.gateway.listeners.internal.routing | upper) -}}
{{- $_ := set $vars "GATEWAY_LISTENER_INTERNAL_PORTS" (.Values.gateway.listeners.internal.ports | join ",") -}}
{{- $_ := set $vars "GATEWAY_LISTENER_INTERNAL_ADVERTISED_HOST" (include "conduktor-gateway.internalListenerAdvertisedHost" .) -}}
{{- if .Values.service.external.enable -}}
{{- $_ := set $vars "GATEWAY_LISTENER_EXTERNAL_SECURITY_PROTOCOL" .Values.gateway.listeners.external.securityProtocol -}}
{{- $_ := set $vars "GATEWAY_LISTENER_EXTERNAL_ROUTING" (.Values.gateway.listeners.external.routing | upper) -}}
{{- $_ := set $vars "GATEWAY_LISTENER_EXTERNAL_PORTS" (.Values.gateway.listeners.external.ports | join ",") -}}
{{- $_ := set $vars "GATEWAY_LISTENER_EXTERNAL_ADVERTISED_HOST" (required "gateway.listeners.external.advertisedHost is required when service.external.enable is true" .Values.gateway.listeners.external.advertisedHost) -}}
{{- with .Values.gateway.listeners.external.advertisedHostPattern -}}
{{- $_ := set $vars "GATEWAY_LISTENER_EXTERNAL_ADVERTISED_HOST_PATTERN" . -}}
{{- end -}}
{{- with .Values.gateway.listeners.external.bootstrapHostPattern -}}
{{- $_ := set $vars "GATEWAY_LISTENER_EXTERNAL_BOOTSTRAP_HOST_PATTERN" . -}}
{{- end -}}
{{- end -}}
{{- toJson $vars -}}
{{- end -}}

{{- define "conduktor-gateway.firstPort" -}}
{{- index (splitList "-" (toString (first .))) 0 -}}
{{- end -}}
