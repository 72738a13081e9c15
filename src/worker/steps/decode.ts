/**
 * Step `decode`: each record by the writer schema id it carries, resolved to
 * the newest schema. An undecodable record (no value, wrong magic byte,
 * unknown schema id, truncated, hostile counts) is a dead letter; the
 * registry being unavailable is not, and retries the step.
 */
import type { ConsumedRecord, PartitionBatch } from '../../kafka/round-handlers.js';
import type { DeadLetter } from '../../kafka/dead-letters.js';
import type { TrackedEvent } from '../../model/event.js';
import { UndecodableError, type EventDecoder } from '../../serde/event-decoder.js';
import { LOOKUP_RETRY, attempt, deadLetter, ok, type RecordOutcome, type Step } from './step.js';

export interface DecodedRecord {
  topic: string;
  partition: number;
  offset: string;
  record: ConsumedRecord;
  event: TrackedEvent;
  schemaId: number;
}

export interface DecodedRound {
  /** In the round's order: each partition's in offset order. */
  decoded: DecodedRecord[];
  letters: DeadLetter[];
}

async function decodeRecord(decode: EventDecoder, topic: string, partition: number, record: ConsumedRecord): Promise<RecordOutcome<DecodedRecord>> {
  if (record.value === null) return deadLetter('empty value');
  try {
    const { event, schemaId } = await decode(record.value);
    return ok({ topic, partition, offset: record.offset, record, event, schemaId });
  } catch (error) {
    if (!(error instanceof UndecodableError)) throw error; // the registry is unavailable: the step is retried
    return deadLetter(`undecodable: ${error.message}`);
  }
}

export function createDecodeStep(decode: EventDecoder): Step<PartitionBatch[], DecodedRound> {
  return {
    name: 'decode',
    retry: LOOKUP_RETRY,
    // Decoding is pure, so a registry outage retries the whole round's decoding.
    run: (round) =>
      attempt(async () => {
        const decoded: DecodedRecord[] = [];
        const letters: DeadLetter[] = [];
        for (const { topic, partition, records } of round) {
          for (const record of records) {
            const outcome = await decodeRecord(decode, topic, partition, record);
            switch (outcome.kind) {
              case 'ok':
                decoded.push(outcome.value);
                break;
              case 'dead-letter':
              case 'quarantine':
                letters.push({ record, topic, partition, reason: outcome.reason });
                break;
            }
          }
        }
        return { decoded, letters };
      }),
  };
}
