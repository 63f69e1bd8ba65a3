package fleet

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// DefaultCoordinatorPort is the port segment 0 listens on in a cluster.
const DefaultCoordinatorPort = 7070

// DefaultAddressImage runs `ip addr add` in the init container that
// gives a pod its slice of a pool's addresses.
const DefaultAddressImage = "busybox:1.37"

// KubeOptions describe the manifests of a fleet on Kubernetes.
type KubeOptions struct {
	// Name names the Job, its Service and its ConfigMap (a DNS label).
	Name      string
	Namespace string
	Segments  int
	Image     string
	Port      int
	// Scenario is the scenario's path among Files.
	Scenario string
	// Files are the scenario and every file it loads, by path relative
	// to the scenario's directory, in order.
	Files []KubeFile
	// AddAddresses says that pools have addresses a pod does not have
	// (anything beyond loopback): each pod then adds its slice in an init
	// container with NET_ADMIN, which no other container gets.
	AddAddresses bool
	// AddressImage is the image of that init container (a shell and `ip`).
	AddressImage string
	// Args are more flags for `ntx exec` (e.g. -e NAME, --seed).
	Args []string
}

// KubeFile is one file shipped in the ConfigMap.
type KubeFile struct {
	Path    string
	Content []byte
}

var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// KubeName makes a DNS label from a scenario's name: "ntx-" and the name
// lower-cased, other characters as '-', cut to leave room for the pod
// names Kubernetes derives from it.
func KubeName(scenario string) string {
	var b strings.Builder
	b.WriteString("ntx-")
	for _, r := range strings.ToLower(scenario) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	s := strings.Trim(b.String(), "-")
	for strings.Contains(s, "--") {
		s = strings.ReplaceAll(s, "--", "-")
	}
	if len(s) > 40 {
		s = strings.TrimRight(s[:40], "-")
	}
	return s
}

// The manifests' shapes: only the fields ntx sets, spelled as the
// Kubernetes API spells them (a test decodes them strictly into the API
// types).
type (
	objectMeta struct {
		Name      string            `yaml:"name,omitempty"`
		Namespace string            `yaml:"namespace,omitempty"`
		Labels    map[string]string `yaml:"labels,omitempty"`
	}
	configMap struct {
		APIVersion string              `yaml:"apiVersion"`
		Kind       string              `yaml:"kind"`
		Metadata   objectMeta          `yaml:"metadata"`
		Data       map[string]fileText `yaml:"data"`
	}
	service struct {
		APIVersion string      `yaml:"apiVersion"`
		Kind       string      `yaml:"kind"`
		Metadata   objectMeta  `yaml:"metadata"`
		Spec       serviceSpec `yaml:"spec"`
	}
	serviceSpec struct {
		ClusterIP                string            `yaml:"clusterIP"`
		PublishNotReadyAddresses bool              `yaml:"publishNotReadyAddresses"`
		Selector                 map[string]string `yaml:"selector"`
		Ports                    []servicePort     `yaml:"ports"`
	}
	servicePort struct {
		Name       string `yaml:"name"`
		Port       int    `yaml:"port"`
		TargetPort int    `yaml:"targetPort"`
	}
	job struct {
		APIVersion string     `yaml:"apiVersion"`
		Kind       string     `yaml:"kind"`
		Metadata   objectMeta `yaml:"metadata"`
		Spec       jobSpec    `yaml:"spec"`
	}
	jobSpec struct {
		CompletionMode string      `yaml:"completionMode"`
		Completions    int         `yaml:"completions"`
		Parallelism    int         `yaml:"parallelism"`
		BackoffLimit   int         `yaml:"backoffLimit"`
		Template       podTemplate `yaml:"template"`
	}
	podTemplate struct {
		Metadata objectMeta `yaml:"metadata"`
		Spec     podSpec    `yaml:"spec"`
	}
	podSpec struct {
		Subdomain       string      `yaml:"subdomain"`
		RestartPolicy   string      `yaml:"restartPolicy"`
		SecurityContext podSecurity `yaml:"securityContext"`
		InitContainers  []container `yaml:"initContainers,omitempty"`
		Containers      []container `yaml:"containers"`
		Volumes         []volume    `yaml:"volumes"`
	}
	podSecurity struct {
		RunAsNonRoot bool `yaml:"runAsNonRoot"`
		RunAsUser    int  `yaml:"runAsUser"`
		RunAsGroup   int  `yaml:"runAsGroup"`
	}
	container struct {
		Name            string            `yaml:"name"`
		Image           string            `yaml:"image"`
		Command         []string          `yaml:"command,omitempty"`
		Args            []string          `yaml:"args"`
		Ports           []containerPort   `yaml:"ports,omitempty"`
		VolumeMounts    []volumeMount     `yaml:"volumeMounts"`
		SecurityContext containerSecurity `yaml:"securityContext"`
	}
	containerPort struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	}
	volumeMount struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
		ReadOnly  bool   `yaml:"readOnly,omitempty"`
	}
	containerSecurity struct {
		RunAsNonRoot             *bool        `yaml:"runAsNonRoot,omitempty"`
		RunAsUser                *int         `yaml:"runAsUser,omitempty"`
		AllowPrivilegeEscalation bool         `yaml:"allowPrivilegeEscalation"`
		ReadOnlyRootFilesystem   bool         `yaml:"readOnlyRootFilesystem"`
		Capabilities             capabilities `yaml:"capabilities"`
	}
	capabilities struct {
		Add  []string `yaml:"add,omitempty"`
		Drop []string `yaml:"drop"`
	}
	volume struct {
		Name      string           `yaml:"name"`
		ConfigMap *configMapVolume `yaml:"configMap,omitempty"`
		EmptyDir  *struct{}        `yaml:"emptyDir,omitempty"`
	}
	configMapVolume struct {
		Name  string    `yaml:"name"`
		Items []keyPath `yaml:"items"`
	}
	keyPath struct {
		Key  string `yaml:"key"`
		Path string `yaml:"path"`
	}
)

