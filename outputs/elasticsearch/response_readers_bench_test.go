package elasticsearch

import (
	"testing"
)

// BenchmarkBulkResponse reads 1000-item answers of each shape with each
// reader, as WriteBatch does (failures reused). ns/item is ns/op /
// 1000; ns/item × 1e6 / 1e9 is the CPU-seconds per million documents.
func BenchmarkBulkResponseReaders(b *testing.B) {
	rs := readers()
	for _, s := range shapes() {
		for _, r := range rs {
			b.Run(s.name+"/reader="+r.name, func(b *testing.B) {
				var failures []itemFailure
				b.ReportAllocs()
				b.SetBytes(int64(len(s.body)))
				for b.Loop() {
					a, err := r.parse(s.body, failures)
					if err != nil || a.items != 1000 {
						b.Fatal(a.items, err)
					}
					failures = a.failures[:0]
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "ns/item")
			})
		}
	}
}
