package event

// StructuredData is RFC 5424 STRUCTURED-DATA: the SD-ELEMENTs of a message
// in the order the sender wrote them. nil means the message had none.
//
// Each SD-ID appears once, and each param name once within its element:
// the parser merges a repeated SD-ID's params into the first element with
// that ID, and a repeated param name keeps the position of its first
// occurrence and the value of its last, so the result is what assigning
// the params in message order into a map of maps would hold, only with
// the order kept. Encoders rely on this (the Elasticsearch document's
// structured_data object must not repeat a key); whoever builds a
// StructuredData by hand must keep it too.
//
// The strings are usually substrings of the event's one copy of Raw: a
// parsed StructuredData costs two allocations (the elements and all their
// params), plus one per PARAM-VALUE that had escapes to remove.
type StructuredData []SDElement

// SDElement is one SD-ELEMENT: its SD-ID and its params in message order.
type SDElement struct {
	ID     string
	Params []SDParam
}

// SDParam is one SD-PARAM, its value unescaped (\" \\ \] → " \ ]).
type SDParam struct {
	Name, Value string
}

// Element returns the element with the given SD-ID.
func (sd StructuredData) Element(id string) (SDElement, bool) {
	for _, e := range sd {
		if e.ID == id {
			return e, true
		}
	}
	return SDElement{}, false
}

// Get returns the value of param name of element id.
func (sd StructuredData) Get(id, name string) (string, bool) {
	e, ok := sd.Element(id)
	if !ok {
		return "", false
	}
	return e.Get(name)
}

// Get returns the value of the param called name.
func (e SDElement) Get(name string) (string, bool) {
	for _, p := range e.Params {
		if p.Name == name {
			return p.Value, true
		}
	}
	return "", false
}

// Map returns sd as SD-ID → param name → value (nil for nil sd), for
// callers that want map lookups or comparisons and can pay for the maps.
func (sd StructuredData) Map() map[string]map[string]string {
	if sd == nil {
		return nil
	}
	m := make(map[string]map[string]string, len(sd))
	for _, e := range sd {
		params := m[e.ID]
		if params == nil {
			params = make(map[string]string, len(e.Params))
			m[e.ID] = params
		}
		for _, p := range e.Params {
			params[p.Name] = p.Value
		}
	}
	return m
}
