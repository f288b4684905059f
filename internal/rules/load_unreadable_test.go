package rules

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// stubSource serves files from memory and fails chosen reads with the
// error given, keyed "owner/repo:path". Its maps are shared by its copies,
// so reads counts every read through any of them.
type stubSource struct {
	files map[string]string
	errs  map[string]error
	reads map[string]int
}

func newStub(files map[string]string, errs map[string]error) stubSource {
	return stubSource{files: files, errs: errs, reads: map[string]int{}}
}

func (s stubSource) File(_ context.Context, owner, repo, path string) ([]byte, error) {
	key := owner + "/" + repo + ":" + path
	s.reads[key]++
	if err, ok := s.errs[key]; ok {
		return nil, err
	}
	data, ok := s.files[key]
	if !ok {
		return nil, fmt.Errorf("%s: %w", key, ErrNotFound)
	}
	return []byte(data), nil
}

// TestLoadUnreadable: a path that exists but can never be read as a
// configuration file (a directory, a symlink, a file over the size cap,
// bytes that are not UTF-8) is a configuration error of the file that
// names it, like a decode error: an ErrorList the job reports, remembered
// for the run, never retried as a transient failure.
func TestLoadUnreadable(t *testing.T) {
	app := Package{Owner: "acme", Type: TypeContainer, Name: "app", Repository: "app"}
	loose := Package{Owner: "acme", Type: TypeContainer, Name: "tools"}
	const (
		extendsDir = "acme/base:shared"
		big        = MaxFileSize + 1
	)
	huge := "# " + strings.Repeat("x", big-3) + "\n"
	if len(huge) != big {
		t.Fatalf("huge is %d bytes", len(huge))
	}
	wrapped := func(key string, err error) error { return fmt.Errorf("read %s: %w", key, err) }
	tests := map[string]struct {
		files map[string]string
		errs  map[string]error
		pkg   Package
		// err is the whole error of Load; read is the file whose read must
		// happen once however often Load is called.
		err, read string
	}{
		"repository file is a directory": {
			errs: map[string]error{appFile: wrapped(appFile, Unreadable("is a directory, not a file"))},
			pkg:  app, read: appFile,
			err: `rules for acme/container/app: acme/app: .github/pkgwarden.yml:1:1: .github/pkgwarden.yml is a directory, not a file`,
		},
		"repository file is a symlink": {
			errs: map[string]error{appFile: wrapped(appFile, Unreadable("is a symlink, not a file"))},
			pkg:  app, read: appFile,
			err: `rules for acme/container/app: acme/app: .github/pkgwarden.yml:1:1: .github/pkgwarden.yml is a symlink, not a file`,
		},
		"repository file too large for the source": {
			errs: map[string]error{appFile: wrapped(appFile, TooLarge(2411725))},
			pkg:  app, read: appFile,
			err: `rules for acme/container/app: acme/app: .github/pkgwarden.yml:1:1: .github/pkgwarden.yml is 2.3 MiB (2411725 bytes), over the 1 MiB limit`,
		},
		"repository file over the rules' own size cap": {
			files: map[string]string{appFile: huge},
			pkg:   app, read: appFile,
			err: `rules for acme/container/app: acme/app: .github/pkgwarden.yml:1:1: .github/pkgwarden.yml is 1.0 MiB (1048577 bytes), over the 1 MiB limit`,
		},
		"repository file is not UTF-8": {
			files: map[string]string{appFile: "report: {labels: [\"caf\xe9\"]}\n"},
			pkg:   app, read: appFile,
			err: `rules for acme/container/app: acme/app: .github/pkgwarden.yml:1:1: .github/pkgwarden.yml is not valid UTF-8`,
		},
		"bare sentinel from a source": {
			errs: map[string]error{appFile: fmt.Errorf("GET %s: %w", appFile, ErrUnreadable)},
			pkg:  app, read: appFile,
			err: `rules for acme/container/app: acme/app: .github/pkgwarden.yml:1:1: .github/pkgwarden.yml is not readable as a configuration file (GET acme/app:.github/pkgwarden.yml: not readable as a configuration file)`,
		},
		"_extends names a directory": {
			files: map[string]string{appFile: "dry_run: true\n_extends: acme/base:shared\n"},
			errs:  map[string]error{extendsDir: wrapped(extendsDir, Unreadable("is a directory, not a file"))},
			pkg:   app, read: extendsDir,
			err: `rules for acme/container/app: acme/app: .github/pkgwarden.yml:2:11: _extends: acme/base:shared is a directory, not a file`,
		},
		"_extends names a file too large for the source": {
			files: map[string]string{appFile: "_extends: acme/base:shared/pkgwarden.yml\n"},
			errs:  map[string]error{baseFile: wrapped(baseFile, TooLarge(3<<20))},
			pkg:   app, read: baseFile,
			err: `rules for acme/container/app: acme/app: .github/pkgwarden.yml:1:11: _extends: acme/base:shared/pkgwarden.yml is 3.0 MiB (3145728 bytes), over the 1 MiB limit`,
		},
		"_extends names a file over the rules' own size cap": {
			files: map[string]string{appFile: "_extends: acme/base:shared/pkgwarden.yml\n", baseFile: huge},
			pkg:   app, read: baseFile,
			err: `rules for acme/container/app: acme/app: .github/pkgwarden.yml:1:11: _extends: acme/base:shared/pkgwarden.yml is 1.0 MiB (1048577 bytes), over the 1 MiB limit`,
		},
		"_extends names a file that is not UTF-8": {
			files: map[string]string{appFile: "_extends: acme/base:shared/pkgwarden.yml\n", baseFile: "\xff\xfer\x00u\x00l\x00e\x00s\x00"},
			pkg:   app, read: baseFile,
			err: `rules for acme/container/app: acme/app: .github/pkgwarden.yml:1:11: _extends: acme/base:shared/pkgwarden.yml is not valid UTF-8`,
		},
		"owner file is a directory": {
			files: map[string]string{appFile: appRules},
			errs:  map[string]error{orgFile: wrapped(orgFile, Unreadable("is a directory, not a file"))},
			pkg:   app, read: orgFile,
			err: `rules for acme/container/app: acme/.github: .github/pkgwarden.yml:1:1: .github/pkgwarden.yml is a directory, not a file`,
		},
		"owner file _extends names a submodule": {
			files: map[string]string{orgFile: "rules: []\n_extends: acme/base:shared\n"},
			errs:  map[string]error{extendsDir: wrapped(extendsDir, Unreadable("is a submodule, not a file"))},
			pkg:   loose, read: extendsDir,
			err: `rules for acme/container/tools: acme/.github: .github/pkgwarden.yml:2:11: _extends: acme/base:shared is a submodule, not a file`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			src := newStub(tc.files, tc.errs)
			l := NewLoader(src)
			for i := 0; i < 3; i++ {
				_, err := l.Load(context.Background(), tc.pkg)
				if err == nil || err.Error() != tc.err {
					t.Fatalf("Load %d error = %v\nwant %s", i+1, err, tc.err)
				}
				var list ErrorList
				if !errors.As(err, &list) || len(list) != 1 {
					t.Fatalf("Load %d error %T is not a configuration error (an ErrorList of one): it would be retried as transient", i+1, err)
				}
			}
			if n := src.reads[tc.read]; n != 1 {
				t.Errorf("%s read %d times over 3 loads, want once: %v", tc.read, n, src.reads)
			}
		})
	}
}

