package elasticsearch

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func failuresString(fs []itemFailure) string {
	var parts []string
	for _, f := range fs {
		parts = append(parts, fmt.Sprintf("%d:%d:%s", f.pos, f.status, f.reason))
	}
	return strings.Join(parts, "\n")
}

const mapperError = `{"type":"mapper_parsing_exception","reason":"failed to parse field [message] of type [long] in document with id 'x1'. Preview of field's value: 'hello'","caused_by":{"type":"illegal_argument_exception","reason":"For input string: \"hello\""}}`

const mapperReason = `status 400: mapper_parsing_exception: failed to parse field [message] of type [long] in document with id 'x1'. Preview of field's value: 'hello' (caused by: illegal_argument_exception: For input string: "hello")`

func TestParseBulkResponse(t *testing.T) {
	for _, tc := range []struct {
		name     string
		body     string
		items    int
		failures string // failuresString
		err      string // encoding/json's message (its beginning)
		scanned  bool   // the scanner read it (else encoding/json did)
	}{
		{name: "filtered, all ok", body: `{"errors":false,"items":[{"index":{"status":201}},{"index":{"status":200}}]}`, items: 2, scanned: true},
		{name: "errors false is trusted", body: `{"errors":false,"items":[{"index":{"status":201}},{"index":{"status":400}}]}`, items: 2, scanned: true},
		{name: "errors false after items", body: `{"items":[{"index":{"status":201}},{"index":{"status":400}}],"errors":false}`, items: 2, scanned: true},
		{name: "unfiltered Elasticsearch 7 answer", body: `{"took":30,"errors":false,"items":[{"index":{"_index":"test","_type":"_doc","_id":"1","_version":1,"result":"created","_shards":{"total":2,"successful":1,"failed":0},"status":201,"_seq_no":0,"_primary_term":1}}]}`,
			items: 1, scanned: true},
		{name: "mixed", body: `{"errors":true,"items":[{"index":{"status":201}},{"index":{"status":400,"error":` + mapperError + `}},{"create":{"status":429,"error":{"type":"es_rejected_execution_exception","reason":"rejected"}}},{"index":{"status":503}}]}`,
			items: 4, scanned: true,
			failures: "1:400:" + mapperReason + "\n2:429:status 429: es_rejected_execution_exception: rejected\n3:503:status 503"},
		{name: "unfiltered failure", body: `{"took":1,"errors":true,"items":[{"index":{"_index":"x","_id":"a","status":400,"error":` + mapperError + `}}]}`,
			items: 1, scanned: true, failures: "0:400:" + mapperReason},
		// Elasticsearch 8 (since 8.8) names a refused document document_parsing_exception and puts the
		// position in the source first; the answer of the real 8.19 test node (testenv/elasticsearch8.sh).
		{name: "Elasticsearch 8 parse failure", body: `{"errors":true,"items":[{"index":{"status":201}},{"index":{"status":400,"error":{"type":"document_parsing_exception","reason":"[1:67] failed to parse field [message] of type [long] in document with id 'lyUiRaIBM00ssmrCCACK'. Preview of field's value: 'not a number'","caused_by":{"type":"illegal_argument_exception","reason":"For input string: \"not a number\""}}}}]}`,
			items: 2, scanned: true,
			failures: `1:400:status 400: document_parsing_exception: [1:67] failed to parse field [message] of type [long] in document with id 'lyUiRaIBM00ssmrCCACK'. Preview of field's value: 'not a number' (caused by: illegal_argument_exception: For input string: "not a number")`},
		{name: "no status", body: `{"errors":true,"items":[{"index":{}},{},null,{"index":null},{"index":{"status":null}}]}`, items: 5, scanned: true,
			failures: "0:0:" + noStatusReason + "\n1:0:" + noStatusReason + "\n2:0:" + noStatusReason + "\n3:0:" + noStatusReason + "\n4:0:" + noStatusReason},
		{name: "errors missing", body: `{"items":[{"index":{"status":404,"error":{"type":"index_not_found_exception","reason":"no such index [x]"}}}]}`, items: 1, scanned: true,
			failures: "0:404:status 404: index_not_found_exception: no such index [x]"},
		{name: "error null", body: `{"errors":true,"items":[{"index":{"status":400,"error":null}}]}`, items: 1, scanned: true, failures: "0:400:status 400"},
		{name: "caused_by not strings", body: `{"errors":true,"items":[{"index":{"status":400,"error":{"type":"t","reason":"r","caused_by":{"type":1,"reason":null}}}}]}`, items: 1, scanned: true,
			failures: "0:400:status 400: t: r"},
		{name: "escapes in reason", body: `{"errors":true,"items":[{"index":{"status":400,"error":{"type":"t","reason":"a \"q\" \u00e9 \\ end"}}}]}`, items: 1, scanned: true,
			failures: "0:400:status 400: t: a \"q\" é \\ end"},
		{name: "same error twice", body: `{"errors":true,"items":[{"index":{"status":429,"error":{"type":"t","reason":"r"}}},{"index":{"status":429,"error":{"type":"t","reason":"r"}}}]}`, items: 2, scanned: true,
			failures: "0:429:status 429: t: r\n1:429:status 429: t: r"},
		{name: "empty", body: `{}`, items: 0, scanned: true},
		{name: "items null", body: `{"errors":false,"items":null}`, items: 0, scanned: true},
		{name: "case-insensitive key goes to encoding/json", body: `{"Errors":true,"Items":[{"index":{"Status":400}}]}`, items: 1, failures: "0:400:status 400"},
		{name: "two actions go to encoding/json", body: `{"errors":true,"items":[{"b":{"status":201},"a":{"status":409}}]}`, items: 1, failures: "0:409:status 409"},
		{name: "truncated", body: `{"took":1,"items":[`, err: "unexpected end of JSON input"},
		{name: "html", body: `<html>oops</html>`, err: "invalid character '<' looking for beginning of value"},
		{name: "status not an int", body: `{"errors":true,"items":[{"index":{"status":"201"}}]}`, err: "json: cannot unmarshal string into Go struct field "},
		{name: "status with fraction", body: `{"errors":true,"items":[{"index":{"status":201.5}}]}`, err: "json: cannot unmarshal number 201.5 into Go struct field "},
		{name: "error a string", body: `{"errors":true,"items":[{"index":{"status":400,"error":"bad"}}]}`, err: "json: cannot unmarshal string into Go struct field "},
		{name: "trailing garbage", body: `{"errors":false,"items":[]} x`, err: "invalid character 'x' after top-level value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, scanned := scanBulkResponse([]byte(tc.body), nil)
			if scanned != tc.scanned {
				t.Errorf("scanned = %t, want %t", scanned, tc.scanned)
			}
			a, err := parseBulkResponse([]byte(tc.body), nil)
			if tc.err != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %s", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if a.items != tc.items {
				t.Errorf("items = %d, want %d", a.items, tc.items)
			}
			if got := failuresString(a.failures); got != tc.failures {
				t.Errorf("failures:\n%s\nwant:\n%s", got, tc.failures)
			}
		})
	}
}

