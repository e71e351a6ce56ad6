package metrics

import (
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	sdkmetrics "go.temporal.io/sdk/client"
)

// sdkHandler implements the SDK's metrics handler on a Prometheus
// registry. Each metric name keeps the label names of its first use; a
// later use with other tags fills missing labels with "" and drops extra
// ones, so a registration never fails at run time.
type sdkHandler struct {
	vecs *vecs
	tags map[string]string
}

type vecs struct {
	reg prometheus.Registerer
	mu  sync.Mutex
	c   map[string]*prometheus.CounterVec
	g   map[string]*prometheus.GaugeVec
	h   map[string]*prometheus.HistogramVec
	lbl map[string][]string
}

// NewSDKHandler is an SDK metrics handler that registers into reg.
func NewSDKHandler(reg prometheus.Registerer) sdkmetrics.MetricsHandler {
	return sdkHandler{vecs: &vecs{reg: reg, c: map[string]*prometheus.CounterVec{},
		g: map[string]*prometheus.GaugeVec{}, h: map[string]*prometheus.HistogramVec{}, lbl: map[string][]string{}}}
}

func (h sdkHandler) WithTags(tags map[string]string) sdkmetrics.MetricsHandler {
	m := maps.Clone(h.tags)
	if m == nil {
		m = map[string]string{}
	}
	maps.Copy(m, tags)
	return sdkHandler{vecs: h.vecs, tags: m}
}

func (h sdkHandler) Counter(name string) sdkmetrics.MetricsCounter {
	name = promName(name)
	c := metric(h, h.vecs.c, name, func(labels []string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: "Temporal SDK counter " + name}, labels)
	})
	return counterFunc(func(d int64) { c.Add(float64(d)) })
}

func (h sdkHandler) Gauge(name string) sdkmetrics.MetricsGauge {
	name = promName(name)
	g := metric(h, h.vecs.g, name, func(labels []string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: "Temporal SDK gauge " + name}, labels)
	})
	return gaugeFunc(g.Set)
}

func (h sdkHandler) Timer(name string) sdkmetrics.MetricsTimer {
	name = promName(name) + "_seconds"
	o := metric(h, h.vecs.h, name, func(labels []string) *prometheus.HistogramVec {
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: "Temporal SDK timer " + name,
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 12)}, labels)
	})
	return timerFunc(func(d time.Duration) { o.Observe(d.Seconds()) })
}

// metric is the metric with h's tags in the vector named name, which is
// made by newVec and registered on first use; all kinds share the lock
// and the label names (vecs.lbl) of each name's first use.
func metric[V interface {
	prometheus.Collector
	WithLabelValues(...string) M
}, M any](h sdkHandler, byName map[string]V, name string, newVec func(labels []string) V) M {
	v := h.vecs
	v.mu.Lock()
	defer v.mu.Unlock()
	vec, ok := byName[name]
	if !ok {
		vec = registerOr(v.reg, newVec(v.labels(name, h.tags)))
		byName[name] = vec
	}
	return vec.WithLabelValues(v.values(name, h.tags)...)
}

func (v *vecs) labels(name string, tags map[string]string) []string {
	if l, ok := v.lbl[name]; ok {
		return l
	}
	l := slices.Sorted(maps.Keys(tags))
	for i := range l {
		l[i] = promName(l[i])
	}
	v.lbl[name] = l
	return l
}

func (v *vecs) values(name string, tags map[string]string) []string {
	norm := map[string]string{}
	for k, x := range tags {
		norm[promName(k)] = x
	}
	l := v.lbl[name]
	out := make([]string, len(l))
	for i, k := range l {
		out[i] = norm[k]
	}
	return out
}

// registerOr registers c, or returns the collector already registered
// under its name.
func registerOr[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		if are, ok := err.(prometheus.AlreadyRegisteredError); ok {
			if ex, ok := are.ExistingCollector.(C); ok {
				return ex
			}
		}
	}
	return c
}

func promName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == ':' {
			return r
		}
		return '_'
	}, s)
}

type counterFunc func(int64)

func (f counterFunc) Inc(d int64) { f(d) }

type gaugeFunc func(float64)

func (f gaugeFunc) Update(x float64) { f(x) }

type timerFunc func(time.Duration)

func (f timerFunc) Record(d time.Duration) { f(d) }
