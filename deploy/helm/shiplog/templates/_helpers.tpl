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
{{- with .Values.kafka.tls }}
{{- if .enabled }}
- name: SHIPLOG_KAFKA_TLS
  value: "true"
{{- if .existingSecret }}
- name: SHIPLOG_KAFKA_TLS_CA
  value: {{ printf "/etc/shiplog/kafka-tls/%s" .caKey | quote }}
{{- if .certKey }}
- name: SHIPLOG_KAFKA_TLS_CERT
  value: {{ printf "/etc/shiplog/kafka-tls/%s" .certKey | quote }}
- name: SHIPLOG_KAFKA_TLS_KEY
  value: {{ printf "/etc/shiplog/kafka-tls/%s" (required "kafka.tls.keyKey is required with kafka.tls.certKey" .keyKey) | quote }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- with .Values.kafka.sasl }}
{{- if and .mechanism (ne .mechanism "none") }}
- name: SHIPLOG_KAFKA_SASL_MECHANISM
  value: {{ .mechanism | quote }}
- name: SHIPLOG_KAFKA_SASL_USERNAME
  value: {{ required "kafka.sasl.username is required with kafka.sasl.mechanism" .username | quote }}
- name: SHIPLOG_KAFKA_SASL_PASSWORD
  valueFrom:
    secretKeyRef: { name: {{ required "kafka.sasl.existingSecret is required with kafka.sasl.mechanism (a Secret with the password)" .existingSecret | quote }}, key: {{ .passwordKey | quote }} }
{{- end }}
{{- end }}
{{- range $k, $v := .Values.env }}
- name: {{ $k }}
  value: {{ $v | quote }}
{{- end }}
{{- end -}}


{{- define "shiplog.kafkaTlsMount" -}}
{{- if and .Values.kafka.tls.enabled .Values.kafka.tls.existingSecret }}
- { name: kafka-tls, mountPath: /etc/shiplog/kafka-tls, readOnly: true }
{{- end }}
{{- end -}}

{{- define "shiplog.kafkaTlsVolume" -}}
{{- if and .Values.kafka.tls.enabled .Values.kafka.tls.existingSecret }}
- name: kafka-tls
  secret: { secretName: {{ .Values.kafka.tls.existingSecret | quote }} }
{{- end }}
{{- end -}}
