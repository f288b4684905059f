package main

import (
	"crypto/x509"
	"encoding/base64"
	"regexp"
	"strings"
	"testing"

	"github.com/pkgwarden/pkgwarden/internal/ghsim"
)

// jwtPattern is a JSON Web Token: a base64url JSON header ("eyJ"), a
// payload and usually a signature.
var jwtPattern = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}`)

// demoSecret is one secret the demo used, and what it is.
type demoSecret struct{ what, value string }

// demoSecrets are every secret the demo used: the webhook secret, the
// classic packages token, each installation token the simulator issued,
// pieces of the app's private key.
func demoSecrets(t *testing.T, sim *ghsim.Sim, h demoHeader) []demoSecret {
	var secrets []demoSecret
	secrets = append(secrets,
		demoSecret{"webhook secret", sim.WebhookSecret()},
		demoSecret{"classic token", h.token},
	)
	issued := sim.IssuedTokens()
	if len(issued) == 0 {
		t.Error("the simulator issued no installation token: the app never authenticated")
	}
	for _, tok := range issued {
		secrets = append(secrets, demoSecret{"installation token", tok})
	}
	// Any 40 characters of the key's base64 contain one of these
	// aligned 20-character pieces, PEM line breaks or not.
	key := base64.StdEncoding.EncodeToString(x509.MarshalPKCS1PrivateKey(sim.AppKey()))
	for i := 0; i+20 <= len(key); i += 20 {
		secrets = append(secrets, demoSecret{"private key piece", key[i : i+20]})
	}
	return secrets
}

// checkLogsNoSecrets greps the demo's logs (every component's, as JSON at
// debug level: serve, router, workers, pruner, restorer, reporter, pacing,
// embedded NATS and the simulator) for every secret the run used and any
// JWT.
func checkLogsNoSecrets(t *testing.T, text string, secrets []demoSecret) {
	lines := strings.Count(text, "\n")
	// Not vacuous: the run logged its startup (settings included), the
	// router, the pruner, the reporter and the restorer. The demo logs
	// about 55 lines at debug level; 40 leaves room without letting an
	// empty capture pass.
	if lines < 40 {
		t.Fatalf("only %d log lines captured; the check would prove nothing", lines)
	}
	for _, want := range []string{`"msg":"pkgwarden starting"`, `"settings":`, `"msg":"router: prune queued"`,
		`"msg":"prune: run finished"`, `"msg":"report issue opened"`, `"msg":"restore: run finished"`, `"msg":"router: undo queued"`} {
		if !strings.Contains(text, want) {
			t.Errorf("no %s record in the logs; the check would prove less than it claims", want)
		}
	}
	for _, s := range secrets {
		if len(s.value) < 16 {
			t.Fatalf("%s %q is too short to grep for meaningfully", s.what, s.value)
		}
		if i := strings.Index(text, s.value); i >= 0 {
			t.Errorf("%s appears in the logs: %s", s.what, strings.ReplaceAll(lineAt(text, i), s.value, "[the secret]"))
		}
	}
	if loc := jwtPattern.FindStringIndex(text); loc != nil {
		t.Errorf("a JWT appears in the logs: %s", lineAt(text, loc[0]))
	}
	t.Logf("%d log lines, %d secrets checked", lines, len(secrets))
}

// lineAt is the log line around byte i, cut short so a failure message
// stays readable.
func lineAt(text string, i int) string {
	start := strings.LastIndexByte(text[:i], '\n') + 1
	end := strings.IndexByte(text[i:], '\n')
	if end < 0 {
		end = len(text) - i
	}
	line := text[start : i+end]
	if len(line) > 300 {
		line = line[:300] + "…"
	}
	return line
}