// TestLoadUnreadableDenied: an unreadable repository file is ignored under
// repository_rules: deny, as an invalid one is.
func TestLoadUnreadableDenied(t *testing.T) {
	src := newStub(map[string]string{orgFile: "policy: {repository_rules: deny}\n"},
		map[string]error{appFile: Unreadable("is a directory, not a file")})
	cfg, err := NewLoader(src).Load(context.Background(), Package{Owner: "acme", Type: TypeContainer, Name: "app", Repository: "app"})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := `origin=acme/.github:.github/pkgwarden.yml repo= dry_run=false labels=[pkgwarden] assignees=[] rules=[] policy=500/1h/deny notices=["acme/app:.github/pkgwarden.yml ignored: policy.repository_rules is deny in acme/.github:.github/pkgwarden.yml"]`
	if got := summary(cfg); got != want {
		t.Errorf("config:\n%s\nwant:\n%s", got, want)
	}
}

// TestLoadTransientStaysTransient: an error that is neither ErrNotFound nor
// ErrUnreadable (a 502, a rate limit, a broken connection) is returned as
// it is, not as a configuration error, and the next Load reads again.
func TestLoadTransientStaysTransient(t *testing.T) {
	for name, fail := range map[string]string{appFile: "repository file", baseFile: "_extends"} {
		t.Run(fail, func(t *testing.T) {
			src := newStub(map[string]string{appFile: "_extends: acme/base:shared/pkgwarden.yml\n", baseFile: appRules},
				map[string]error{name: errors.New("GET: 502 Bad Gateway")})
			l := NewLoader(src)
			app := Package{Owner: "acme", Type: TypeContainer, Name: "app", Repository: "app"}
			_, err := l.Load(context.Background(), app)
			var list ErrorList
			if err == nil || errors.As(err, &list) || errors.Is(err, ErrUnreadable) || !strings.Contains(err.Error(), "502 Bad Gateway") {
				t.Fatalf("Load error = %v, want the transient error, not a configuration error", err)
			}
			delete(src.errs, name)
			if _, err := l.Load(context.Background(), app); err != nil {
				t.Fatalf("Load after recovery: %v", err)
			}
			if src.reads[name] != 2 {
				t.Errorf("%s read %d times, want 2 (the failure was not remembered)", name, src.reads[name])
			}
		})
	}
}

// TestOverrideUnreadable: `plan --config FILE` refuses a file over the cap
// or not UTF-8 the same way.
func TestOverrideUnreadable(t *testing.T) {
	l := NewLoader(newStub(nil, nil))
	for data, want := range map[string]string{
		"dry_run: true\n# \xff\n":                     "next.yml:1:1: next.yml is not valid UTF-8",
		"#" + strings.Repeat(" ", MaxFileSize) + "\n": "next.yml:1:1: next.yml is 1.0 MiB (1048578 bytes), over the 1 MiB limit",
	} {
		err := l.Override("acme", "app", "next.yml", []byte(data))
		var list ErrorList
		if err == nil || err.Error() != want || !errors.As(err, &list) {
			t.Errorf("Override error = %v, want %s", err, want)
		}
	}
}

func TestTooLargeReason(t *testing.T) {
	for size, want := range map[int]string{
		MaxFileSize + 1: "is 1.0 MiB (1048577 bytes), over the 1 MiB limit",
		5 << 20:         "is 5.0 MiB (5242880 bytes), over the 1 MiB limit",
		150 << 20:       "is 150.0 MiB (157286400 bytes), over the 1 MiB limit",
	} {
		err := TooLarge(size)
		if !errors.Is(err, ErrUnreadable) || err.Error() != want {
			t.Errorf("TooLarge(%d) = %v (unreadable %t), want %q", size, err, errors.Is(err, ErrUnreadable), want)
		}
	}
}
