{{- define "conduktor.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "conduktor.fullname" -}}
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

{{- define "conduktor.platformCortex.fullname" -}}
{{- printf "%s-cortex" (include "conduktor.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "conduktor.labels" -}}
app.kubernetes.io/name: {{ include "conduktor.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "conduktor.matchLabels" -}}
app.kubernetes.io/name: {{ include "conduktor.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "conduktor.platform.secretName" -}}
{{- default (printf "%s-platform" (include "conduktor.fullname" .)) .Values.config.existingSecret -}}
{{- end -}}

{{- define "conduktor.platform.configMapName" -}}
{{- printf "%s-platform" (include "conduktor.fullname" .) -}}
{{- end -}}

{{- define "conduktor.platform.tls.secretName" -}}
{{- default (printf "%s-platform-tls" (include "conduktor.fullname" .)) .Values.config.platform.https.existingSecret -}}
{{- end -}}

{{- define "conduktor.image" -}}
{{- printf "%s/%s:%s" .registry .repository .tag -}}
{{- end -}}

{{/* The Console's YAML configuration: everything under config except what goes to Secrets. */}}
{{- define "conduktor.platform.config" -}}
{{- $cfg := omit .Values.config "admin" "existingSecret" "license" "existingLicenseSecret" "platform" "database" -}}
{{- $db := omit .Values.config.database "username" "password" "url" -}}
{{- if or $db.hosts $db.name -}}
{{- $_ := set $cfg "database" $db -}}
{{- end -}}
{{- if .Values.platformCortex.enabled -}}
{{- $_ := set $cfg "monitoring" (dict "cortex-url" (printf "http://%s:%v/" (include "conduktor.platformCortex.fullname" .) .Values.platformCortex.containerPorts.cortex) "prometheus-url" (printf "http://%s:%v/" (include "conduktor.platformCortex.fullname" .) .Values.platformCortex.containerPorts.prometheus)) -}}
{{- end -}}
{{- toYaml $cfg -}}
{{- end -}}
