package reconciler

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/plinth-platform/plinth/lib/drift"
)

// Metrics are the controller's Prometheus metrics. A nil *Metrics
// records nothing.
type Metrics struct {
	duration    *prometheus.HistogramVec
	lastApplied *prometheus.GaugeVec
	drifted     *prometheus.GaugeVec
	errors      *prometheus.CounterVec
}

// NewMetrics registers the metrics with reg (controller-runtime's
// metrics.Registry in the controller).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "plinth_reconcile_duration_seconds", Help: "Time one reconcile of an environment took.",
			Buckets: []float64{0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300},
		}, []string{"environment"}),
		lastApplied: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "plinth_last_applied_timestamp_seconds", Help: "When a revision of the environment was last applied (Unix time).",
		}, []string{"environment"}),
		drifted: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "plinth_drifted_objects", Help: "Objects that differ from the environment at the last drift check, by component and state.",
		}, []string{"environment", "component", "state"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "plinth_reconcile_errors_total", Help: "Failed reconciles of the environment.",
		}, []string{"environment"}),
	}
	reg.MustRegister(m.duration, m.lastApplied, m.drifted, m.errors)
	return m
}

func (m *Metrics) observe(env string, start, end time.Time, err error) {
	if m == nil {
		return
	}
	m.duration.WithLabelValues(env).Observe(end.Sub(start).Seconds())
	if err != nil {
		m.errors.WithLabelValues(env).Inc()
	}
}

func (m *Metrics) applied(env string, at time.Time) {
	if m != nil {
		m.lastApplied.WithLabelValues(env).Set(float64(at.Unix()))
	}
}

func (m *Metrics) drift(r *drift.Report) {
	if m == nil {
		return
	}
	m.drifted.DeletePartialMatch(prometheus.Labels{"environment": r.Environment})
	for _, c := range r.Components {
		counts := map[string]int{drift.StateDrifted: 0, drift.StateMissing: 0}
		for _, o := range c.Items {
			counts[o.State]++
		}
		for state, n := range counts {
			m.drifted.WithLabelValues(r.Environment, c.Name, state).Set(float64(n))
		}
	}
}

// forget drops every series of env: a deleted Environment, or one moved
// to another shard, must not show its last figures for ever.
func (m *Metrics) forget(env string) {
	if m == nil {
		return
	}
	for _, vec := range []*prometheus.MetricVec{m.duration.MetricVec, m.lastApplied.MetricVec, m.drifted.MetricVec, m.errors.MetricVec} {
		vec.DeletePartialMatch(prometheus.Labels{"environment": env})
	}
}
