package e2e

import (
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/logshipper/logshipper/internal/config"
)

// A bad value stops the start with one line naming key, value and remedy.
func TestBadSettingStopsStart(t *testing.T) {
	cmd := exec.Command(binary)
	cmd.Env = []string{"LOGSHIPPER_PIPELINE_WORKERS=lots"}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 {
		t.Fatalf("exit = %v, want code 2; output %q", err, out)
	}
	want := `logshipper: pipeline.workers: "lots" is not a whole number (set by LOGSHIPPER_PIPELINE_WORKERS, --pipeline.workers or the config file)` + "\n"
	if string(out) != want {
		t.Fatalf("output %q\nwant   %q", out, want)
	}
}

// --help lists every setting.
func TestHelpListsEverySetting(t *testing.T) {
	out, err := exec.Command(binary, "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("--help: %v", err)
	}
	for _, s := range config.Settings {
		if !strings.Contains(string(out), "--"+s.Key+" ") && !strings.Contains(string(out), "--"+s.Key+"[") {
			t.Errorf("--help lacks --%s", s.Key)
		}
	}
}

func TestSubcommands(t *testing.T) {
	out, err := exec.Command(binary, "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "logshipper ") {
		t.Fatalf("version: %v %q", err, out)
	}
	cmd := exec.Command(binary, "check-config")
	cmd.Env = []string{}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("check-config on defaults: %v %q", err, out)
	}
	cmd = exec.Command(binary, "check-config", "--elasticsearch.urls", "es:9200")
	out, err = cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(string(out), `elasticsearch.urls: "es:9200"`) {
		t.Fatalf("check-config with a bad URL: %v %q", err, out)
	}
	if err := exec.Command(binary, "health", "--http.listen", "127.0.0.1:1").Run(); !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("health with nothing listening: %v, want exit 1", err)
	}
}

// `logshipper health` is the image's HEALTHCHECK: exit 0 against a running process.
func TestHealthSubcommandAgainstRunningProcess(t *testing.T) {
	s := startShipper(t, uniqueIndex(t, esURL(t)))
	if out, err := exec.Command(binary, "health", "--http.listen", s.httpAddr).CombinedOutput(); err != nil {
		t.Fatalf("health: %v %q", err, out)
	}
	if out, err := exec.Command(binary, "health", "--ready", "--http.listen", s.httpAddr).CombinedOutput(); err != nil {
		t.Fatalf("health --ready: %v %q", err, out)
	}
	// Not ready (Elasticsearch unreachable): exit 1 with the reason.
	down := launch(t, "http://127.0.0.1:1", uniqueIndex(t, esURL(t)), "/healthz")
	out, err := exec.Command(binary, "health", "--ready", "--http.listen", down.httpAddr).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "/readyz answered 503") || !strings.Contains(string(out), "elasticsearch") {
		t.Fatalf("health --ready with Elasticsearch down: %v %q", err, out)
	}
}
