export { createLogger, defaultLogFormat, type LogOptions } from "./log.js";
export { Registry, Counter, Gauge, Histogram, CollectedGauge, CONTENT_TYPE, LATENCY_BUCKETS, type Labels, type Sample, type Collector } from "./metrics.js";
