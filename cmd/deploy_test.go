package cmd

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/teamsface/teamsface/mapping"
)

// dockerInstruction is one instruction of a Dockerfile, continuation lines joined.
type dockerInstruction struct {
	cmd, args string
	line      int
}

// parseDockerfile splits a Dockerfile into instructions the way docker does: comments and blank
// lines dropped, a trailing backslash joining the next line.
func parseDockerfile(text string) []dockerInstruction {
	var out []dockerInstruction
	var cur strings.Builder
	start := 0
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if cur.Len() == 0 {
			start = n
		}
		if strings.HasSuffix(line, `\`) {
			cur.WriteString(strings.TrimSpace(strings.TrimSuffix(line, `\`)) + " ")
			continue
		}
		cur.WriteString(line)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, dockerInstruction{strings.ToUpper(cmd), strings.TrimSpace(args), start})
		cur.Reset()
	}
	return out
}

// jsonArgs reads an exec-form (JSON array) argument list.
func jsonArgs(s string) ([]string, error) {
	var a []string
	if err := json.Unmarshal([]byte(s), &a); err != nil {
		return nil, errors.New("not the exec (JSON array) form")
	}
	return a, nil
}

// Docker is not available here to build the image; what can be checked without it is checked:
// the final stage has no shell to need, runs as a non-root user, keeps the state on the volume,
// and runs a command line teamsface accepts.
func TestDockerfile(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join("..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	all := parseDockerfile(string(data))
	last := -1
	for i, in := range all {
		if in.cmd == "FROM" {
			last = i
		}
	}
	if last <= 0 {
		t.Fatal("want a multi-stage build: a build stage, then the final stage")
	}
	var build bytes.Buffer
	for _, in := range all[:last] {
		build.WriteString(in.cmd + " " + in.args + "\n")
	}
	if !strings.Contains(build.String(), "CGO_ENABLED=0 go build") || !strings.Contains(build.String(), "-X github.com/teamsface/teamsface/cmd.version=${VERSION}") ||
		!strings.Contains(build.String(), "-X github.com/teamsface/teamsface/cmd.commit=${COMMIT}") {
		t.Errorf("the build stage does not build a static binary with its version and commit stamped in:\n%s", build.String())
	}
	base := all[last].args
	if !strings.HasPrefix(base, "gcr.io/distroless/static") && base != "scratch" {
		t.Errorf("final stage FROM %s; want distroless static or scratch (no shell, no package manager)", base)
	}
	env := map[string]string{}
	labels := map[string]string{}
	args := map[string]bool{} // the final stage's own ARGs: a stage sees no other
	var user, entry, cmdArgs string
	var volumes, exposed []string
	for _, in := range all[last+1:] {
		switch in.cmd {
		case "ARG":
			name, _, _ := strings.Cut(in.args, "=")
			args[name] = true
		case "LABEL":
			for k, v := range dockerKeyValues(in.args) {
				labels[k] = v
			}
		case "EXPOSE":
			exposed = append(exposed, strings.Fields(in.args)...)
		case "HEALTHCHECK":
			// Only teamsface itself is in the image: no shell, no curl.
			if hc := strings.TrimSpace(strings.TrimPrefix(in.args, "CMD")); in.args != "NONE" && !strings.HasPrefix(hc, `["/usr/bin/teamsface"`) {
				t.Errorf("line %d: HEALTHCHECK %s: the image has no program but /usr/bin/teamsface, and no shell", in.line, in.args)
			}
		case "RUN":
			t.Errorf("line %d: RUN in the final stage needs a shell the image does not have", in.line)
		case "USER":
			user = in.args
		case "ENTRYPOINT":
			entry = in.args
		case "CMD":
			cmdArgs = in.args
		case "VOLUME":
			v, err := jsonArgs(in.args)
			if err != nil {
				v = strings.Fields(in.args)
			}
			volumes = append(volumes, v...)
		case "ENV":
			maps.Copy(env, dockerKeyValues(in.args))
		}
	}
	// The labels say which release and commit the image is, from build arguments the stage has.
	for label, arg := range map[string]string{"org.opencontainers.image.version": "VERSION", "org.opencontainers.image.revision": "COMMIT"} {
		if labels[label] != "${"+arg+"}" || !args[arg] {
			t.Errorf("LABEL %s=%q (ARG %s in the final stage: %v); want it from the build argument", label, labels[label], arg, args[arg])
		}
	}
	for _, in := range all {
		if in.cmd != "FROM" {
			continue
		}
		image, _, _ := strings.Cut(in.args, " ")
		if _, digest, pinned := strings.Cut(image, "@"); pinned && !regexp.MustCompile(`^sha256:[0-9a-f]{64}$`).MatchString(digest) {
			t.Errorf("line %d: FROM %s: not a sha256 digest", in.line, image)
		}
	}
	uid, _, _ := strings.Cut(user, ":")
	if uid == "" || uid == "0" || uid == "root" {
		t.Errorf("USER %q: the final stage must run as a non-root user", user)
	}
	if !slices.Contains(volumes, "/var/lib/teamsface") {
		t.Errorf("VOLUME %v: the state must live on the volume /var/lib/teamsface", volumes)
	}
	if sd := env["TEAMSFACE_STATE_DIR"]; sd != "/var/lib/teamsface" && !strings.HasPrefix(sd, "/var/lib/teamsface/") {
		t.Errorf("TEAMSFACE_STATE_DIR=%q is not on the volume", sd)
	}
	e, err := jsonArgs(entry)
	if err != nil || len(e) != 1 || e[0] != "/usr/bin/teamsface" {
		t.Errorf("ENTRYPOINT %s: want [\"/usr/bin/teamsface\"] (%v)", entry, err)
	}
	c, err := jsonArgs(cmdArgs)
	if err != nil || len(c) < 2 || c[0] != "sync" || c[1] != "watch" {
		t.Errorf("CMD %s: want sync watch in the exec form (%v)", cmdArgs, err)
	} else if err := checkCommandLine(c); err != nil {
		t.Errorf("CMD %s: %v", cmdArgs, err)
	}
	// The port the image exposes is the one its command serves /metrics and /healthz on.
	listen := ""
	if i := slices.Index(c, "--metrics-listen"); i >= 0 && i+1 < len(c) {
		listen = c[i+1]
	}
	if _, port, _ := strings.Cut(listen, ":"); port == "" || !slices.Equal(exposed, []string{port}) {
		t.Errorf("EXPOSE %v, CMD --metrics-listen %q: want the one port teamsface listens on", exposed, listen)
	}
	if hl, err := exec.LookPath("hadolint"); err == nil {
		if out, err := exec.Command(hl, filepath.Join("..", "Dockerfile")).CombinedOutput(); err != nil {
			t.Errorf("hadolint: %v\n%s", err, out)
		}
	} else {
		t.Log("hadolint not installed; checked with the built-in parser only")
	}
}

// dockerKeyValues reads the KEY=VALUE pairs of an ENV or LABEL instruction; a value may be in
// double quotes.
func dockerKeyValues(s string) map[string]string {
	out := map[string]string{}
	for _, m := range regexp.MustCompile(`([A-Za-z0-9._-]+)=("(?:[^"\\]|\\.)*"|\S*)`).FindAllStringSubmatch(s, -1) {
		v := m[2]
		if u, err := strconv.Unquote(v); err == nil && strings.HasPrefix(v, `"`) {
			v = u
		}
		out[m[1]] = v
	}
	return out
}

