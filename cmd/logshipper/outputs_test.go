package main

import (
	"slices"
	"testing"

	"github.com/logshipper/logshipper/internal/config"
)

// The registries and the values config accepts (and --help lists) are the
// same names.
func TestInputRegistryMatchesConfig(t *testing.T) {
	var names []string
	for n := range inputs {
		names = append(names, n)
	}
	slices.Sort(names)
	if want := slices.Sorted(slices.Values(config.InputTypes)); !slices.Equal(names, want) {
		t.Fatalf("registry %v, config.InputTypes %v", names, want)
	}
}

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
