package diff_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/plinth-platform/plinth/lib/diff"
)

// noteWant is what TestNotes checks of a note.
type noteWant struct {
	severity, kind, object, message string // message: a substring
}

func TestNotes(t *testing.T) {
	const pvc = `
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: ml}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: ceph
  resources: {requests: {storage: 20Gi}}
`
	const crd = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: notebooks.kubeflow.org}
spec:
  group: kubeflow.org
  names: {kind: Notebook, plural: notebooks}
  scope: Namespaced
`
	const ns = "apiVersion: v1\nkind: Namespace\nmetadata: {name: ml}\n"
	const sts = `
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: ml}
spec:
  serviceName: db
  podManagementPolicy: OrderedReady
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: db, image: "postgres:16"}]}
  volumeClaimTemplates: [{metadata: {name: data}, spec: {resources: {requests: {storage: 1Gi}}}}]
`
	const job = `
apiVersion: batch/v1
kind: Job
metadata: {name: migrate, namespace: ml}
spec:
  template:
    spec: {restartPolicy: Never, containers: [{name: m, image: "migrate:1"}]}
`
	const svc = `
apiVersion: v1
kind: Service
metadata: {name: api, namespace: ml}
spec: {clusterIP: 10.0.0.10, ports: [{port: 80}]}
`
	const sc = `
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: ceph}
provisioner: rbd.csi.ceph.com
parameters: {pool: k8s}
`
	const gpuDeploy = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: trainer, namespace: ml}
spec:
  selector: {matchLabels: {app: trainer}}
  template:
    metadata: {labels: {app: trainer}}
    spec:
      containers:
      - name: t
        image: "trainer:1"
        resources: {limits: {nvidia.com/gpu: 1}}
`
	const gpuCron = `
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly, namespace: ml}
spec:
  schedule: "0 2 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          containers:
          - name: t
            image: "trainer:1"
            resources: {requests: {nvidia.com/gpu: 2}}
`
	const immutableCM = `
apiVersion: v1
kind: ConfigMap
metadata: {name: frozen, namespace: ml}
immutable: true
data: {a: "1"}
`
	const immutableSecret = `
apiVersion: v1
kind: Secret
metadata: {name: frozen, namespace: ml}
immutable: true
stringData: {token: s3cr3t-VALUE-immutable-1}
`
	r := strings.Replace
	tests := []struct {
		name       string
		base, head diff.Rendered
		bw, hw     map[string][]diff.Warning
		want       []noteWant
	}{{
		name: "pvc deleted",
		base: one(t, pvc), head: one(t, ""),
		want: []noteWant{{"danger", "pvc-deleted", "PersistentVolumeClaim/ml/data",
			"PersistentVolumeClaim/ml/data is deleted: data on it is deleted with it unless the PV's reclaim policy is Retain"}},
	}, {
		name: "crd deleted",
		base: one(t, crd), head: one(t, ""),
		want: []noteWant{{"danger", "crd-deleted", "CustomResourceDefinition.apiextensions.k8s.io/notebooks.kubeflow.org",
			"every custom resource of kubeflow.org/Notebook in the cluster is deleted with it"}},
	}, {
		name: "namespace deleted",
		base: one(t, ns), head: one(t, ""),
		want: []noteWant{{"danger", "namespace-deleted", "Namespace/ml", "Namespace/ml is deleted: everything in it is deleted"}},
	}, {
		name: "environment removed, with its PVC",
		base: rendered(t, map[string]map[string]string{"prod": {"app": pvc}}),
		head: diff.Rendered{},
		want: []noteWant{
			{"danger", "environment-removed", "", "environment prod is removed: its one object is deleted with it"},
			{"danger", "pvc-deleted", "PersistentVolumeClaim/ml/data", "is deleted"},
		},
	}, {
		name: "deployment selector",
		base: one(t, deployment),
		head: one(t, r(deployment, "matchLabels: {app: web}", "matchLabels: {app: web2}", 1)),
		want: []noteWant{{"warning", "immutable-field", "Deployment.apps/shop/web", "spec.selector is immutable"}},
	}, {
		name: "statefulset fields",
		base: one(t, sts),
		head: one(t, r(r(r(r(sts, "serviceName: db", "serviceName: db2", 1), "OrderedReady", "Parallel", 1),
			"storage: 1Gi", "storage: 2Gi", 1), "matchLabels: {app: db}", "matchLabels: {app: db, x: y}", 1)),
		want: []noteWant{
			{"warning", "immutable-field", "StatefulSet.apps/ml/db", "spec.podManagementPolicy is immutable"},
			{"warning", "immutable-field", "StatefulSet.apps/ml/db", "spec.selector is immutable"},
			{"warning", "immutable-field", "StatefulSet.apps/ml/db", "spec.serviceName is immutable"},
			{"warning", "immutable-field", "StatefulSet.apps/ml/db", "spec.volumeClaimTemplates is immutable"},
		},
	}, {
		name: "statefulset template is mutable",
		base: one(t, sts), head: one(t, r(sts, "postgres:16", "postgres:17", 1)),
	}, {
		name: "job template",
		base: one(t, job), head: one(t, r(job, "migrate:1", "migrate:2", 1)),
		want: []noteWant{{"warning", "immutable-field", "Job.batch/ml/migrate", "spec.template is immutable"}},
	}, {
		name: "service clusterIP changed",
		base: one(t, svc), head: one(t, r(svc, "10.0.0.10", "10.0.0.11", 1)),
		want: []noteWant{{"warning", "immutable-field", "Service/ml/api", "spec.clusterIP is immutable"}},
	}, {
		name: "service clusterIP set to None",
		base: one(t, r(svc, "clusterIP: 10.0.0.10, ", "", 1)), head: one(t, r(svc, "10.0.0.10", "None", 1)),
		want: []noteWant{{"warning", "immutable-field", "Service/ml/api", "spec.clusterIP is immutable"}},
	}, {
		name: "service clusterIP dropped",
		base: one(t, svc), head: one(t, r(svc, "clusterIP: 10.0.0.10, ", "", 1)),
	}, {
		name: "pvc class, access modes",
		base: one(t, pvc),
		head: one(t, r(r(pvc, "ReadWriteOnce", "ReadWriteMany", 1), "ceph", "nfs", 1)),
		want: []noteWant{
			{"warning", "immutable-field", "PersistentVolumeClaim/ml/data", "spec.accessModes is immutable"},
			{"warning", "immutable-field", "PersistentVolumeClaim/ml/data", "spec.storageClassName is immutable"},
		},
	}, {
		name: "pvc shrinks",
		base: one(t, pvc), head: one(t, r(pvc, "20Gi", "10Gi", 1)),
		want: []noteWant{{"warning", "immutable-field", "PersistentVolumeClaim/ml/data",
			"spec.resources.requests.storage shrinks from 20Gi to 10Gi"}},
	}, {
		name: "pvc grows",
		base: one(t, pvc), head: one(t, r(pvc, "20Gi", "30Gi", 1)),
	}, {
		name: "storage class",
		base: one(t, sc), head: one(t, r(r(sc, "rbd.csi", "cephfs.csi", 1), "pool: k8s", "pool: k9s", 1)),
		want: []noteWant{
			{"warning", "immutable-field", "StorageClass.storage.k8s.io/ceph", "parameters is immutable"},
			{"warning", "immutable-field", "StorageClass.storage.k8s.io/ceph", "provisioner is immutable"},
		},
	}, {
		name: "immutable configmap data",
		base: one(t, immutableCM), head: one(t, r(immutableCM, `a: "1"`, `a: "2"`, 1)),
		want: []noteWant{{"warning", "immutable-field", "ConfigMap/ml/frozen", "data/binaryData of an immutable ConfigMap changes"}},
	}, {
		name: "immutable configmap label",
		base: one(t, immutableCM), head: one(t, r(immutableCM, "namespace: ml}", "namespace: ml, labels: {a: b}}", 1)),
	}, {
		name: "immutable secret data",
		base: one(t, immutableSecret), head: one(t, r(immutableSecret, "s3cr3t-VALUE-immutable-1", "s3cr3t-VALUE-immutable-2", 1)),
		want: []noteWant{{"warning", "immutable-field", "Secret/ml/frozen", "data/stringData of an immutable Secret changes"}},
	}, {
		name: "immutable unset",
		base: one(t, immutableCM), head: one(t, r(immutableCM, "immutable: true", "immutable: false", 1)),
		want: []noteWant{{"warning", "immutable-field", "ConfigMap/ml/frozen", "immutable: true cannot be unset"}},
	}, {
		name: "gpu deployment template",
		base: one(t, gpuDeploy), head: one(t, r(gpuDeploy, "trainer:1", "trainer:2", 1)),
		want: []noteWant{{"warning", "gpu-restart", "Deployment.apps/ml/trainer",
			"spec.template changes on a workload that uses nvidia.com/gpu: running GPU jobs on it restart"}},
	}, {
		name: "gpu added to a deployment",
		base: one(t, r(gpuDeploy, "resources: {limits: {nvidia.com/gpu: 1}}", "resources: {}", 1)),
		head: one(t, gpuDeploy),
		want: []noteWant{{"warning", "gpu-restart", "Deployment.apps/ml/trainer", "running GPU jobs on it restart"}},
	}, {
		name: "gpu deployment replicas only",
		base: one(t, gpuDeploy), head: one(t, r(gpuDeploy, "spec:\n  selector", "spec:\n  replicas: 4\n  selector", 1)),
	}, {
		name: "gpu cronjob",
		base: one(t, gpuCron), head: one(t, r(gpuCron, "trainer:1", "trainer:2", 1)),
		want: []noteWant{{"warning", "gpu-restart", "CronJob.batch/ml/nightly", "spec.jobTemplate.spec.template changes"}},
	}, {
		name: "no gpu",
		base: one(t, deployment), head: one(t, r(deployment, "nginx:1.27", "nginx:1.28", 1)),
	}, {
		name: "compatibility",
		base: one(t, deployment), head: one(t, deployment),
		bw:   map[string][]diff.Warning{"prod": {{"K8S-1.33", "old"}}},
		hw:   map[string][]diff.Warning{"prod": {{"K8S-1.33", "old"}, {"KUBEFLOW-ISTIO", "Kubeflow 1.10 needs Istio >= 1.24"}, {"KUBEFLOW-ISTIO", "Kubeflow 1.10 needs Istio >= 1.24"}}},
		want: []noteWant{{"warning", "compatibility", "", "the change introduces KUBEFLOW-ISTIO: Kubeflow 1.10 needs Istio >= 1.24"}},
	}, {
		name: "moved and apiVersion",
		base: rendered(t, map[string]map[string]string{"prod": {"a": "apiVersion: policy/v1beta1\nkind: PodDisruptionBudget\nmetadata: {name: p, namespace: ml}\n"}}),
		head: rendered(t, map[string]map[string]string{"prod": {"b": "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: p, namespace: ml}\n"}}),
		want: []noteWant{
			{"info", "api-version", "PodDisruptionBudget.policy/ml/p", "apiVersion changes from policy/v1beta1 to policy/v1"},
			{"info", "moved", "PodDisruptionBudget.policy/ml/p", "moves from component a to component b"},
		},
	}, {
		name: "order: danger, warning, info",
		base: one(t, pvc+"---"+svc+"---\n"+"apiVersion: policy/v1beta1\nkind: PodDisruptionBudget\nmetadata: {name: p, namespace: ml}\n"),
		head: one(t, r(svc, "10.0.0.10", "10.0.0.11", 1)+"---\n"+"apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: p, namespace: ml}\n"),
		want: []noteWant{
			{"danger", "pvc-deleted", "PersistentVolumeClaim/ml/data", ""},
			{"warning", "immutable-field", "Service/ml/api", ""},
			{"info", "api-version", "PodDisruptionBudget.policy/ml/p", ""},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := diff.Compare(diff.Input{Base: tt.base, Head: tt.head, BaseWarnings: tt.bw, HeadWarnings: tt.hw})
			if len(rep.Notes) != len(tt.want) {
				t.Fatalf("notes:\n%s\nwant %d", notesString(rep.Notes), len(tt.want))
			}
			for i, w := range tt.want {
				n := rep.Notes[i]
				if n.Severity != w.severity || n.Kind != w.kind || n.Object != w.object || !strings.Contains(n.Message, w.message) {
					t.Errorf("note %d = %+v, want %+v", i, n, w)
				}
				if n.Environment != "prod" {
					t.Errorf("note %d: environment %q", i, n.Environment)
				}
			}
			out := outputs(t, rep)
			for format, s := range out {
				if strings.Contains(s, "s3cr3t-VALUE") {
					t.Errorf("%s output shows a secret value:\n%s", format, s)
				}
			}
		})
	}
}

func notesString(notes []diff.Note) string {
	var b strings.Builder
	for _, n := range notes {
		fmt.Fprintf(&b, "  %+v\n", n)
	}
	return b.String()
}
