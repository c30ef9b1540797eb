import { describe, expect, it } from 'vitest';
import { readSoakSettings } from '../../bench/soak/soak-settings.ts';

// `npm run soak` runs for many minutes: a typo must fail at once, naming the option and its value.

const quietly = (argv: string[]) => {
  const write = process.stderr.write;
  process.stderr.write = () => true;
  try {
    return readSoakSettings(argv);
  } finally {
    process.stderr.write = write;
  }
};

describe('soak settings', () => {
  it('runs 15 minutes at 2,000 events/s from 8 writers with a row a minute by default', () => {
    expect(quietly([])).toEqual({ eventsPerSecond: 2000, writers: 8, intervalSeconds: 60, seconds: 900 });
  });

  it('reads the outage mode with its own phases', () => {
    expect(quietly(['--outage', '30m', '--rate', '500'])).toEqual({
      eventsPerSecond: 500,
      writers: 8,
      intervalSeconds: 60,
      seconds: 900,
      outage: { beforeSeconds: 120, outageSeconds: 1800, catchUpTimeoutSeconds: 1800 },
    });
  });

  it('reads SOAK_* variables as the options', () => {
    process.env.SOAK_RATE = '750';
    process.env.SOAK_INTERVAL = '10s';
    try {
      expect(quietly(['--duration', '2m'])).toMatchObject({ eventsPerSecond: 750, intervalSeconds: 10, seconds: 120 });
    } finally {
      delete process.env.SOAK_RATE;
      delete process.env.SOAK_INTERVAL;
    }
  });

  it('rejects a rate that is not a whole number, naming the option and the value', () => {
    expect(() => quietly(['--rate', '2k'])).toThrow(/--rate.*'2k'.*whole number/);
  });

  it('rejects a duration without a unit, naming the variable it came from', () => {
    process.env.SOAK_DURATION = '15';
    try {
      expect(() => quietly([])).toThrow(/'15' from env 'SOAK_DURATION'.*such as 60s/);
    } finally {
      delete process.env.SOAK_DURATION;
    }
  });

  it('refuses both modes at once', () => {
    expect(() => quietly(['--duration', '10m', '--outage', '5m'])).toThrow(/give one of them/);
  });

  it('refuses an interval too long to give the verdict its rows', () => {
    expect(() => quietly(['--duration', '2m', '--interval', '1m'])).toThrow(/--interval 60s is longer than a third of --duration \(40s\)/);
  });
});
