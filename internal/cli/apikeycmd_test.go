package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tubelake/tubelake/internal/api"
)

func runAPIKey(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := apikeyCmd(&globals{stdout: &out, stderr: &errb})
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	err := cmd.Execute()
	return out.String(), errb.String(), err
}

func TestAPIKeyCommands(t *testing.T) {
	dir := t.TempDir()
	out, msg, err := runAPIKey(t, "create", "--data", dir, "--name", "backend", "--rate", "5")
	if err != nil {
		t.Fatalf("%v: %s", err, msg)
	}
	secret := strings.TrimSpace(out)
	if !strings.HasPrefix(secret, "tlk_") || strings.Count(out, "\n") != 1 {
		t.Fatalf("create printed %q", out)
	}
	b, err := os.ReadFile(filepath.Join(dir, api.KeysFile))
	if err != nil {
		t.Fatal(err)
	}
	// The secret is tlk_<hex id>_<base64url>; the base64url part may itself
	// contain "_", so split on the first two separators only.
	parts := strings.SplitN(secret, "_", 3)
	if len(parts) != 3 || len(parts[2]) < 32 {
		t.Fatalf("secret %q is not tlk_<id>_<secret>", secret)
	}
	if strings.Contains(string(b), parts[2]) {
		t.Fatal("the key's secret is stored in clear")
	}
	ks, err := api.OpenKeyStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	if k, ok := ks.Verify(secret); !ok || k.Name != "backend" || k.Rate != 5 || k.Burst != 5 {
		t.Fatalf("verify: %+v %v", k, ok)
	}
	if _, _, err := runAPIKey(t, "create", "--data", dir); err == nil {
		t.Fatal("create without --name succeeded")
	}
	out, _, err = runAPIKey(t, "list", "--data", dir)
	if err != nil || !strings.Contains(out, "backend") || !strings.Contains(out, "active") || strings.Contains(out, secret) {
		t.Fatalf("list: %v\n%s", err, out)
	}
	if _, _, err := runAPIKey(t, "revoke", "--data", dir, "backend"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runAPIKey(t, "revoke", "--data", dir, "backend"); err == nil {
		t.Fatal("revoking twice succeeded")
	}
	out, _, _ = runAPIKey(t, "list", "--data", dir)
	if !strings.Contains(out, "revoked") {
		t.Fatalf("list after revoke:\n%s", out)
	}
}
