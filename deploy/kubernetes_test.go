package deploy_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
)

// The types below mirror the Kubernetes API fields the manifests use, and no
// more. Decoding is strict, so a misspelt or misplaced key in a manifest (which
// the API server would reject or, worse, ignore) fails here; a new field in a
// manifest needs its twin here.

type TypeMeta struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
}

type objectMeta struct {
	Name        string            `yaml:"name"`
	Namespace   string            `yaml:"namespace"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

type labelSelector struct {
	MatchLabels map[string]string `yaml:"matchLabels"`
}

type namespace struct {
	TypeMeta `yaml:",inline"`
	Metadata objectMeta `yaml:"metadata"`
}

type configMap struct {
	TypeMeta `yaml:",inline"`
	Metadata objectMeta        `yaml:"metadata"`
	Data     map[string]string `yaml:"data"`
}

type secret struct {
	TypeMeta   `yaml:",inline"`
	Metadata   objectMeta        `yaml:"metadata"`
	Type       string            `yaml:"type"`
	StringData map[string]string `yaml:"stringData"`
	Data       map[string]string `yaml:"data"`
}

type service struct {
	TypeMeta `yaml:",inline"`
	Metadata objectMeta `yaml:"metadata"`
	Spec     struct {
		Type     string            `yaml:"type"`
		Selector map[string]string `yaml:"selector"`
		Ports    []struct {
			Name       string `yaml:"name"`
			Port       int    `yaml:"port"`
			TargetPort any    `yaml:"targetPort"`
			Protocol   string `yaml:"protocol"`
		} `yaml:"ports"`
	} `yaml:"spec"`
}

type podDisruptionBudget struct {
	TypeMeta `yaml:",inline"`
	Metadata objectMeta `yaml:"metadata"`
	Spec     struct {
		MinAvailable   any           `yaml:"minAvailable"`
		MaxUnavailable any           `yaml:"maxUnavailable"`
		Selector       labelSelector `yaml:"selector"`
	} `yaml:"spec"`
}

type deployment struct {
	TypeMeta `yaml:",inline"`
	Metadata objectMeta `yaml:"metadata"`
	Spec     struct {
		Replicas             int           `yaml:"replicas"`
		RevisionHistoryLimit int           `yaml:"revisionHistoryLimit"`
		Selector             labelSelector `yaml:"selector"`
		Strategy             struct {
			Type          string `yaml:"type"`
			RollingUpdate struct {
				MaxUnavailable any `yaml:"maxUnavailable"`
				MaxSurge       any `yaml:"maxSurge"`
			} `yaml:"rollingUpdate"`
		} `yaml:"strategy"`
		Template struct {
			Metadata objectMeta `yaml:"metadata"`
			Spec     podSpec    `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type podSpec struct {
	AutomountServiceAccountToken  *bool `yaml:"automountServiceAccountToken"`
	TerminationGracePeriodSeconds int   `yaml:"terminationGracePeriodSeconds"`
	SecurityContext               struct {
		RunAsNonRoot   *bool  `yaml:"runAsNonRoot"`
		RunAsUser      *int64 `yaml:"runAsUser"`
		RunAsGroup     *int64 `yaml:"runAsGroup"`
		FSGroup        *int64 `yaml:"fsGroup"`
		SeccompProfile struct {
			Type string `yaml:"type"`
		} `yaml:"seccompProfile"`
	} `yaml:"securityContext"`
	TopologySpreadConstraints []struct {
		MaxSkew           int           `yaml:"maxSkew"`
		TopologyKey       string        `yaml:"topologyKey"`
		WhenUnsatisfiable string        `yaml:"whenUnsatisfiable"`
		LabelSelector     labelSelector `yaml:"labelSelector"`
	} `yaml:"topologySpreadConstraints"`
	Containers []container `yaml:"containers"`
	Volumes    []volume    `yaml:"volumes"`
}

type keyRef struct {
	Name     string `yaml:"name"`
	Key      string `yaml:"key"`
	Optional *bool  `yaml:"optional"`
}

type nameRef struct {
	Name string `yaml:"name"`
}

type container struct {
	Name            string `yaml:"name"`
	Image           string `yaml:"image"`
	ImagePullPolicy string `yaml:"imagePullPolicy"`
	Ports           []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
		Protocol      string `yaml:"protocol"`
	} `yaml:"ports"`
	EnvFrom []struct {
		ConfigMapRef *nameRef `yaml:"configMapRef"`
		SecretRef    *nameRef `yaml:"secretRef"`
	} `yaml:"envFrom"`
	Env []struct {
		Name      string `yaml:"name"`
		Value     string `yaml:"value"`
		ValueFrom *struct {
			SecretKeyRef    *keyRef `yaml:"secretKeyRef"`
			ConfigMapKeyRef *keyRef `yaml:"configMapKeyRef"`
		} `yaml:"valueFrom"`
	} `yaml:"env"`
	LivenessProbe  *probe `yaml:"livenessProbe"`
	ReadinessProbe *probe `yaml:"readinessProbe"`
	StartupProbe   *probe `yaml:"startupProbe"`
	Resources      struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	SecurityContext struct {
		AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
		ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
		RunAsNonRoot             *bool `yaml:"runAsNonRoot"`
		Capabilities             struct {
			Drop []string `yaml:"drop"`
			Add  []string `yaml:"add"`
		} `yaml:"capabilities"`
	} `yaml:"securityContext"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
		ReadOnly  bool   `yaml:"readOnly"`
	} `yaml:"volumeMounts"`
}

type probe struct {
	HTTPGet *struct {
		Path string `yaml:"path"`
		Port any    `yaml:"port"`
	} `yaml:"httpGet"`
	InitialDelaySeconds int `yaml:"initialDelaySeconds"`
	PeriodSeconds       int `yaml:"periodSeconds"`
	TimeoutSeconds      int `yaml:"timeoutSeconds"`
	FailureThreshold    int `yaml:"failureThreshold"`
}

type volume struct {
	Name   string `yaml:"name"`
	Secret *struct {
		SecretName  string `yaml:"secretName"`
		DefaultMode *int   `yaml:"defaultMode"`
		Items       []struct {
			Key  string `yaml:"key"`
			Path string `yaml:"path"`
		} `yaml:"items"`
	} `yaml:"secret"`
	EmptyDir *struct {
		SizeLimit string `yaml:"sizeLimit"`
	} `yaml:"emptyDir"`
}

type kustomization struct {
	TypeMeta  `yaml:",inline"`
	Namespace string   `yaml:"namespace"`
	Resources []string `yaml:"resources"`
	Images    []struct {
		Name    string `yaml:"name"`
		NewName string `yaml:"newName"`
		NewTag  string `yaml:"newTag"`
	} `yaml:"images"`
}

// manifests is everything under deploy/kubernetes, decoded.
type manifests struct {
	files         map[string][]string // file -> kinds in it
	kustomization *kustomization
	namespaces    []namespace
	configMaps    []configMap
	secrets       []secret
	services      []service
	pdbs          []podDisruptionBudget
	deployments   []deployment
}

// decoders maps "apiVersion kind" to what decodes such a document into m.
func (m *manifests) decoders() map[string]func(t *testing.T, where string, doc []byte) {
	return map[string]func(*testing.T, string, []byte){
		"kustomize.config.k8s.io/v1beta1 Kustomization": func(t *testing.T, where string, doc []byte) {
			k := decodeStrict[kustomization](t, where, doc)
			m.kustomization = &k
		},
		"v1 Namespace":                  decodeInto(&m.namespaces),
		"v1 ConfigMap":                  decodeInto(&m.configMaps),
		"v1 Secret":                     decodeInto(&m.secrets),
		"v1 Service":                    decodeInto(&m.services),
		"policy/v1 PodDisruptionBudget": decodeInto(&m.pdbs),
		"apps/v1 Deployment":            decodeInto(&m.deployments),
	}
}

// decodeInto decodes a document strictly as a T and appends it to dst.
func decodeInto[T any](dst *[]T) func(t *testing.T, where string, doc []byte) {
	return func(t *testing.T, where string, doc []byte) {
		t.Helper()
		*dst = append(*dst, decodeStrict[T](t, where, doc))
	}
}

func decodeStrict[T any](t *testing.T, where string, doc []byte) T {
	t.Helper()
	var v T
	if err := yaml.UnmarshalWithOptions(doc, &v, yaml.Strict()); err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	return v
}

// countDocuments counts the YAML documents of a file, which must decode.
func countDocuments(t *testing.T, file string, raw []byte) int {
	t.Helper()
	n := 0
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	for {
		var node any
		err := dec.Decode(&node)
		if errors.Is(err, io.EOF) {
			return n
		}
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if node != nil {
			n++
		}
	}
}

func loadManifests(t *testing.T) *manifests {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("kubernetes", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("no manifests under deploy/kubernetes")
	}
	m := &manifests{files: map[string][]string{}}
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		// One object per file keeps error lines exact and the kustomization
		// list readable.
		if n := countDocuments(t, p, raw); n != 1 {
			t.Fatalf("%s: %d YAML documents, want 1", p, n)
		}
		var tm TypeMeta
		if err := yaml.Unmarshal(raw, &tm); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		m.files[filepath.Base(p)] = append(m.files[filepath.Base(p)], tm.Kind)
		decode, ok := m.decoders()[tm.APIVersion+" "+tm.Kind]
		if !ok {
			t.Errorf("%s: unexpected apiVersion %q kind %q", p, tm.APIVersion, tm.Kind)
			continue
		}
		decode(t, p, raw)
	}
	return m
}

// isSubset tells whether every label of sel is in labels with the same value,
// which is how a selector matches.
func isSubset(sel, labels map[string]string) bool {
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func TestKubernetesManifestKinds(t *testing.T) {
	m := loadManifests(t)
	counts := map[string]int{
		"Namespace":           len(m.namespaces),
		"ConfigMap":           len(m.configMaps),
		"Secret":              len(m.secrets),
		"Service":             len(m.services),
		"PodDisruptionBudget": len(m.pdbs),
		"Deployment":          len(m.deployments),
	}
	for kind, n := range counts {
		if n != 1 {
			t.Errorf("%d objects of kind %s, want 1", n, kind)
		}
	}
	if m.kustomization == nil {
		t.Fatal("no kustomization.yaml")
	}
	var listed []string
	for file, kinds := range m.files {
		if !slices.Contains(kinds, "Kustomization") {
			listed = append(listed, file)
		}
	}
	slices.Sort(listed)
	resources := slices.Sorted(slices.Values(m.kustomization.Resources))
	if !slices.Equal(resources, listed) {
		t.Errorf("kustomization resources %v, want every manifest file %v", resources, listed)
	}
	if len(m.kustomization.Images) != 1 || m.kustomization.Images[0].Name != m.deployments[0].Spec.Template.Spec.Containers[0].Image {
		t.Errorf("kustomization images %+v should set the Deployment's image %q", m.kustomization.Images, m.deployments[0].Spec.Template.Spec.Containers[0].Image)
	}
	if len(m.namespaces) == 1 && m.kustomization.Namespace != m.namespaces[0].Metadata.Name {
		t.Errorf("kustomization namespace %q, Namespace object %q", m.kustomization.Namespace, m.namespaces[0].Metadata.Name)
	}
}

func fileMode(m *int) string {
	if m == nil {
		return "unset"
	}
	return fmt.Sprintf("%#o", *m)
}

// portNumber resolves a probe's or Service's port, by number or by the
// container port's name.
func portNumber(t *testing.T, c container, port any) int {
	t.Helper()
	switch p := port.(type) {
	case string:
		for _, cp := range c.Ports {
			if cp.Name == p {
				return cp.ContainerPort
			}
		}
		t.Errorf("port %q names no container port", p)
	case uint64:
		return int(p)
	case int64:
		return int(p)
	case int:
		return p
	default:
		t.Errorf("port %v (%T) is neither a number nor a name", port, port)
	}
	return 0
}

func TestKubernetesDeployment(t *testing.T) {
	m := loadManifests(t)
	if len(m.deployments) != 1 || len(m.secrets) != 1 || len(m.configMaps) != 1 {
		t.Fatalf("want one Deployment, Secret and ConfigMap; have %d, %d, %d", len(m.deployments), len(m.secrets), len(m.configMaps))
	}
	d := m.deployments[0]
	pod := d.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]
	sec := m.secrets[0]
	cm := m.configMaps[0]

	// env collects the settings the container sees: ConfigMap first, env wins.
	env := map[string]string{}
	for _, from := range c.EnvFrom {
		switch {
		case from.ConfigMapRef != nil:
			if from.ConfigMapRef.Name != cm.Metadata.Name {
				t.Errorf("envFrom ConfigMap %q, the template is %q", from.ConfigMapRef.Name, cm.Metadata.Name)
			}
			maps.Copy(env, cm.Data)
		case from.SecretRef != nil:
			t.Errorf("envFrom Secret %q: name secret settings one by one", from.SecretRef.Name)
		}
	}
	for _, e := range c.Env {
		env[e.Name] = e.Value
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			env[e.Name] = "secret:" + e.ValueFrom.SecretKeyRef.Key
		}
	}

	checks := map[string]func(t *testing.T){
		"replicas": func(t *testing.T) {
			if d.Spec.Replicas < 2 {
				t.Errorf("replicas = %d, want at least 2", d.Spec.Replicas)
			}
		},
		"selector matches pod labels": func(t *testing.T) {
			if !isSubset(d.Spec.Selector.MatchLabels, d.Spec.Template.Metadata.Labels) {
				t.Errorf("selector %v does not match pod labels %v", d.Spec.Selector.MatchLabels, d.Spec.Template.Metadata.Labels)
			}
		},
		"container port": func(t *testing.T) {
			if len(c.Ports) != 1 || c.Ports[0].ContainerPort != 8080 || c.Ports[0].Name == "" {
				t.Errorf("ports %+v, want one named port 8080 (PKGWARDEN_LISTEN default)", c.Ports)
			}
			if env["PKGWARDEN_LISTEN"] != "" && env["PKGWARDEN_LISTEN"] != ":8080" {
				t.Errorf("PKGWARDEN_LISTEN = %q does not match container port 8080", env["PKGWARDEN_LISTEN"])
			}
		},
		"probes": func(t *testing.T) {
			for name, tc := range map[string]struct {
				probe *probe
				path  string
			}{
				"liveness":  {c.LivenessProbe, "/healthz"},
				"readiness": {c.ReadinessProbe, "/readyz"},
			} {
				if tc.probe == nil || tc.probe.HTTPGet == nil {
					t.Errorf("%s probe: missing or not httpGet", name)
					continue
				}
				if tc.probe.HTTPGet.Path != tc.path {
					t.Errorf("%s probe path %q, want %q", name, tc.probe.HTTPGet.Path, tc.path)
				}
				if got := portNumber(t, c, tc.probe.HTTPGet.Port); got != 8080 {
					t.Errorf("%s probe port resolves to %d, want 8080", name, got)
				}
			}
		},
		"pod security context": func(t *testing.T) {
			sc := pod.SecurityContext
			if sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
				t.Error("runAsNonRoot is not true")
			}
			if sc.RunAsUser == nil || *sc.RunAsUser == 0 {
				t.Error("runAsUser unset or root")
			} else if uid := dockerfileUID(t); *sc.RunAsUser != uid {
				t.Errorf("runAsUser %d differs from the image's USER %d", *sc.RunAsUser, uid)
			}
			if sc.SeccompProfile.Type != "RuntimeDefault" {
				t.Errorf("seccompProfile %q, want RuntimeDefault", sc.SeccompProfile.Type)
			}
			if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
				t.Error("automountServiceAccountToken should be false: pkgwarden does not call the Kubernetes API")
			}
		},
		"container security context": func(t *testing.T) {
			sc := c.SecurityContext
			if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
				t.Error("allowPrivilegeEscalation is not false")
			}
			if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
				t.Error("readOnlyRootFilesystem is not true")
			}
			if !slices.Equal(sc.Capabilities.Drop, []string{"ALL"}) || len(sc.Capabilities.Add) > 0 {
				t.Errorf("capabilities drop %v add %v, want drop [ALL] add none", sc.Capabilities.Drop, sc.Capabilities.Add)
			}
		},
		"resources": func(t *testing.T) {
			for _, r := range []string{"cpu", "memory"} {
				if c.Resources.Requests[r] == "" {
					t.Errorf("no %s request", r)
				}
			}
			if c.Resources.Limits["memory"] == "" {
				t.Error("no memory limit")
			}
		},
		"settings are real": func(t *testing.T) {
			for name := range env {
				checkSettingName(t, "Deployment env", name)
			}
			for _, name := range []string{"PKGWARDEN_APP_ID", "PKGWARDEN_PRIVATE_KEY_PATH", "PKGWARDEN_WEBHOOK_SECRET"} {
				if env[name] == "" {
					t.Errorf("required setting %s not set", name)
				}
			}
			if env["PKGWARDEN_PACKAGES_TOKENS"] == "" && env["PKGWARDEN_PACKAGES_TOKEN"] == "" {
				t.Error("no packages token setting")
			}
		},
		"setting values parse": func(t *testing.T) {
			valid := map[string]func(string) error{
				"PKGWARDEN_SWEEP_INTERVAL": func(v string) error { _, err := time.ParseDuration(v); return err },
				"PKGWARDEN_PAUSED":         func(v string) error { _, err := strconv.ParseBool(v); return err },
				"PKGWARDEN_WORKERS": func(v string) error {
					if n, err := strconv.Atoi(v); err != nil || n < 1 {
						return fmt.Errorf("want a positive number")
					}
					return nil
				},
				"PKGWARDEN_ROLES": func(v string) error {
					for _, r := range strings.Split(v, ",") {
						if !slices.Contains([]string{"web", "worker", "scheduler"}, r) {
							return fmt.Errorf("unknown role %q", r)
						}
					}
					return nil
				},
				"PKGWARDEN_NATS_REPLICAS": func(v string) error {
					if v != "1" && v != "3" {
						return fmt.Errorf("want 1 or 3")
					}
					return nil
				},
			}
			for name, check := range valid {
				if v, ok := env[name]; ok {
					if err := check(v); err != nil {
						t.Errorf("%s=%q: %v", name, v, err)
					}
				}
			}
			for _, name := range []string{"PKGWARDEN_GITHUB_API_URL", "PKGWARDEN_REGISTRY_URL", "PKGWARDEN_GITHUB_URL"} {
				if u, err := url.Parse(env[name]); err != nil || u.Scheme != "https" || u.Host == "" {
					t.Errorf("%s=%q: want an https URL", name, env[name])
				}
			}
		},
		"external NATS with three replicas": func(t *testing.T) {
			if !strings.HasPrefix(env["PKGWARDEN_NATS_URL"], "nats://") {
				t.Errorf("PKGWARDEN_NATS_URL = %q, want an external nats:// URL (empty would embed a server per pod)", env["PKGWARDEN_NATS_URL"])
			}
			if env["PKGWARDEN_NATS_REPLICAS"] != "3" {
				t.Errorf("PKGWARDEN_NATS_REPLICAS = %q, want 3", env["PKGWARDEN_NATS_REPLICAS"])
			}
		},
		"secrets come from the Secret": func(t *testing.T) {
			for _, name := range []string{"PKGWARDEN_WEBHOOK_SECRET", "PKGWARDEN_PACKAGES_TOKENS", "PKGWARDEN_PACKAGES_TOKEN"} {
				if v, ok := env[name]; ok && !strings.HasPrefix(v, "secret:") {
					t.Errorf("%s is set in plain text, want a secretKeyRef", name)
				}
			}
			for _, e := range c.Env {
				if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
					continue
				}
				ref := e.ValueFrom.SecretKeyRef
				if ref.Name != sec.Metadata.Name {
					t.Errorf("%s: secret %q, the template is %q", e.Name, ref.Name, sec.Metadata.Name)
				}
				if _, ok := sec.StringData[ref.Key]; !ok {
					t.Errorf("%s: key %q not in the Secret template", e.Name, ref.Key)
				}
			}
		},
		"private key file is the mounted secret": func(t *testing.T) {
			keyPath := env["PKGWARDEN_PRIVATE_KEY_PATH"]
			found := false
			for _, vm := range c.VolumeMounts {
				for _, v := range pod.Volumes {
					if v.Name != vm.Name || v.Secret == nil {
						continue
					}
					if v.Secret.SecretName != sec.Metadata.Name {
						t.Errorf("volume %s: secret %q, the template is %q", v.Name, v.Secret.SecretName, sec.Metadata.Name)
					}
					// Owner and group (fsGroup) may read; others nothing, and
					// nobody writes or executes the key.
					if m := v.Secret.DefaultMode; m == nil || *m&^0o440 != 0 {
						t.Errorf("volume %s: defaultMode %s, want at most 0440", v.Name, fileMode(m))
					}
					for _, it := range v.Secret.Items {
						if _, ok := sec.StringData[it.Key]; !ok {
							t.Errorf("volume %s: key %q not in the Secret template", v.Name, it.Key)
						}
						if path.Join(vm.MountPath, it.Path) == keyPath {
							found = true
						}
					}
				}
			}
			if !found {
				t.Errorf("PKGWARDEN_PRIVATE_KEY_PATH %q is not a file of a mounted secret volume", keyPath)
			}
		},
		"writable paths are volumes": func(t *testing.T) {
			mounts := map[string]string{}
			for _, vm := range c.VolumeMounts {
				if !slices.ContainsFunc(pod.Volumes, func(v volume) bool { return v.Name == vm.Name }) {
					t.Errorf("volumeMount %s names no volume", vm.Name)
				}
				if !vm.ReadOnly {
					mounts[vm.MountPath] = vm.Name
				}
			}
			for _, p := range []string{env["PKGWARDEN_DATA_DIR"], "/tmp"} {
				if p == "" || mounts[p] == "" {
					t.Errorf("%q is not a writable volume (root filesystem is read-only)", p)
				}
			}
		},
		"secret template holds placeholders only": func(t *testing.T) {
			if len(sec.Data) > 0 {
				t.Error("Secret template has base64 data: use stringData placeholders")
			}
			for k, v := range sec.StringData {
				if !strings.Contains(v, "REPLACE_ME") {
					t.Errorf("Secret key %s holds no REPLACE_ME placeholder; never commit a real value", k)
				}
			}
		},
	}
	for name, check := range checks {
		t.Run(name, check)
	}
}

func TestKubernetesServiceAndPDB(t *testing.T) {
	m := loadManifests(t)
	if len(m.deployments) != 1 || len(m.services) != 1 || len(m.pdbs) != 1 {
		t.Fatalf("want one Deployment, Service and PodDisruptionBudget")
	}
	d := m.deployments[0]
	podLabels := d.Spec.Template.Metadata.Labels
	c := d.Spec.Template.Spec.Containers[0]

	svc := m.services[0]
	if !isSubset(svc.Spec.Selector, podLabels) {
		t.Errorf("Service selector %v does not match pod labels %v", svc.Spec.Selector, podLabels)
	}
	if len(svc.Spec.Ports) != 1 {
		t.Fatalf("Service ports %+v, want 1", svc.Spec.Ports)
	}
	if got := portNumber(t, c, svc.Spec.Ports[0].TargetPort); got != c.Ports[0].ContainerPort {
		t.Errorf("Service targetPort resolves to %d, container port is %d", got, c.Ports[0].ContainerPort)
	}

	pdb := m.pdbs[0]
	if !maps.Equal(pdb.Spec.Selector.MatchLabels, d.Spec.Selector.MatchLabels) {
		t.Errorf("PDB selector %v, Deployment selector %v", pdb.Spec.Selector.MatchLabels, d.Spec.Selector.MatchLabels)
	}
	if !isSubset(pdb.Spec.Selector.MatchLabels, podLabels) {
		t.Errorf("PDB selector %v does not match pod labels %v", pdb.Spec.Selector.MatchLabels, podLabels)
	}
	minAvail, ok := pdb.Spec.MinAvailable.(uint64)
	if !ok || minAvail < 1 || int(minAvail) >= d.Spec.Replicas {
		t.Errorf("PDB minAvailable %v: want a number from 1 to replicas-1 (%d), or drains block forever", pdb.Spec.MinAvailable, d.Spec.Replicas-1)
	}
}

// TestKustomizeBuild renders the kustomization with kubectl where it is
// installed: kustomize resolves every resource and the image override.
func TestKustomizeBuild(t *testing.T) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl not installed")
	}
	out, err := exec.Command(kubectl, "kustomize", "kubernetes").CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl kustomize: %v\n%s", err, out)
	}
	text := string(out)
	for _, want := range []string{"kind: Deployment", "kind: PodDisruptionBudget", "namespace: pkgwarden", "image: ghcr.io/REPLACE_ME/pkgwarden:latest"} {
		if !strings.Contains(text, want) {
			t.Errorf("kustomize output lacks %q", want)
		}
	}
}
