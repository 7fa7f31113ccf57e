package deploytest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// repoRoot is the repository's top directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the test source")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// StaticBuildTags and StaticLDFlags build a binary that runs in an empty
// (FROM scratch) image: cgo for SQLite, linked statically; the pure-Go
// resolver and user lookup, since there is no NSS; no extension loading,
// which would need dlopen.
const (
	StaticBuildTags = "osusergo,netgo,sqlite_omit_load_extension"
	StaticLDFlags   = "-s -w -linkmode external -extldflags -static"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// staticBinary builds cmd/postern statically, once per test run.
func staticBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "postern-static-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "postern")
		cmd := exec.Command("go", "build", "-trimpath", "-tags", StaticBuildTags, "-ldflags", StaticLDFlags, "-o", binPath, "./cmd/postern")
		cmd.Dir = repoRoot(t)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("static build: %v\n%s", err, out)
			return
		}
		// A dynamically linked binary would not start in the image.
		if out, err := exec.Command("file", binPath).Output(); err == nil && !strings.Contains(string(out), "statically linked") {
			buildErr = fmt.Errorf("the binary is not static: %s", out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}
