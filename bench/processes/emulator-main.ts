import { startLocalSnsSqs } from '../../lib/local/local-sns-sqs.ts';

// The SNS/SQS emulator in its own process, so the benchmark can run it under `nice` like the
// listener: in production the queue service runs on other machines, not on the database's cores.
const emulator = await startLocalSnsSqs();
process.stdout.write(`${JSON.stringify({ endpoint: emulator.endpoint })}\n`);
process.on('SIGTERM', () => void emulator.stop().finally(() => process.exit(0)));
