import { describe, expect, test } from 'vitest';
import { promqlMetricNames } from '../../helpers/dashboard-queries.js';

describe('metric names of a PromQL expression', () => {
  test('labels, grouping clauses, functions, ranges and strings are not metric names', () => {
    expect(
      promqlMetricNames('histogram_quantile(0.95, sum by (instance, le) (rate(tsfu_signaling_rtt_seconds_bucket{instance=~"a|b", job="x"}[$__rate_interval]))) > 0.1'),
    ).toEqual(['tsfu_signaling_rtt_seconds_bucket']);
  });

  test('both sides of binary operators, with on() and and', () => {
    expect(
      promqlMetricNames('rate(tsfu_process_cpu_seconds_total[5m]) / on (instance) sum by (instance) (rate(tsfu_sfu_forwarded_packets_total[5m])) and up{job="tsfu"} == 1'),
    ).toEqual(['tsfu_process_cpu_seconds_total', 'tsfu_sfu_forwarded_packets_total', 'up']);
  });

  test('a bare selector', () => {
    expect(promqlMetricNames('tsfu_cluster_leases')).toEqual(['tsfu_cluster_leases']);
  });
});