// Manifests prints the fleet's manifests (spec §9): a ConfigMap with the
// scenario and its files, a headless Service through which segments find
// segment 0, and an Indexed Job of N pods, pod I running segment I.
func Manifests(o KubeOptions) ([]byte, error) {
	switch {
	case !dnsLabel.MatchString(o.Name) || len(o.Name) > 52:
		return nil, fmt.Errorf("name %q must be a DNS label of at most 52 characters (lower-case letters, digits and '-')", o.Name)
	case o.Segments < 1:
		return nil, fmt.Errorf("--segments must be at least 1")
	case o.Image == "":
		return nil, fmt.Errorf("--image is required: the image that holds ntx (see the Dockerfile)")
	case o.Port < 1 || o.Port > 65535:
		return nil, fmt.Errorf("--coordinator-port %d is not a port", o.Port)
	case o.Namespace != "" && !dnsLabel.MatchString(o.Namespace):
		return nil, fmt.Errorf("namespace %q is not a DNS label", o.Namespace)
	}
	if o.AddressImage == "" {
		o.AddressImage = DefaultAddressImage
	}
	labels := map[string]string{"app.kubernetes.io/name": "ntx", "ntx.dev/fleet": o.Name}
	meta := func(name string) objectMeta {
		return objectMeta{Name: name, Namespace: o.Namespace, Labels: labels}
	}
	cm := configMap{APIVersion: "v1", Kind: "ConfigMap", Metadata: meta(o.Name + "-scenario"), Data: map[string]fileText{}}
	var items []keyPath
	size := 0
	for i, f := range o.Files {
		key := fmt.Sprintf("f%d-%s", i, keySafe(f.Path))
		cm.Data[key] = fileText(f.Content)
		items = append(items, keyPath{Key: key, Path: f.Path})
		size += len(f.Content)
	}
	if size > 900<<10 {
		return nil, fmt.Errorf("the scenario's files come to %d KiB; a ConfigMap holds at most 1 MiB (put large data files in the image or a volume)", size>>10)
	}
	svc := service{APIVersion: "v1", Kind: "Service", Metadata: meta(o.Name), Spec: serviceSpec{
		ClusterIP: "None",
		// Segments look segment 0 up before any pod is ready.
		PublishNotReadyAddresses: true,
		Selector:                 map[string]string{"ntx.dev/fleet": o.Name},
		Ports:                    []servicePort{{Name: "coordinator", Port: o.Port, TargetPort: o.Port}},
	}}
	segment := fmt.Sprintf("$(JOB_COMPLETION_INDEX)/%d", o.Segments)
	// Pod I of an Indexed Job is NAME-I, and with the Service as its
	// subdomain it resolves as NAME-I.NAME.
	coordinator := fmt.Sprintf("%s-0.%s:%d", o.Name, o.Name, o.Port)
	args := append([]string{"exec", "--segment", segment, "--coordinator", coordinator}, o.Args...)
	args = append(args, "/scenario/"+o.Scenario)
	f := false
	locked := containerSecurity{AllowPrivilegeEscalation: false, ReadOnlyRootFilesystem: true, Capabilities: capabilities{Drop: []string{"ALL"}}}
	mounts := []volumeMount{{Name: "scenario", MountPath: "/scenario", ReadOnly: true}}
	pod := podSpec{
		Subdomain:       o.Name,
		RestartPolicy:   "Never",
		SecurityContext: podSecurity{RunAsNonRoot: true, RunAsUser: 65532, RunAsGroup: 65532},
		Containers: []container{{Name: "ntx", Image: o.Image, Args: args,
			Ports:        []containerPort{{Name: "coordinator", ContainerPort: o.Port}},
			VolumeMounts: mounts, SecurityContext: locked}},
		Volumes: []volume{{Name: "scenario", ConfigMap: &configMapVolume{Name: cm.Metadata.Name, Items: items}}},
	}
	if o.AddAddresses {
		root := 0
		// ntx writes the pod's slice of every pool; a root shell with
		// NET_ADMIN adds them to the pod's interface, which the ntx
		// container (non-root, no capabilities) then sends from.
		pod.Volumes = append(pod.Volumes, volume{Name: "addresses", EmptyDir: &struct{}{}})
		addrMounts := append(mounts, volumeMount{Name: "addresses", MountPath: "/addresses"})
		pod.InitContainers = []container{
			{Name: "list-addresses", Image: o.Image, Args: []string{"addresses", "--segment", segment, "--out", "/addresses/list", "/scenario/" + o.Scenario},
				VolumeMounts: addrMounts, SecurityContext: locked},
			{Name: "add-addresses", Image: o.AddressImage, Command: []string{"sh", "-c"},
				Args:         []string{`while read -r a; do ip addr add "$a" dev eth0 || exit 1; done < /addresses/list`},
				VolumeMounts: addrMounts[1:],
				SecurityContext: containerSecurity{RunAsNonRoot: &f, RunAsUser: &root, AllowPrivilegeEscalation: false, ReadOnlyRootFilesystem: true,
					Capabilities: capabilities{Add: []string{"NET_ADMIN"}, Drop: []string{"ALL"}}}},
		}
	}
	j := job{APIVersion: "batch/v1", Kind: "Job", Metadata: meta(o.Name), Spec: jobSpec{
		CompletionMode: "Indexed", Completions: o.Segments, Parallelism: o.Segments,
		// A segment is never run twice: a re-created pod would be refused
		// by the coordinator anyway, and a failed segment fails the Job.
		BackoffLimit: 0,
		Template:     podTemplate{Metadata: objectMeta{Labels: labels}, Spec: pod},
	}}
	var out bytes.Buffer
	fmt.Fprintf(&out, "# ntx fleet %q: %d segments; apply with: kubectl apply -f -\n", o.Name, o.Segments)
	for i, doc := range []any{cm, svc, j} {
		if i > 0 {
			out.WriteString("---\n")
		}
		enc := yaml.NewEncoder(&out)
		enc.SetIndent(2)
		if err := enc.Encode(doc); err != nil {
			return nil, err
		}
		_ = enc.Close()
	}
	return out.Bytes(), nil
}

// fileText is a file's content in a manifest: a literal block, easy to
// read, when it reads back exactly; else a quoted string, which always
// does (a block cannot keep, for one, a leading empty line).
type fileText string

// MarshalYAML implements yaml.Marshaler.
func (t fileText) MarshalYAML() (any, error) {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: string(t), Style: yaml.LiteralStyle}
	b, err := yaml.Marshal(n)
	var back string
	if err != nil || yaml.Unmarshal(b, &back) != nil || back != string(t) {
		n.Style = yaml.DoubleQuotedStyle
	}
	return n, nil
}

// keySafe makes a path a ConfigMap key: letters, digits, '-', '_', '.'.
func keySafe(path string) string {
	var b strings.Builder
	for _, r := range path {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	s := b.String()
	if len(s) > 200 {
		s = s[len(s)-200:]
	}
	return s
}
