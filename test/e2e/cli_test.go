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
