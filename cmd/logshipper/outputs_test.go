package main

import (
	"slices"
	"testing"

	"github.com/logshipper/logshipper/internal/config"
)

// The registry and the values config accepts (and --help lists) are the
// same names.
func TestOutputRegistryMatchesConfig(t *testing.T) {
	var names []string
	for n := range outputs {
		names = append(names, n)
	}
	slices.Sort(names)
	want := slices.Sorted(slices.Values(config.OutputTypes))
	if !slices.Equal(names, want) {
		t.Fatalf("registry %v, config.OutputTypes %v", names, want)
	}
}
