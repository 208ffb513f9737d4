{{- define "shiplog.labels" -}}
app.kubernetes.io/name: shiplog
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "shiplog.selector" -}}
app.kubernetes.io/name: shiplog
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "shiplog.env" -}}
- name: SHIPLOG_KAFKA_BROKERS
  value: {{ .Values.kafka.brokers | quote }}
- name: SHIPLOG_KAFKA_TOPIC_PREFIX
  value: {{ .Values.kafka.topicPrefix | quote }}
{{- range $k, $v := .Values.env }}
- name: {{ $k }}
  value: {{ $v | quote }}
{{- end }}
{{- end -}}
