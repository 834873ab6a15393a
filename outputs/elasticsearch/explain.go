package elasticsearch

import (
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
)

// Errors that an operator fixes in logshipper's own settings (a wrong CA
// file, a wrong password, an API key the cluster does not know) are retried
// like any other: nothing is dropped, the events wait in the queue or the
// disk buffer. What the log must give is one line that says what is wrong,
// where, and which setting to look at; Elasticsearch's "HTTP 401
// Unauthorized" or Go's "x509: certificate signed by unknown authority"
// alone says neither which node nor which setting.

// nodeError is a failed request with the node it went to (when known) and
// a hint naming the setting to check (when there is one).
type nodeError struct {
	url  string // base URL, password redacted; "" when not known
	err  error
	hint string
}

func (e *nodeError) Error() string {
	s := describeErr(e.err)
	if e.url != "" && errStatus(e.err) != 0 {
		// As Go's *url.Error names the URL of a transport error: "URL: what".
		s = e.url + ": " + s
	}
	if e.hint != "" {
		s += "; " + e.hint
	}
	return s
}

func (e *nodeError) Unwrap() error { return e.err }

// bare is err without the node and the hint: for messages about what the
// cluster can do (no lifecycle API, no data streams), where they are noise.
func bare(err error) error {
	if ne, ok := err.(*nodeError); ok {
		return ne.err
	}
	return err
}

// answeredBy marks an error answer with the node's base URL.
func answeredBy(baseURL string, err error) error {
	return &nodeError{url: redactURL(strings.TrimRight(baseURL, "/")), err: err}
}

// explain adds the hint for err, if it has one.
func (o *Output) explain(err error) error {
	if err == nil {
		return nil
	}
	hint := o.hint(err)
	if ne, ok := err.(*nodeError); ok {
		if hint == "" || ne.hint != "" {
			return err
		}
		c := *ne
		c.hint = hint
		return &c
	}
	if hint == "" {
		return err
	}
	return &nodeError{err: err, hint: hint}
}

// onlyURL is the node olivere's calls (ping, template, policy) go to when
// that is certain: one URL and no sniffing.
func (o *Output) onlyURL() string {
	if len(o.cfg.URLs) == 1 && !o.cfg.Sniff {
		return o.cfg.URLs[0]
	}
	return ""
}

// hint names the setting behind err, or "".
func (o *Output) hint(err error) string {
	var unknownCA x509.UnknownAuthorityError
	var wrongHost x509.HostnameError
	var invalid x509.CertificateInvalidError
	switch {
	case errStatus(err) == 401:
		switch {
		case o.cfg.APIKey != "":
			return "the node refused the API key: check elasticsearch.api_key (or api_key_file)"
		case o.cfg.Username != "":
			return fmt.Sprintf("the node refused user %q and its password: check elasticsearch.username and elasticsearch.password (or password_file)", o.cfg.Username)
		}
		return "the node wants credentials: set elasticsearch.username and elasticsearch.password (or password_file), or elasticsearch.api_key"
	case errStatus(err) == 403:
		return "the node knows these credentials but does not allow this request: grant the user or API key the privilege"
	case errors.As(err, &unknownCA):
		if o.cfg.CAFile != "" {
			return fmt.Sprintf("the node's certificate is not signed by the CA in elasticsearch.ca_file (%s)", o.cfg.CAFile)
		}
		return "the node's certificate is not signed by a CA this system trusts: set elasticsearch.ca_file to the PEM file of the CA that signed it"
	case errors.As(err, &wrongHost):
		return "the node's certificate is not issued for the host name in elasticsearch.urls: use a name the certificate lists"
	case errors.As(err, &invalid):
		return "the node's certificate is not valid (expired, not yet valid, or not for a server); elasticsearch.ca_file cannot fix that"
	case strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return "elasticsearch.urls says https but the node answers plain http"
	}
	return ""
}
