// Emits N EMF events with AWS's aws-embedded-metrics library (environment from
// AWS_EMF_ENVIRONMENT, endpoint from AWS_EMF_AGENT_ENDPOINT: tcp:// or udp://).
// Usage: node emit.js N TAG
const { metricScope, Unit, StorageResolution } = require("aws-embedded-metrics");

const n = parseInt(process.argv[2] || "3", 10);
const tag = process.argv[3] || "t";

const one = metricScope((metrics) => async (i) => {
  metrics.putDimensions({ Service: "checkout-" + tag });
  metrics.putMetric("Latency", 100 + i, Unit.Milliseconds, StorageResolution.High);
  metrics.putMetric("Orders", 1, Unit.Count);
  metrics.setProperty("RequestId", tag + "-" + i);
});

(async () => {
  for (let i = 0; i < n; i++) {
    await one(i);
  }
})().then(
  // the library's UDP sink resolves before the datagram is sent: give the sends time to leave
  () => setTimeout(() => process.exit(0), 500),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
