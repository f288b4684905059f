package deploy_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction with its continuation lines joined.
type instruction struct {
	line int
	cmd  string // upper case: FROM, RUN, COPY, ...
	args string
}

// stage is one FROM and what follows it.
type stage struct {
	base, name string
	body       []instruction
}

// parseDockerfile reads the instructions of a Dockerfile: enough of the syntax
// (comments, parser directives, backslash continuations) to check its shape,
// since no container engine runs here to build it.
func parseDockerfile(t *testing.T, path string) []stage {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var stages []stage
	var cur *instruction
	flush := func() {
		if cur == nil {
			return
		}
		in := *cur
		cur = nil
		if in.cmd == "FROM" {
			f := strings.Fields(in.args)
			st := stage{base: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				st.name = f[2]
			}
			stages = append(stages, st)
			return
		}
		if len(stages) == 0 {
			t.Errorf("%s:%d: %s before any FROM", path, in.line, in.cmd)
			return
		}
		stages[len(stages)-1].body = append(stages[len(stages)-1].body, in)
	}
	for i, line := range strings.Split(string(raw), "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && cur == nil) {
			continue
		}
		cont := strings.HasSuffix(trimmed, "\\")
		trimmed = strings.TrimSuffix(trimmed, "\\")
		if cur == nil {
			cmd, args, _ := strings.Cut(trimmed, " ")
			cur = &instruction{line: i + 1, cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)}
		} else {
			cur.args += " " + strings.TrimSpace(trimmed)
		}
		if !cont {
			flush()
		}
	}
	flush()
	return stages
}

func (s stage) all(cmd string) []instruction {
	var out []instruction
	for _, in := range s.body {
		if in.cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

// dockerfileUID is the numeric user the image runs as.
func dockerfileUID(t *testing.T) int64 {
	t.Helper()
	stages := parseDockerfile(t, "Dockerfile")
	users := stages[len(stages)-1].all("USER")
	if len(users) == 0 {
		t.Fatal("Dockerfile: final stage has no USER")
	}
	user, _, _ := strings.Cut(users[len(users)-1].args, ":")
	uid, err := strconv.ParseInt(user, 10, 64)
	if err != nil {
		t.Fatalf("Dockerfile: USER %q is not numeric", users[len(users)-1].args)
	}
	return uid
}

func TestDockerfile(t *testing.T) {
	stages := parseDockerfile(t, "Dockerfile")
	if len(stages) < 2 {
		t.Fatalf("%d stages, want a builder and a final stage", len(stages))
	}
	build, final := stages[0], stages[len(stages)-1]

	checks := map[string]func(t *testing.T){
		"builder is Go 1.26": func(t *testing.T) {
			if !strings.HasPrefix(build.base, "golang:1.26") || build.name == "" {
				t.Errorf("builder FROM %q AS %q, want golang:1.26 with a stage name", build.base, build.name)
			}
		},
		"static binary of cmd/pkgwarden": func(t *testing.T) {
			ok := slices.ContainsFunc(build.all("RUN"), func(in instruction) bool {
				return strings.Contains(in.args, "CGO_ENABLED=0") && strings.Contains(in.args, "go build") && strings.Contains(in.args, "./cmd/pkgwarden")
			})
			if !ok {
				t.Error("no RUN with CGO_ENABLED=0 go build ./cmd/pkgwarden in the builder")
			}
		},
		"final base is minimal": func(t *testing.T) {
			if final.base != "scratch" && !strings.HasPrefix(final.base, "gcr.io/distroless/static") {
				t.Errorf("final FROM %q, want scratch or distroless/static", final.base)
			}
		},
		"final stage needs no shell": func(t *testing.T) {
			if runs := final.all("RUN"); len(runs) > 0 {
				t.Errorf("final stage RUN at line %d: the base has no shell", runs[0].line)
			}
			copies := final.all("COPY")
			if !slices.ContainsFunc(copies, func(in instruction) bool {
				return strings.Contains(in.args, "--from="+build.name) && strings.Contains(in.args, "pkgwarden")
			}) {
				t.Error("final stage does not copy the binary from the builder")
			}
		},
		"non-root numeric user": func(t *testing.T) {
			if uid := dockerfileUID(t); uid == 0 {
				t.Error("USER is root")
			}
			users := final.all("USER")
			if !regexp.MustCompile(`^[1-9][0-9]*(:[0-9]+)?$`).MatchString(users[len(users)-1].args) {
				t.Errorf("USER %q, want uid[:gid] numbers", users[len(users)-1].args)
			}
		},
		"no ADD from URLs": func(t *testing.T) {
			for _, st := range stages {
				for _, in := range st.all("ADD") {
					if strings.Contains(in.args, "://") {
						t.Errorf("line %d: ADD of a URL; fetch nothing unpinned", in.line)
					}
				}
			}
		},
		"port and data volume": func(t *testing.T) {
			if ex := final.all("EXPOSE"); len(ex) != 1 || ex[0].args != "8080" {
				t.Errorf("EXPOSE %v, want 8080", ex)
			}
			vols := final.all("VOLUME")
			if len(vols) != 1 || !strings.Contains(vols[0].args, "/var/lib/pkgwarden") {
				t.Errorf("VOLUME %v, want the data dir /var/lib/pkgwarden", vols)
			}
			envs := final.all("ENV")
			if !slices.ContainsFunc(envs, func(in instruction) bool {
				return strings.Contains(in.args, "PKGWARDEN_DATA_DIR=/var/lib/pkgwarden")
			}) {
				t.Error("PKGWARDEN_DATA_DIR does not point at the volume")
			}
			for _, in := range envs {
				for _, f := range strings.Fields(in.args) {
					name, _, _ := strings.Cut(f, "=")
					checkSettingName(t, "Dockerfile ENV", name)
				}
			}
		},
		"entrypoint is serve in exec form": func(t *testing.T) {
			eps := final.all("ENTRYPOINT")
			if len(eps) != 1 {
				t.Fatalf("%d ENTRYPOINTs, want 1", len(eps))
			}
			var argv []string
			if err := json.Unmarshal([]byte(eps[0].args), &argv); err != nil {
				t.Fatalf("ENTRYPOINT %s is not exec (JSON) form: %v", eps[0].args, err)
			}
			if len(argv) != 2 || filepath.Base(argv[0]) != "pkgwarden" || argv[1] != "serve" {
				t.Errorf("ENTRYPOINT %v, want [.../pkgwarden serve]", argv)
			}
		},
	}
	for name, check := range checks {
		t.Run(name, check)
	}
}