func TestDockerKeyValues(t *testing.T) {
	t.Parallel()
	got := dockerKeyValues(`a=1 b.c="x y" d=${V}`)
	want := map[string]string{"a": "1", "b.c": "x y", "d": "${V}"}
	if !maps.Equal(got, want) {
		t.Errorf("dockerKeyValues = %v, want %v", got, want)
	}
}

func TestParseDockerfile(t *testing.T) {
	t.Parallel()
	got := parseDockerfile("# c\nFROM a AS b\n\nRUN x \\\n  && y\nCMD [\"z\"]\n")
	want := []dockerInstruction{{"FROM", "a AS b", 2}, {"RUN", "x && y", 4}, {"CMD", `["z"]`, 6}}
	if !slices.Equal(got, want) {
		t.Errorf("parseDockerfile = %+v, want %+v", got, want)
	}
}

// k8sObject is what the manifest test reads of each object.
type k8sObject struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Data       map[string]string `yaml:"data"`
	StringData map[string]string `yaml:"stringData"`
	Spec       struct {
		AccessModes []string `yaml:"accessModes"`
		Replicas    *int     `yaml:"replicas"`
		Strategy    struct {
			Type string `yaml:"type"`
		} `yaml:"strategy"`
		Selector struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
		Template struct {
			Metadata struct {
				Labels map[string]string `yaml:"labels"`
			} `yaml:"metadata"`
			Spec struct {
				SecurityContext struct {
					RunAsNonRoot *bool `yaml:"runAsNonRoot"`
					RunAsUser    int   `yaml:"runAsUser"`
				} `yaml:"securityContext"`
				Containers []struct {
					Args []string `yaml:"args"`
					Env  []struct {
						Name      string `yaml:"name"`
						Value     string `yaml:"value"`
						ValueFrom *struct {
							SecretKeyRef struct {
								Name string `yaml:"name"`
								Key  string `yaml:"key"`
							} `yaml:"secretKeyRef"`
						} `yaml:"valueFrom"`
					} `yaml:"env"`
					Ports []struct {
						Name          string `yaml:"name"`
						ContainerPort int    `yaml:"containerPort"`
					} `yaml:"ports"`
					LivenessProbe struct {
						HTTPGet struct {
							Path string `yaml:"path"`
							Port string `yaml:"port"`
						} `yaml:"httpGet"`
					} `yaml:"livenessProbe"`
					SecurityContext struct {
						ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
						AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
					} `yaml:"securityContext"`
					VolumeMounts []struct {
						Name      string `yaml:"name"`
						MountPath string `yaml:"mountPath"`
						ReadOnly  bool   `yaml:"readOnly"`
					} `yaml:"volumeMounts"`
				} `yaml:"containers"`
				Volumes []struct {
					Name      string `yaml:"name"`
					ConfigMap *struct {
						Name string `yaml:"name"`
					} `yaml:"configMap"`
					PersistentVolumeClaim *struct {
						ClaimName string `yaml:"claimName"`
					} `yaml:"persistentVolumeClaim"`
				} `yaml:"volumes"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

// readManifest reads deploy/kubernetes/NAME by kind.
func readManifest(t *testing.T, name string) map[string]k8sObject {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "deploy", "kubernetes", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	objs := map[string]k8sObject{}
	dec := yaml.NewDecoder(f)
	for {
		var o k8sObject
		err := dec.Decode(&o)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("deploy/kubernetes/%s: %v", name, err)
		}
		if o.Kind == "" {
			continue // an empty document
		}
		if _, dup := objs[o.Kind]; dup {
			t.Fatalf("deploy/kubernetes/%s: two %s objects; the example is one PBX's", name, o.Kind)
		}
		objs[o.Kind] = o
	}
	return objs
}

// kubectlApplies says whether `kubectl apply -f DIR` (also -R) reads the file: kubectl takes
// .json, .yaml and .yml files from a directory and skips the rest.
func kubectlApplies(name string) bool {
	switch filepath.Ext(name) {
	case ".json", ".yaml", ".yml":
		return true
	}
	return false
}

// An admin creates the Secret with kubectl create secret, as the manifest says, then applies the
// manifest, or the whole directory: neither may bring a Secret of its own, which would put its
// placeholder values over the real ones (issue 19: exit 4, CrashLoopBackOff).
func TestKubernetesApplyNeverReplacesTheSecret(t *testing.T) {
	t.Parallel()
	files, err := os.ReadDir(filepath.Join("..", "deploy", "kubernetes"))
	if err != nil {
		t.Fatal(err)
	}
	applied := 0
	for _, f := range files {
		if f.IsDir() || !kubectlApplies(f.Name()) {
			continue
		}
		applied++
		if _, ok := readManifest(t, f.Name())["Secret"]; ok {
			t.Errorf("deploy/kubernetes/%s holds a Secret: kubectl apply -f deploy/kubernetes/ would replace the admin's", f.Name())
		}
	}
	if applied == 0 {
		t.Fatal("no manifest in deploy/kubernetes")
	}
	if kubectlApplies("teamsface-secret.yaml.example") {
		t.Error("the Secret example has a name kubectl apply -f DIR reads")
	}
}

// The example manifest: one replica of sync watch per PBX, replaced (never rolled) so two never
// run at once, state on a volume, configuration from a ConfigMap, secrets from a Secret, non-root
// with a read-only root file system. There is no cluster here; every reference inside the file is
// checked instead, and the ConfigMap's mapping.yaml is loaded like teamsface would.
func TestKubernetesManifest(t *testing.T) {
	t.Parallel()
	objs := readManifest(t, "teamsface.yaml")
	for _, k := range []string{"ConfigMap", "PersistentVolumeClaim", "Deployment", "Service"} {
		if _, ok := objs[k]; !ok {
			t.Errorf("no %s", k)
		}
	}
	// The Secret is the admin's (kubectl create secret), or a copy of the example.
	sec, ok := readManifest(t, "teamsface-secret.yaml.example")["Secret"]
	if !ok {
		t.Fatal("deploy/kubernetes/teamsface-secret.yaml.example holds no Secret")
	}
	d := objs["Deployment"]
	if d.APIVersion != "apps/v1" || d.Spec.Replicas == nil || *d.Spec.Replicas != 1 || d.Spec.Strategy.Type != "Recreate" {
		t.Errorf("Deployment: %s, replicas %v, strategy %q; want apps/v1, 1 and Recreate", d.APIVersion, d.Spec.Replicas, d.Spec.Strategy.Type)
	}
	for k, v := range d.Spec.Selector.MatchLabels {
		if d.Spec.Template.Metadata.Labels[k] != v {
			t.Errorf("the pod template lacks the selector's label %s=%s", k, v)
		}
	}
	pod := d.Spec.Template.Spec
	if sc := pod.SecurityContext; sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == 0 {
		t.Errorf("pod securityContext %+v: want runAsNonRoot and a non-root runAsUser", sc)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]
	if sc := c.SecurityContext; sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Errorf("container securityContext: want readOnlyRootFilesystem true and allowPrivilegeEscalation false")
	}

	// The command line, --metrics-listen (which serves /healthz for the liveness probe)
	// included, is one sync watch accepts.
	args := c.Args
	listen := ""
	if i := slices.Index(args, "--metrics-listen"); i >= 0 && i+1 < len(args) {
		listen = args[i+1]
	}
	if !watchHasFlag("metrics-listen") {
		t.Error("sync watch has no --metrics-listen")
	}
	if len(args) < 2 || args[0] != "sync" || args[1] != "watch" {
		t.Errorf("args %v: want sync watch", c.Args)
	} else if err := checkCommandLine(args); err != nil {
		t.Errorf("args %v: %v", c.Args, err)
	}
	port := 0
	for _, p := range c.Ports {
		if p.Name == c.LivenessProbe.HTTPGet.Port {
			port = p.ContainerPort
		}
	}
	if c.LivenessProbe.HTTPGet.Path != "/healthz" || port != 9464 || listen != ":9464" {
		t.Errorf("liveness probe %+v on port %d, --metrics-listen %q: want /healthz on 9464, where teamsface listens", c.LivenessProbe.HTTPGet, port, listen)
	}

	// Volumes: the configuration from the ConfigMap, read-only; the state on the claim.
	volumes := map[string]string{}
	for _, v := range pod.Volumes {
		switch {
		case v.ConfigMap != nil:
			volumes[v.Name] = "ConfigMap/" + v.ConfigMap.Name
		case v.PersistentVolumeClaim != nil:
			volumes[v.Name] = "PersistentVolumeClaim/" + v.PersistentVolumeClaim.ClaimName
		}
	}
	mounts := map[string]string{} // source → mount path
	for _, m := range c.VolumeMounts {
		src := volumes[m.Name]
		mounts[src] = m.MountPath
		if strings.HasPrefix(src, "ConfigMap/") && !m.ReadOnly {
			t.Errorf("the configuration is mounted writable")
		}
	}
	env := map[string]string{}
	secrets := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
		if e.ValueFrom != nil {
			secrets[e.Name] = e.ValueFrom.SecretKeyRef.Name + "/" + e.ValueFrom.SecretKeyRef.Key
		}
	}
	cm, pvc := objs["ConfigMap"], objs["PersistentVolumeClaim"]
	configDir := mounts["ConfigMap/"+cm.Metadata.Name]
	if configDir == "" || env["TEAMSFACE_CONFIG"] != configDir+"/mapping.yaml" || cm.Data["mapping.yaml"] == "" {
		t.Errorf("TEAMSFACE_CONFIG=%q, ConfigMap %s mounted at %q: want its mapping.yaml", env["TEAMSFACE_CONFIG"], cm.Metadata.Name, configDir)
	}
	stateMount := mounts["PersistentVolumeClaim/"+pvc.Metadata.Name]
	if stateMount != "/var/lib/teamsface" || !strings.HasPrefix(env["TEAMSFACE_STATE_DIR"], stateMount+"/") {
		t.Errorf("state: claim %s mounted at %q, TEAMSFACE_STATE_DIR=%q; want a directory on the claim mounted at /var/lib/teamsface", pvc.Metadata.Name, stateMount, env["TEAMSFACE_STATE_DIR"])
	}
	if !slices.Equal(pvc.Spec.AccessModes, []string{"ReadWriteOnce"}) {
		t.Errorf("claim access modes %v: want ReadWriteOnce, one pod at a time", pvc.Spec.AccessModes)
	}
	keys := map[string]bool{}
	for _, name := range []string{"TEAMSFACE_CLIENT_SECRET", "STARFACE_PASSWORD"} {
		ref := secrets[name]
		secName, key, _ := strings.Cut(ref, "/")
		keys[key] = true
		if secName != sec.Metadata.Name || sec.StringData[key] == "" {
			t.Errorf("%s comes from %q; want a key of the example's Secret %s", name, ref, sec.Metadata.Name)
		}
	}
	if len(sec.StringData) != len(keys) {
		t.Errorf("the example Secret has keys %v; the Deployment reads %v", slices.Sorted(maps.Keys(sec.StringData)), slices.Sorted(maps.Keys(keys)))
	}
	// What the README and the manifest's header tell the admin to create is what the pod reads.
	manifest, err := os.ReadFile(filepath.Join("..", "deploy", "kubernetes", "teamsface.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	header, _, _ := strings.Cut(string(manifest), "\n---")
	for where, text := range map[string]string{"README": readme(t), "the manifest's header": header} {
		name, created := createdSecret(text)
		if name != sec.Metadata.Name || !maps.Equal(created, keys) {
			t.Errorf("%s: kubectl create secret generic %q with keys %v; the Deployment reads %v of %s", where, name,
				slices.Sorted(maps.Keys(created)), slices.Sorted(maps.Keys(keys)), sec.Metadata.Name)
		}
	}

	// The configuration is one teamsface accepts, with its secrets from those variables.
	cfg, err := mapping.Parse([]byte(cm.Data["mapping.yaml"]), "ConfigMap "+cm.Metadata.Name)
	if err != nil {
		t.Fatalf("the ConfigMap's mapping.yaml: %v", err)
	}
	cfg.Getenv = func(k string) string {
		if _, ok := secrets[k]; ok {
			return "from-the-secret"
		}
		return ""
	}
	if _, err := cfg.ClientSecret(); err != nil {
		t.Errorf("client secret: %v", err)
	}
	if _, err := cfg.StarfacePassword(); err != nil {
		t.Errorf("STARFACE password: %v", err)
	}
}

var (
	createSecretRE = regexp.MustCompile(`kubectl create secret generic ([a-z0-9-]+)([^\n]*)`)
	fromLiteralRE  = regexp.MustCompile(`--from-(?:literal|file)=([a-z0-9.-]+)=`)
)

// createdSecret finds the first `kubectl create secret generic` in text (a line continued with a
// backslash, also inside # comments, is one line) and returns the Secret's name and keys.
func createdSecret(text string) (string, map[string]bool) {
	text = regexp.MustCompile(`\\\n[# ]*`).ReplaceAllString(text, " ")
	m := createSecretRE.FindStringSubmatch(text)
	if m == nil {
		return "", nil
	}
	keys := map[string]bool{}
	for _, k := range fromLiteralRE.FindAllStringSubmatch(m[2], -1) {
		keys[k[1]] = true
	}
	return m[1], keys
}

// watchHasFlag says whether sync watch defines the flag.
func watchHasFlag(name string) bool {
	c, _, err := newRootCmd(&globals{}).Find([]string{"sync", "watch"})
	return err == nil && c.Flags().Lookup(name) != nil
}
