/**
 * DRF's `SimpleMetadata` answer to OPTIONS (`rest_framework/metadata.py`): the view's name and
 * description, what it renders and parses, and, for a writable method, a description of each field.
 *
 * @module
 */
import { PARSED_MEDIA_TYPES } from './body-parsers.js';
import { RENDERED_MEDIA_TYPES } from './negotiation.js';

/** One field as `SimpleMetadata.get_field_info` describes it. */
export interface FieldInfo {
  type: 'integer' | 'string';
  required: boolean;
  read_only: boolean;
  label: string;
  max_length?: number;
  min_value?: number;
  max_value?: number;
}

/**
 * Builds the OPTIONS body.
 *
 * @param name DRF view name, e.g. "Item List", "Item Instance" or "Api Root".
 * @param description the view's docstring, as DRF shows it ('' when it has none).
 * @param actions the writable method to describe (`POST` on a list, `PUT` on an existing object) and
 *   its serializer's fields; omitted when the client may not write.
 */
export function viewMetadata(
  name: string,
  description = '',
  actions?: { method: 'POST' | 'PUT'; fields: Readonly<Record<string, FieldInfo>> },
) {
  return {
    name,
    description,
    renders: [...RENDERED_MEDIA_TYPES],
    parses: [...PARSED_MEDIA_TYPES],
    ...(actions ? { actions: { [actions.method]: actions.fields } } : {}),
  };
}
