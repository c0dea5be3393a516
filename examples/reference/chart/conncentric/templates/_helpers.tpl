{{/* Labels shared by every object of the release. */}}
{{- define "conncentric.labels" -}}
app.kubernetes.io/name: conncentric
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end }}

{{/* Selector labels of one component; call with (dict "root" $ "component" "portal"). */}}
{{- define "conncentric.selectorLabels" -}}
app.kubernetes.io/name: conncentric
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Image of one component, from the ECR registry in values. */}}
{{- define "conncentric.image" -}}
{{ printf "%s/%s:%s" .root.Values.image.registry .component .root.Values.image.tag }}
{{- end }}

{{/*
Environment common to the platform containers and the installer: the values'
env map, the database coordinates, and the password from a Secret (K8S-05).
*/}}
{{- define "conncentric.env" -}}
{{- range $name := keys .Values.env | sortAlpha }}
- name: {{ $name }}
  value: {{ index $.Values.env $name | quote }}
{{- end }}
- name: DB_HOST
  value: {{ .Values.database.host | quote }}
- name: DB_PORT
  value: {{ .Values.database.port | quote }}
- name: DB_NAME
  value: {{ .Values.database.name | quote }}
- name: DB_USER
  value: {{ .Values.database.username | quote }}
- name: DB_PASSWORD
  valueFrom:
    secretKeyRef:
      {{- toYaml .Values.database.passwordSecretRef | nindent 6 }}
{{- end }}
