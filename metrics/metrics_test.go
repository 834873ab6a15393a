package metrics

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/logshipper/logshipper/internal/diskio"
)

func value(t *testing.T, c prometheus.Metric) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	if m.Counter != nil {
		return m.Counter.GetValue()
	}
	return m.Gauge.GetValue()
}

// Two accounts share nothing: what one component instance counts never
// shows in another's (no package globals).
func TestAccountsAreIndependent(t *testing.T) {
	a, b := NewEvents(nil), NewEvents(nil)
	a.Received.WithLabelValues("tcp").Add(3)
	a.Dropped.WithLabelValues(DropQueueFull).Inc()
	if v := value(t, b.Received.WithLabelValues("tcp")); v != 0 {
		t.Errorf("b received %v", v)
	}
	if v := value(t, a.Received.WithLabelValues("tcp")); v != 3 {
		t.Errorf("a received %v", v)
	}
}

// Registered on one registry, every label value operators alert on reads 0
// from the start, and a second registration of the same instruments on the
// same registry is refused (one owner per name).
func TestRegistryShowsEveryLabelFromTheStart(t *testing.T) {
	reg := NewRegistry()
	NewEvents(reg)
	d := NewDisk(reg)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	series := map[string]int{}
	for _, mf := range mfs {
		series[mf.GetName()] = len(mf.GetMetric())
	}
	if series["logshipper_events_dropped_total"] != len(DropReasons) || series["logshipper_events_received_total"] != len(Transports) ||
		series["logshipper_disk_errors_total"] != 2*len(diskio.Kinds) || series["go_goroutines"] != 1 {
		t.Errorf("series %v", series)
	}
	d.Failing(DiskBuffer, diskio.KindFull)
	if v := value(t, d.Fault.WithLabelValues(DiskBuffer)); v != 1 {
		t.Errorf("fault %v", v)
	}
	d.Healed(DiskBuffer)
	if v := value(t, d.Fault.WithLabelValues(DiskBuffer)); v != 0 {
		t.Errorf("fault %v after Healed", v)
	}
	defer func() {
		if recover() == nil {
			t.Error("registering the account twice on one registry did not panic")
		}
	}()
	NewEvents(reg)
}
