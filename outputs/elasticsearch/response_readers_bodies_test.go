package elasticsearch

import (
	"fmt"
	"strings"
)

// Error objects of real answers, beside mapperError of response_test.go.
const (
	es8ParseError = `{"type":"document_parsing_exception","reason":"[1:67] failed to parse field [message] of type [long] in document with id 'lyUiRaIBM00ssmrCCACK'. Preview of field's value: 'not a number'","caused_by":{"type":"illegal_argument_exception","reason":"For input string: \"not a number\""}}`
	rejectedError = `{"type":"es_rejected_execution_exception","reason":"rejected execution of coordinating operation [coordinating_and_primary_bytes=0, replica_bytes=0, all_bytes=0, coordinating_operation_bytes=437, max_coordinating_and_primary_bytes=107374182]"}`
)

// testBodies are the bodies of TestParseBulkResponse (response_test.go),
// its fuzz seeds, and more for the strictness the readers must share.
var testBodies = []string{
	`{"errors":false,"items":[{"index":{"status":201}},{"index":{"status":200}}]}`,
	`{"errors":false,"items":[{"index":{"status":201}},{"index":{"status":400}}]}`,
	`{"items":[{"index":{"status":201}},{"index":{"status":400}}],"errors":false}`,
	`{"took":30,"errors":false,"items":[{"index":{"_index":"test","_type":"_doc","_id":"1","_version":1,"result":"created","_shards":{"total":2,"successful":1,"failed":0},"status":201,"_seq_no":0,"_primary_term":1}}]}`,
	`{"errors":true,"items":[{"index":{"status":201}},{"index":{"status":400,"error":` + mapperError + `}},{"create":{"status":429,"error":{"type":"es_rejected_execution_exception","reason":"rejected"}}},{"index":{"status":503}}]}`,
	`{"took":1,"errors":true,"items":[{"index":{"_index":"x","_id":"a","status":400,"error":` + mapperError + `}}]}`,
	`{"errors":true,"items":[{"index":{"status":201}},{"index":{"status":400,"error":` + es8ParseError + `}}]}`,
	`{"errors":true,"items":[{"index":{}},{},null,{"index":null},{"index":{"status":null}}]}`,
	`{"items":[{"index":{"status":404,"error":{"type":"index_not_found_exception","reason":"no such index [x]"}}}]}`,
	`{"errors":true,"items":[{"index":{"status":400,"error":null}}]}`,
	`{"errors":true,"items":[{"index":{"status":400,"error":{"type":"t","reason":"r","caused_by":{"type":1,"reason":null}}}}]}`,
	`{"errors":true,"items":[{"index":{"status":400,"error":{"type":"t","reason":"a \"q\" \u00e9 \\ end"}}}]}`,
	`{"errors":true,"items":[{"index":{"status":429,"error":{"type":"t","reason":"r"}}},{"index":{"status":429,"error":{"type":"t","reason":"r"}}}]}`,
	`{}`,
	`{"errors":false,"items":null}`,
	`{"Errors":true,"Items":[{"index":{"Status":400}}]}`,
	`{"errors":true,"items":[{"b":{"status":201},"a":{"status":409}}]}`,
	`{"took":1,"items":[`,
	`<html>oops</html>`,
	`{"errors":true,"items":[{"index":{"status":"201"}}]}`,
	`{"errors":true,"items":[{"index":{"status":201.5}}]}`,
	`{"errors":true,"items":[{"index":{"status":400,"error":"bad"}}]}`,
	`{"errors":false,"items":[]} x`,
	`{"errors":true,"x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `,"items":[{"index":{"status":201}}]}`,
	`{"took":3,"errors":true,"items":[{"index":{"_index":"x","_id":"a","status":400,"error":` + mapperError + `}},{"index":{"status":429,"error":{"type":"t","reason":"r"}}},{"index":{"status":429,"error":{"type":"t","reason":"r"}}}]}`,
	`{"errors":true,"items":[{"index":{}},{},null,{"index":null},{"index":{"status":-0}}],"x":[1.5e3,-2E-1,true,null,"\ud83d\ude00"]}`,
	`{"items":[{"index":{"status":503}}]}`,
	`{"errors":false,"items":[]}`,
	// strictness
	`{"errors":true,"items":[{"index":{"status":400,"error":{"type":"t","reason":"tab	inside"}}}]}`,
	`{"errors":true,"items":[{"index":{"status":400,"error":{"type":"t","reason":"bad \x"}}}]}`,
	`{"errors":true,"items":[{"index":{"status":400,"error":{"type":"t","reason":"lone \ud800 surrogate"}}}]}`,
	"{\"errors\":true,\"items\":[{\"index\":{\"status\":400,\"error\":{\"type\":\"t\",\"reason\":\"invalid \xff utf-8\"}}}]}",
	`{"errors":true,"items":[{"index":{"status":400,"status":201}}]}`,
	`{"errors":true,"items":[{"index":{"status":1-2}}]}`,
	`{"errors":true,"items":[{"index":{"status":NaN}}]}`,
	`{"errors":true,"items":[{"index":{"status":0400}}]}`,
	`{"errors":true,"items":[{"index":{"st\u0061tus":400}}]}`,
	`{"errors":true,"items":[{"index":{"ſtatus":400}}]}`,
	"{\n  \"errors\" : true,\n  \"items\" : [ { \"index\" : { \"status\" : 400 } } ]\n}\n",
	`{"errors":true,"items":[{"index":{"status":400,"error":{"type":"t","reason":"r","caused_by":{"type":"a","type":"b"}}}}]}`,
	`{"errors":true,"items":[{"index":{"status":99999999999999999999}}]}`,
}

// Shapes of real 1000-item answers (batch_count's default).
type shape struct {
	name string
	body []byte
}

// statusFor: 1% and 50% of the items refused (400, parse failure, as
// Elasticsearch 8 answers it) and the whole batch pushed back (429).
func shapes() []shape {
	ok := func(int) int { return 201 }
	pct1 := func(i int) int {
		if i%100 == 50 {
			return 400
		}
		return 201
	}
	pct50 := func(i int) int {
		if i%2 == 1 {
			return 400
		}
		return 201
	}
	all429 := func(int) int { return 429 }
	return []shape{
		{"answer=filtered/fail=0", readersBulkResponse(1000, ok, false)},
		{"answer=filtered/fail=1pct-400", readersBulkResponse(1000, pct1, false)},
		{"answer=filtered/fail=50pct-400", readersBulkResponse(1000, pct50, false)},
		{"answer=filtered/fail=all-429", readersBulkResponse(1000, all429, false)},
		{"answer=unfiltered/fail=0", readersBulkResponse(1000, ok, true)},
		{"answer=unfiltered/fail=1pct-400", readersBulkResponse(1000, pct1, true)},
		{"answer=unfiltered/fail=50pct-400", readersBulkResponse(1000, pct50, true)},
	}
}

// readersBulkResponse is a 1000-item answer as Elasticsearch 8 writes it, with
// filter_path=errors,items.*.status,items.*.error or (unfiltered) whole.
// Each refused document has its own id in the reason, as in reality.
func readersBulkResponse(n int, status func(i int) int, unfiltered bool) []byte {
	var sb strings.Builder
	errs := false
	for i := range n {
		if status(i) >= 300 {
			errs = true
		}
	}
	if unfiltered {
		fmt.Fprintf(&sb, `{"errors":%t,"took":12,"ingest_took":0,"items":[`, errs)
	} else {
		fmt.Fprintf(&sb, `{"errors":%t,"items":[`, errs)
	}
	for i := range n {
		if i > 0 {
			sb.WriteByte(',')
		}
		st := status(i)
		id := fmt.Sprintf("lyUiRaIBM00ss%07d", i)
		sb.WriteString(`{"index":{`)
		if unfiltered {
			fmt.Fprintf(&sb, `"_index":"syslog-msg-2026.12.05","_id":"%s",`, id)
			if st < 300 {
				fmt.Fprintf(&sb, `"_version":1,"result":"created","_shards":{"total":2,"successful":1,"failed":0},"_seq_no":%d,"_primary_term":1,`, i)
			}
		}
		fmt.Fprintf(&sb, `"status":%d`, st)
		switch {
		case st == 429:
			sb.WriteString(`,"error":` + rejectedError)
		case st >= 300:
			fmt.Fprintf(&sb, `,"error":{"type":"document_parsing_exception","reason":"[1:67] failed to parse field [message] of type [long] in document with id '%s'. Preview of field's value: 'not a number'","caused_by":{"type":"illegal_argument_exception","reason":"For input string: \"not a number\""}}`, id)
		}
		sb.WriteString(`}}`)
	}
	sb.WriteString(`]}`)
	return []byte(sb.String())
}