func TestParseBulkResponseDeepNesting(t *testing.T) {
	deep := `{"errors":true,"x":` + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + `,"items":[]}`
	if _, err := parseBulkResponse([]byte(deep), nil); err == nil || !strings.Contains(err.Error(), "exceeded max depth") {
		t.Errorf("err = %v", err)
	}
	ok := `{"errors":true,"x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `,"items":[{"index":{"status":201}}]}`
	if a, err := parseBulkResponse([]byte(ok), nil); err != nil || a.items != 1 {
		t.Errorf("%+v %v", a, err)
	}
}

// FuzzBulkResponse: whatever the scanner accepts, encoding/json accepts
// too and reads the same way; likewise for one item's error object.
func FuzzBulkResponse(f *testing.F) {
	for _, s := range []string{
		`{"errors":false,"items":[{"index":{"status":201}},{"index":{"status":200}}]}`,
		`{"took":3,"errors":true,"items":[{"index":{"_index":"x","_id":"a","status":400,"error":` + mapperError + `}},{"index":{"status":429,"error":{"type":"t","reason":"r"}}},{"index":{"status":429,"error":{"type":"t","reason":"r"}}}]}`,
		`{"errors":true,"items":[{"index":{}},{},null,{"index":null},{"index":{"status":-0}}],"x":[1.5e3,-2E-1,true,null,"\ud83d\ude00"]}`,
		`{"items":[{"index":{"status":503}}]}`,
		mapperError,
		`{"type":"t","reason":"\u00e9\n","caused_by":{"type":"a","reason":"b","x":{}}}`,
		`{"errors":false,"items":[]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if a, ok := scanBulkResponse(body, nil); ok {
			ref, err := decodeBulkResponse(body)
			if err != nil {
				t.Fatalf("scanner accepted what encoding/json refuses (%v): %q", err, body)
			}
			if a.items != ref.items || failuresString(a.failures) != failuresString(ref.failures) {
				t.Fatalf("scanner: %d %q\nencoding/json: %d %q\ninput %q", a.items, failuresString(a.failures), ref.items, failuresString(ref.failures), body)
			}
		}
		var d errorDetails
		if decodeDetails(body, &d) {
			var ref errorDetails
			if err := json.Unmarshal(body, &ref); err != nil {
				t.Fatalf("decodeDetails accepted what encoding/json refuses (%v): %q", err, body)
			}
			if d.String() != ref.String() {
				t.Fatalf("decodeDetails %q, encoding/json %q, input %q", d.String(), ref.String(), body)
			}
		}
	})
}
