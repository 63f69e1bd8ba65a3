package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// kubeDocs splits ntx kube's output and decodes each document strictly
// (an unknown or misspelt field is an error) into the Kubernetes API
// types.
func kubeDocs(t *testing.T, out string) (*corev1.ConfigMap, *corev1.Service, *batchv1.Job) {
	t.Helper()
	docs := strings.Split(out, "\n---\n")
	if len(docs) != 3 {
		t.Fatalf("%d documents, want 3:\n%s", len(docs), out)
	}
	var cm corev1.ConfigMap
	var svc corev1.Service
	var job batchv1.Job
	for i, v := range []any{&cm, &svc, &job} {
		if err := yaml.UnmarshalStrict([]byte(docs[i]), v); err != nil {
			t.Fatalf("document %d does not decode strictly: %v\n%s", i+1, err, docs[i])
		}
	}
	if cm.Kind != "ConfigMap" || svc.Kind != "Service" || job.Kind != "Job" || job.APIVersion != "batch/v1" {
		t.Fatalf("kinds %s, %s, %s", cm.Kind, svc.Kind, job.Kind)
	}
	return &cm, &svc, &job
}

func TestKubeManifests(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("lib/util.star", "def hello(user):\n    return 'hi'\n")
	write("data/users.csv", "name\nann\nbob\n")
	scenario := `
version: "1.0"
name: Shop Checkout
workbook:
  ip_pools:
    - {id: loop, ranges: ["127.88.0.0/26"]}
modules:
  util: lib/util.star
data:
  - {id: users, file: data/users.csv}
actions:
  actions:
    - {id: say, call: util.hello}
workflows:
  nodes:
    - {id: start, type: action, action: say, edges: [{to: end}]}
    - {id: end, type: end}
`
	file := write("shop.yaml", scenario)
	code, out, stderr := ntx(t, "kube", file, "--segments", "4", "--image", "registry.example/ntx:1.0", "--namespace", "load")
	if code != exitPassed {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	cm, svc, job := kubeDocs(t, out)
	// The ConfigMap holds the scenario and every file it loads, mounted
	// back at their paths.
	vol := job.Spec.Template.Spec.Volumes[0].ConfigMap
	var paths []string
	for _, it := range vol.Items {
		paths = append(paths, it.Path)
		if _, ok := cm.Data[it.Key]; !ok {
			t.Errorf("the volume names key %s, which the ConfigMap lacks", it.Key)
		}
	}
	if !slices.Equal(paths, []string{"shop.yaml", "data/users.csv", "lib/util.star"}) {
		t.Errorf("files %v", paths)
	}
	for _, it := range vol.Items {
		if it.Path == "shop.yaml" && cm.Data[it.Key] != scenario {
			t.Error("the ConfigMap's scenario differs from the file")
		}
	}
	if svc.Spec.ClusterIP != "None" || svc.Namespace != "load" || svc.Spec.Ports[0].Port != 7070 {
		t.Errorf("service %+v", svc.Spec)
	}
	s := job.Spec
	if s.CompletionMode == nil || *s.CompletionMode != batchv1.IndexedCompletion || *s.Completions != 4 || *s.Parallelism != 4 {
		t.Errorf("job spec: mode %v, completions %v, parallelism %v", s.CompletionMode, s.Completions, s.Parallelism)
	}
	pod := s.Template.Spec
	c := pod.Containers[0]
	want := []string{"exec", "--segment", "$(JOB_COMPLETION_INDEX)/4", "--coordinator", "ntx-shop-checkout-0.ntx-shop-checkout:7070", "/scenario/shop.yaml"}
	if job.Name != "ntx-shop-checkout" || pod.Subdomain != svc.Name || !slices.Equal(c.Args, want) {
		t.Errorf("job %s, subdomain %s, args %q", job.Name, pod.Subdomain, c.Args)
	}
	if svc.Spec.Selector["ntx.dev/fleet"] != s.Template.Labels["ntx.dev/fleet"] {
		t.Error("the Service does not select the Job's pods")
	}
	// Loopback pools need no address added: nothing gets NET_ADMIN, and
	// ntx runs as non-root without capabilities.
	if len(pod.InitContainers) != 0 || strings.Contains(out, "NET_ADMIN") {
		t.Error("a loopback pool asked for NET_ADMIN")
	}
	if pod.SecurityContext == nil || !*pod.SecurityContext.RunAsNonRoot || c.SecurityContext.Capabilities.Drop[0] != "ALL" {
		t.Error("the ntx container may run as root or keep capabilities")
	}

	// A pool of addresses a pod lacks: an init container with NET_ADMIN
	// adds the pod's slice; the ntx container still has none.
	write("shop.yaml", strings.Replace(scenario, "127.88.0.0/26", "10.20.0.0/26", 1))
	code, out, stderr = ntx(t, "kube", file, "--segments", "3", "--image", "ntx:dev", "--name", "shop")
	if code != exitPassed {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	_, _, job = kubeDocs(t, out)
	pod = job.Spec.Template.Spec
	if len(pod.InitContainers) != 2 {
		t.Fatalf("%d init containers, want 2", len(pod.InitContainers))
	}
	add := pod.InitContainers[1]
	if add.SecurityContext == nil || add.SecurityContext.Capabilities == nil || !slices.Contains(add.SecurityContext.Capabilities.Add, "NET_ADMIN") {
		t.Error("the address init container lacks NET_ADMIN")
	}
	if caps := pod.Containers[0].SecurityContext.Capabilities; len(caps.Add) != 0 {
		t.Errorf("the ntx container gets capabilities %v", caps.Add)
	}
	if got := pod.InitContainers[0].Args; !slices.Equal(got[:3], []string{"addresses", "--segment", "$(JOB_COMPLETION_INDEX)/3"}) {
		t.Errorf("list-addresses args %q", got)
	}
	// What that init container lists: segment 1's slice of the /26.
	t.Setenv("JOB_COMPLETION_INDEX", "1")
	code, out, stderr = ntx(t, "addresses", "--segment", "/3", file)
	lines := strings.Fields(out)
	if code != exitPassed || len(lines) != 21 || lines[0] != "10.20.0.21/32" || lines[20] != "10.20.0.41/32" {
		t.Errorf("addresses: exit %d, %d lines %v\n%s", code, len(lines), lines, stderr)
	}

	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"kube", file, "--segments", "2"}, "--image is required"},
		{[]string{"kube", file, "--image", "x"}, "--segments must be at least 1"},
		{[]string{"kube", file, "--segments", "2", "--image", "x", "--name", "Bad_Name"}, "must be a DNS label"},
	} {
		code, _, stderr := ntx(t, c.args...)
		if code != exitInvalid || !strings.Contains(stderr, c.msg) {
			t.Errorf("%v: exit %d\n%s", c.args, code, stderr)
		}
	}
}
