package githubapi

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v4"
)

// fakeAppAPI checks App JWTs with the public key, as GitHub does, and hands
// out installation tokens.
type fakeAppAPI struct {
	t         *testing.T
	appID     string
	pub       *rsa.PublicKey
	exchanges atomic.Int32
}

func (f *fakeAppAPI) checkJWT(w http.ResponseWriter, r *http.Request) bool {
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		http.Error(w, `{"message":"A JSON web token could not be decoded"}`, http.StatusUnauthorized)
		return false
	}
	var claims jwt.RegisteredClaims
	_, err := jwt.ParseWithClaims(raw, &claims, func(tok *jwt.Token) (any, error) {
		if tok.Method != jwt.SigningMethodRS256 {
			return nil, jwt.ErrSignatureInvalid
		}
		return f.pub, nil
	})
	if err != nil || claims.Issuer != f.appID {
		http.Error(w, `{"message":"bad jwt"}`, http.StatusUnauthorized)
		return false
	}
	return true
}

func (f *fakeAppAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/app":
		if f.checkJWT(w, r) {
			writeJSON(w, map[string]any{"id": 7, "slug": "pkgwarden"})
		}
	case r.Method == http.MethodPost && r.URL.Path == "/app/installations/42/access_tokens":
		if f.checkJWT(w, r) {
			f.exchanges.Add(1)
			w.WriteHeader(http.StatusCreated)
			_ = json.NewEncoder(w).Encode(map[string]any{"token": "ghs_inst42", "expires_at": time.Now().Add(time.Hour)})
		}
	case r.Method == http.MethodGet && r.URL.Path == "/repos/acme/app":
		if r.Header.Get("Authorization") != "token ghs_inst42" {
			http.Error(w, `{"message":"Bad credentials"}`, http.StatusUnauthorized)
			return
		}
		writeJSON(w, map[string]any{"full_name": "acme/app"})
	default:
		notFound(w)
	}
}

func notFound(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusNotFound)
	_, _ = w.Write([]byte(`{"message":"Not Found","documentation_url":"https://docs.github.com/rest"}`))
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(v)
}

func testKey(t *testing.T) (*rsa.PrivateKey, []byte) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return key, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
}

func TestAppClients(t *testing.T) {
	key, keyPEM := testKey(t)

	for name, prefix := range map[string]string{"api at root (simulator)": "", "GitHub Enterprise Server": "/api/v3"} {
		t.Run(name, func(t *testing.T) {
			api := &fakeAppAPI{t: t, appID: "7", pub: &key.PublicKey}
			mux := http.NewServeMux()
			mux.Handle(prefix+"/", http.StripPrefix(prefix, api))
			srv := httptest.NewServer(mux)
			defer srv.Close()

			app, err := NewApp(AppConfig{AppID: 7, PrivateKey: keyPEM, BaseURL: srv.URL + prefix + "/"})
			if err != nil {
				t.Fatalf("NewApp: %v", err)
			}
			ctx := context.Background()
			a, _, err := app.AppClient().Apps.Get(ctx, "")
			if err != nil || a.GetSlug() != "pkgwarden" {
				t.Fatalf("GET /app = %v, %v", a, err)
			}
			inst := app.InstallationClient(42)
			for range 2 {
				repo, _, err := inst.Repositories.Get(ctx, "acme", "app")
				if err != nil || repo.GetFullName() != "acme/app" {
					t.Fatalf("GET /repos/acme/app = %v, %v", repo, err)
				}
			}
			if app.InstallationClient(42) != inst {
				t.Errorf("a second InstallationClient(42) built a new client; tokens would not be reused")
			}
			tok, err := app.InstallationToken(ctx, 42)
			if err != nil || tok != "ghs_inst42" {
				t.Errorf("InstallationToken = %q, %v", tok, err)
			}
			if n := api.exchanges.Load(); n != 1 {
				t.Errorf("%d token exchanges, want 1 (the token is cached until it nears expiry)", n)
			}
		})
	}
}

func TestNewAppRejectsBadConfig(t *testing.T) {
	_, keyPEM := testKey(t)
	tests := map[string]AppConfig{
		"no app id":   {PrivateKey: keyPEM},
		"bad key":     {AppID: 1, PrivateKey: []byte("-----BEGIN RSA PRIVATE KEY-----\nnotakey\n-----END RSA PRIVATE KEY-----\n")},
		"bad api url": {AppID: 1, PrivateKey: keyPEM, BaseURL: "ftp://x"},
	}
	for name, cfg := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := NewApp(cfg); err == nil {
				t.Errorf("NewApp succeeded, want an error")
			} else if strings.Contains(err.Error(), "notakey") {
				t.Errorf("error %q quotes key material", err)
			}
		})
	}
}
