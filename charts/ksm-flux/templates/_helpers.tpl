{{/* The adapter identity: the watcher Deployment's name, which the StateManagementProvider names. */}}
{{- define "ksm-flux.adapterName" -}}
{{- if not (regexMatch "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$" .Values.adapter.name) -}}
{{- fail "adapter.name must be a DNS label (lower-case letters, digits and '-')" -}}
{{- end -}}
{{- .Values.adapter.name | trunc 56 | trimSuffix "-" -}}
{{- end }}

{{- define "ksm-flux.workerName" -}}
{{- printf "%s-worker" (include "ksm-flux.adapterName" .) -}}
{{- end }}

{{/* Cluster-scoped objects carry the release namespace: one install per namespace does not collide. */}}
{{- define "ksm-flux.clusterRoleName" -}}
{{- printf "%s-%s" (include "ksm-flux.adapterName" .) .Release.Namespace | trunc 253 -}}
{{- end }}

{{- define "ksm-flux.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "ksm-flux.adapterName" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end }}

{{- define "ksm-flux.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "ksm-flux.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "ksm-flux.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: k0rdent
{{- end }}

{{- define "ksm-flux.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end }}

{{- define "ksm-flux.tlsDir" -}}/etc/ksm-flux/temporal-tls{{- end }}
{{- define "ksm-flux.apiKeyDir" -}}/etc/ksm-flux/temporal-api-key{{- end }}
{{- define "ksm-flux.codecDir" -}}/etc/ksm-flux/codec{{- end }}

{{/* Flags both components take: Temporal, identity, logging, and the HTTP listeners. */}}
{{- define "ksm-flux.commonArgs" -}}
- {{ printf "--temporal-address=%s" (required "temporal.address is required" .Values.temporal.address) | quote }}
- {{ printf "--temporal-namespace=%s" .Values.temporal.namespace | quote }}
- {{ printf "--task-queue=%s" .Values.temporal.taskQueue | quote }}
{{- with .Values.temporal.uiUrl }}
- {{ printf "--temporal-ui-url=%s" . | quote }}
{{- end }}
{{- if .Values.temporal.tls.enabled }}
- "--temporal-tls=true"
{{- if .Values.temporal.tls.existingSecret }}
- {{ printf "--temporal-tls-cert=%s/tls.crt" (include "ksm-flux.tlsDir" .) | quote }}
- {{ printf "--temporal-tls-key=%s/tls.key" (include "ksm-flux.tlsDir" .) | quote }}
- {{ printf "--temporal-tls-ca=%s/ca.crt" (include "ksm-flux.tlsDir" .) | quote }}
{{- end }}
{{- with .Values.temporal.tls.serverName }}
- {{ printf "--temporal-tls-server-name=%s" . | quote }}
{{- end }}
{{- end }}
{{- if .Values.temporal.apiKey.existingSecret }}
- {{ printf "--temporal-api-key-file=%s/%s" (include "ksm-flux.apiKeyDir" .) .Values.temporal.apiKey.key | quote }}
{{- end }}
{{- if .Values.codec.existingSecret }}
- {{ printf "--codec-key-file=%s/%s" (include "ksm-flux.codecDir" .) .Values.codec.key | quote }}
{{- end }}
- {{ printf "--adapter-name=%s" (include "ksm-flux.adapterName" .) | quote }}
- {{ printf "--flux-mode=%s" .Values.flux.mode | quote }}
- {{ printf "--log-level=%s" .Values.logLevel | quote }}
- {{ printf "--metrics-addr=:%v" .Values.metrics.port | quote }}
- {{ printf "--health-addr=:%v" .Values.health.port | quote }}
{{- end }}

{{/* Pod labels of one component. */}}
{{- define "ksm-flux.podLabels" -}}
{{ include "ksm-flux.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- with .root.Values.podLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* The pod spec both Deployments share; .args are the component's own flags, .resources its resources. */}}
{{- define "ksm-flux.podSpec" -}}
{{- $root := .root -}}
{{- $v := $root.Values -}}
serviceAccountName: {{ include "ksm-flux.serviceAccountName" $root }}
automountServiceAccountToken: true
{{- with $v.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
terminationGracePeriodSeconds: {{ $v.terminationGracePeriodSeconds }}
securityContext:
  {{- toYaml $v.podSecurityContext | nindent 2 }}
containers:
  - name: {{ .component }}
    image: {{ include "ksm-flux.image" $root | quote }}
    imagePullPolicy: {{ $v.image.pullPolicy }}
    args:
      - {{ .component }}
      {{- include "ksm-flux.commonArgs" $root | nindent 6 }}
      {{- with .args }}
      {{- toYaml . | nindent 6 }}
      {{- end }}
    env:
      # The adapter identity's namespace (and where the watchers' Lease lives).
      - name: POD_NAMESPACE
        valueFrom:
          fieldRef:
            fieldPath: metadata.namespace
      {{- with $v.env }}
      {{- toYaml . | nindent 6 }}
      {{- end }}
    ports:
      - name: metrics
        containerPort: {{ $v.metrics.port }}
        protocol: TCP
      - name: health
        containerPort: {{ $v.health.port }}
        protocol: TCP
    livenessProbe:
      httpGet:
        path: /healthz
        port: health
      initialDelaySeconds: 5
      periodSeconds: 10
      timeoutSeconds: 5
      failureThreshold: 3
    readinessProbe:
      httpGet:
        path: /readyz
        port: health
      periodSeconds: 10
      timeoutSeconds: 5
      failureThreshold: 3
    resources:
      {{- toYaml .resources | nindent 6 }}
    securityContext:
      {{- toYaml $v.securityContext | nindent 6 }}
    volumeMounts:
      - name: tmp
        mountPath: /tmp
      {{- if and $v.temporal.tls.enabled $v.temporal.tls.existingSecret }}
      - name: temporal-tls
        mountPath: {{ include "ksm-flux.tlsDir" $root }}
        readOnly: true
      {{- end }}
      {{- if $v.temporal.apiKey.existingSecret }}
      - name: temporal-api-key
        mountPath: {{ include "ksm-flux.apiKeyDir" $root }}
        readOnly: true
      {{- end }}
      {{- if $v.codec.existingSecret }}
      - name: codec-keys
        mountPath: {{ include "ksm-flux.codecDir" $root }}
        readOnly: true
      {{- end }}
volumes:
  - name: tmp
    emptyDir: {}
  {{- if and $v.temporal.tls.enabled $v.temporal.tls.existingSecret }}
  - name: temporal-tls
    secret:
      secretName: {{ $v.temporal.tls.existingSecret }}
  {{- end }}
  {{- if $v.temporal.apiKey.existingSecret }}
  - name: temporal-api-key
    secret:
      secretName: {{ $v.temporal.apiKey.existingSecret }}
      items:
        - key: {{ $v.temporal.apiKey.key }}
          path: {{ $v.temporal.apiKey.key }}
  {{- end }}
  {{- if $v.codec.existingSecret }}
  - name: codec-keys
    secret:
      secretName: {{ $v.codec.existingSecret }}
      items:
        - key: {{ $v.codec.key }}
          path: {{ $v.codec.key }}
  {{- end }}
{{- with $v.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* kcm mode with the chart's kustomize-controller. */}}
{{- define "ksm-flux.kustomizeControllerEnabled" -}}
{{- if and (eq .Values.flux.mode "kcm") .Values.kustomizeController.enabled -}}true{{- end -}}
{{- end }}

{{- define "ksm-flux.kustomizeControllerName" -}}
{{- printf "%s-kustomize-controller" (include "ksm-flux.adapterName" .) -}}
{{- end }}

{{/* Labels of the kustomize-controller's objects (its own component, so selectors never mix it with ours). */}}
{{- define "ksm-flux.kustomizeControllerLabels" -}}
{{ include "ksm-flux.labels" . }}
app.kubernetes.io/component: kustomize-controller
{{- end }}
