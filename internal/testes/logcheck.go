package testes

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// CheckLogLines fails t for a log line Elasticsearch would refuse if
// logshipper's own logs were shipped there (the Docker log driver,
// Filebeat): one that is not a JSON object, or has a key twice in one
// object.
func CheckLogLines(t testing.TB, logs string) {
	t.Helper()
	for line := range strings.Lines(logs) {
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		if dup, err := DuplicateKey(line); err != nil || dup != "" || line[0] != '{' {
			t.Errorf("log line not valid for Elasticsearch (error %v, duplicate key %q): %s", err, dup, line)
		}
	}
}

// DuplicateKey returns the first key found twice in one object of the
// JSON text s ("" if none), or the error that makes s not JSON.
func DuplicateKey(s string) (string, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	var value func() (string, error)
	value = func() (string, error) {
		tok, err := dec.Token()
		if err != nil {
			return "", err
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return "", err
				}
				key := k.(string)
				if seen[key] {
					return key, nil
				}
				seen[key] = true
				if dup, err := value(); dup != "" || err != nil {
					return dup, err
				}
			}
		case json.Delim('['):
			for dec.More() {
				if dup, err := value(); dup != "" || err != nil {
					return dup, err
				}
			}
		default:
			return "", nil
		}
		_, err = dec.Token() // the closing delimiter
		return "", err
	}
	dup, err := value()
	if err == nil && dup == "" && dec.More() {
		err = fmt.Errorf("more after the first value")
	}
	return dup, err
}
