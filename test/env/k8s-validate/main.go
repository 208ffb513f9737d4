// k8s-validate: checks Kubernetes manifests against the API's own Go types, offline.
//
//	go run . FILE...   (a file of one or more YAML documents; "-" reads stdin)
//
// Each document is decoded strictly into the type its apiVersion/kind names (an unknown or
// misspelt field, a wrong type, an unknown kind fail), then checked for what the API server
// would refuse on create: a selector that does not select the pod template, a volume mount or
// probe port that names nothing, a container port name over 15 characters. Prints one line per
// object; exits 1 on the first problem.
package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

type typeMeta struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
}

var docSep = regexp.MustCompile(`(?m)^---[ \t]*$`)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: k8s-validate FILE...")
		os.Exit(2)
	}
	n := 0
	for _, f := range os.Args[1:] {
		var data []byte
		var err error
		if f == "-" {
			data, err = io.ReadAll(bufio.NewReader(os.Stdin))
		} else {
			data, err = os.ReadFile(f)
		}
		if err != nil {
			fail("%s: %v", f, err)
		}
		for i, doc := range docSep.Split(string(data), -1) {
			if strings.TrimSpace(stripComments(doc)) == "" {
				continue
			}
			name, err := check([]byte(doc))
			if err != nil {
				fail("%s, document %d: %v", f, i+1, err)
			}
			fmt.Println("ok", name)
			n++
		}
	}
	if n == 0 {
		fail("no Kubernetes object found")
	}
}

func stripComments(doc string) string {
	var b strings.Builder
	for _, l := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			b.WriteString(l)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

func fail(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "k8s-validate: "+format+"\n", a...)
	os.Exit(1)
}

func check(doc []byte) (string, error) {
	var tm typeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return "", err
	}
	// As the API server decodes: field names case-sensitive, unknown and duplicate fields refused.
	strict := func(into any) error {
		j, err := yaml.YAMLToJSON(bytes.TrimSpace(doc))
		if err != nil {
			return err
		}
		strictErrs, err := kjson.UnmarshalStrict(j, into)
		if err != nil {
			return err
		}
		if len(strictErrs) > 0 {
			return fmt.Errorf("%v", strictErrs)
		}
		return nil
	}
	id := tm.APIVersion + "/" + tm.Kind
	switch id {
	case "v1/ConfigMap":
		var o corev1.ConfigMap
		return named(id, o.ObjectMeta, strict(&o))
	case "v1/Secret":
		var o corev1.Secret
		return named(id, o.ObjectMeta, strict(&o))
	case "v1/ServiceAccount":
		var o corev1.ServiceAccount
		return named(id, o.ObjectMeta, strict(&o))
	case "v1/Service":
		var o corev1.Service
		if err := strict(&o); err != nil {
			return "", err
		}
		if len(o.Spec.Selector) == 0 || len(o.Spec.Ports) == 0 {
			return "", fmt.Errorf("%s %s: a selector and ports are needed", id, o.Name)
		}
		return named(id, o.ObjectMeta, nil)
	case "apps/v1/DaemonSet":
		var o appsv1.DaemonSet
		if err := strict(&o); err != nil {
			return "", err
		}
		return named(id, o.ObjectMeta, workload(o.Spec.Selector, &o.Spec.Template))
	case "apps/v1/Deployment":
		var o appsv1.Deployment
		if err := strict(&o); err != nil {
			return "", err
		}
		return named(id, o.ObjectMeta, workload(o.Spec.Selector, &o.Spec.Template))
	default:
		return "", fmt.Errorf("kind %q is not one this checker knows", id)
	}
}

func named(id string, m metav1.ObjectMeta, err error) (string, error) {
	if err != nil {
		return "", err
	}
	if m.Name == "" {
		return "", fmt.Errorf("%s without metadata.name", id)
	}
	return id + " " + m.Name, nil
}

var hostPathTypes = map[corev1.HostPathType]bool{
	corev1.HostPathUnset: true, corev1.HostPathDirectoryOrCreate: true, corev1.HostPathDirectory: true, corev1.HostPathFileOrCreate: true,
	corev1.HostPathFile: true, corev1.HostPathSocket: true, corev1.HostPathCharDev: true, corev1.HostPathBlockDev: true,
}

func workload(sel *metav1.LabelSelector, t *corev1.PodTemplateSpec) error {
	if sel == nil {
		return fmt.Errorf("spec.selector is required")
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return err
	}
	if s.Empty() || !s.Matches(labels.Set(t.Labels)) {
		return fmt.Errorf("spec.selector %v does not select the pod template's labels %v", sel.MatchLabels, t.Labels)
	}
	volumes := map[string]bool{}
	for _, v := range t.Spec.Volumes {
		volumes[v.Name] = true
		if hp := v.HostPath; hp != nil && hp.Type != nil && !hostPathTypes[*hp.Type] {
			return fmt.Errorf("volume %s: hostPath type %q is not one Kubernetes knows", v.Name, *hp.Type)
		}
	}
	if len(t.Spec.Containers) == 0 {
		return fmt.Errorf("a pod template without containers")
	}
	for _, c := range t.Spec.Containers {
		if c.Image == "" {
			return fmt.Errorf("container %s has no image", c.Name)
		}
		ports := map[string]bool{}
		for _, p := range c.Ports {
			if len(p.Name) > 15 {
				return fmt.Errorf("container %s: port name %q is over 15 characters", c.Name, p.Name)
			}
			ports[p.Name] = true
		}
		for _, m := range c.VolumeMounts {
			if !volumes[m.Name] {
				return fmt.Errorf("container %s mounts volume %q, which the pod does not have", c.Name, m.Name)
			}
		}
		for _, p := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe, c.StartupProbe} {
			if p != nil && p.HTTPGet != nil && p.HTTPGet.Port.StrVal != "" && !ports[p.HTTPGet.Port.StrVal] {
				return fmt.Errorf("container %s: a probe uses port %q, which it does not declare", c.Name, p.HTTPGet.Port.StrVal)
			}
		}
	}
	return nil
}
