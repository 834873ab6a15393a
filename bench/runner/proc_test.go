package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestFileStatusReadsNamedKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "status")
	body := "Name:\tlogshipper\nVmHWM:\t   86016 kB\nThreads:\t12\nvoluntary_ctxt_switches:\t345\nnonvoluntary_ctxt_switches:\t6\n"
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	got := fileStatus(path, "VmHWM", "Threads", "nonvoluntary_ctxt_switches", "Missing")
	want := map[string]int64{"VmHWM": 86016, "Threads": 12, "nonvoluntary_ctxt_switches": 6}
	if len(got) != len(want) {
		t.Fatalf("fileStatus = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %d, want %d", k, got[k], v)
		}
	}
}

func TestProcSchedCountsThisProcess(t *testing.T) {
	st := procSched(os.Getpid())
	if st.Voluntary+st.Involuntary == 0 {
		t.Fatalf("procSched(self) = %+v: no context switches read", st)
	}
}
