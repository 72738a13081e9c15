/** The tracked-event schema versions of schemas/ as avsc types, for tests. */
import { readFileSync } from 'node:fs';
import avro, { type Type } from 'avsc';
import { SCHEMAS_DIR } from '../src/serde/event-schemas.js';

export function schemaVersionType(version: number): Type {
  return avro.Type.forSchema(JSON.parse(readFileSync(`${SCHEMAS_DIR}tracked-event.v${version}.avsc`, 'utf8')) as avro.Schema);
}
