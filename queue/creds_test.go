package queue_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/pkgwarden/pkgwarden/queue"
	"github.com/pkgwarden/pkgwarden/queue/queuetest"
)

// operatorServer is an in-process nats-server in operator (decentralised
// JWT) mode, as a managed NATS deployment runs: it trusts one operator and
// knows one account with JetStream, whose users connect with a creds file.
type operatorServer struct {
	url     string
	account nkeys.KeyPair // signs the account's users
}

func startOperatorServer(t *testing.T) operatorServer {
	t.Helper()
	op, opPub := newKey(t, nkeys.CreateOperator)
	opJWT := encode(t, "operator", jwt.NewOperatorClaims(opPub), op)
	opClaims, err := jwt.DecodeOperatorClaims(opJWT)
	if err != nil {
		t.Fatal(err)
	}

	resolver := &server.MemAccResolver{}
	newAccount := func(jetStream bool) (nkeys.KeyPair, string) {
		t.Helper()
		kp, pub := newKey(t, nkeys.CreateAccount)
		claims := jwt.NewAccountClaims(pub)
		if jetStream {
			claims.Limits.JetStreamLimits = jwt.JetStreamLimits{MemoryStorage: -1, DiskStorage: -1, Streams: -1, Consumer: -1}
		}
		if err := resolver.Store(pub, encode(t, "account", claims, op)); err != nil {
			t.Fatal(err)
		}
		return kp, pub
	}
	_, sysPub := newAccount(false)
	acc, _ := newAccount(true)

	srv, err := server.NewServer(&server.Options{
		Host:             "127.0.0.1",
		Port:             server.RANDOM_PORT,
		NoSigs:           true,
		JetStream:        true,
		StoreDir:         t.TempDir(),
		TrustedOperators: []*jwt.OperatorClaims{opClaims},
		AccountResolver:  resolver,
		SystemAccount:    sysPub,
		MaxPayload:       queue.MaxPayload,
	})
	if err != nil {
		t.Fatalf("operator-mode server: %v", err)
	}
	srv.Start()
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("operator-mode server not ready")
	}
	return operatorServer{url: srv.ClientURL(), account: acc}
}

// newKey creates a key pair with create and returns it with its public key.
func newKey(t *testing.T, create func() (nkeys.KeyPair, error)) (nkeys.KeyPair, string) {
	t.Helper()
	kp, err := create()
	if err != nil {
		t.Fatal(err)
	}
	pub, err := kp.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	return kp, pub
}

// encode signs claims with issuer; what names the JWT's kind in a failure
// ("operator jwt: ...").
func encode(t *testing.T, what string, claims jwt.Claims, issuer nkeys.KeyPair) string {
	t.Helper()
	s, err := claims.Encode(issuer)
	if err != nil {
		t.Fatalf("%s jwt: %v", what, err)
	}
	return s
}

// writeCreds writes a creds file for a new user signed by issuer.
func writeCreds(t *testing.T, issuer nkeys.KeyPair, name string) string {
	t.Helper()
	user, pub := newKey(t, nkeys.CreateUser)
	claims := jwt.NewUserClaims(pub)
	claims.Name = name
	userJWT := encode(t, "user", claims, issuer)
	seed, err := user.Seed()
	if err != nil {
		t.Fatal(err)
	}
	creds, err := jwt.FormatUserConfig(userJWT, seed)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), name+".creds")
	if err := os.WriteFile(path, creds, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestConnectExternalWithCreds connects to an operator-mode server the way
// PKGWARDEN_NATS_CREDS does. A user of the account sets up the streams and
// publishes; no creds or a stranger's are refused with NATS's
// authorization error. ConnectExternal retries a failed first connect
// (RetryOnFailedConnect), so that refusal surfaces as the connection's
// last error, not as ConnectExternal's; a creds file that cannot be read
// fails ConnectExternal itself, naming the file.
func TestConnectExternalWithCreds(t *testing.T) {
	srv := startOperatorServer(t)
	stranger, err := nkeys.CreateAccount() // an account the server does not know
	if err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "missing.creds")
	tests := map[string]struct {
		creds       string
		wantRefused bool   // the server refuses the connection
		wantErr     string // ConnectExternal itself fails with this
	}{
		"creds of the account's user": {creds: writeCreds(t, srv.account, "pkgwarden")},
		"no creds":                    {wantRefused: true},
		"creds of an unknown account": {creds: writeCreds(t, stranger, "stranger"), wantRefused: true},
		"creds file missing":          {creds: missing, wantErr: missing},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			nc, err := queue.ConnectExternal([]string{srv.url}, tc.creds, slog.New(slog.DiscardHandler))
			if tc.wantErr != "" {
				if err == nil {
					nc.Close()
					t.Fatalf("ConnectExternal succeeded, want an error naming %s", tc.wantErr)
				}
				if !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ConnectExternal: %v, want it to name %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ConnectExternal: %v", err)
			}
			defer nc.Close()
			q, err := queue.Setup(ctx, nc, queuetest.Config(), "creds")
			if tc.wantRefused {
				if err == nil {
					t.Fatal("Setup succeeded on a connection the server should refuse")
				}
				if last := nc.LastError(); !errors.Is(last, nats.ErrAuthorization) {
					t.Fatalf("refused connection: last error %v (status %s), want %v", last, nc.Status(), nats.ErrAuthorization)
				}
				return
			}
			if err != nil {
				t.Fatalf("Setup over the creds connection: %v (last error %v)", err, nc.LastError())
			}
			if dup, err := q.PublishDelivery(ctx, "registry_package", "creds-1", []byte(`{}`)); err != nil || dup {
				t.Fatalf("publish over the creds connection: duplicate %t, %v", dup, err)
			}
			if n, err := queue.CountMessages(ctx, q.Webhooks); err != nil || n != 1 {
				t.Fatalf("webhooks stream holds %d (%v), want 1", n, err)
			}
		})
	}
}
