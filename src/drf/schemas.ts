/**
 * DRF's error bodies as TypeBox schemas, for response serialization and the OpenAPI document.
 *
 * @module
 */
import { Type } from 'typebox';

/** DRF's validation error body: field name → messages (`non_field_errors` for the body as a whole). */
const ValidationError = Type.Record(Type.String(), Type.Array(Type.String()), {
  examples: [{ price: ['Ensure this value is greater than or equal to 0.'] }],
});

/** DRF's error body for everything that is not a field error. */
export const Detail = Type.Object({ detail: Type.String() }, { examples: [{ detail: 'Not found.' }] });

/** A 400: field errors, or `{"detail"}` for a body that cannot be parsed. */
export const BadRequest = Type.Union([ValidationError, Detail]);
