/**
 * DRF's `SimpleMetadata` answer to OPTIONS: the view's name, what it renders and parses, and for
 * the writable methods a description of each field, derived from the item schema.
 *
 * @module
 */
import { PARSED_MEDIA_TYPES } from '../http/body-parsers.js';
import { RENDERED_MEDIA_TYPES } from '../http/negotiation.js';
import { PRICE_MAXIMUM, PRICE_MINIMUM, PRODUCT_MAX_LENGTH } from './item.schema.js';

/** DRF field description for `actions`, as `SimpleMetadata.get_field_info` builds it. */
function fieldInfo() {
  return {
    id: { type: 'integer', required: false, read_only: true, label: 'ID' },
    product: { type: 'string', required: true, read_only: false, label: 'Product', max_length: PRODUCT_MAX_LENGTH },
    price: {
      type: 'integer',
      required: true,
      read_only: false,
      label: 'Price',
      min_value: PRICE_MINIMUM,
      max_value: PRICE_MAXIMUM,
    },
  };
}

/**
 * Builds the OPTIONS body.
 *
 * @param name DRF view name: "Item List", "Item Instance" or "Api Root".
 * @param action the writable method to describe (`POST` on the list, `PUT` on an existing item), or none.
 */
export function viewMetadata(name: string, action?: 'POST' | 'PUT', description = '') {
  return {
    name,
    description,
    renders: [...RENDERED_MEDIA_TYPES],
    parses: [...PARSED_MEDIA_TYPES],
    ...(action ? { actions: { [action]: fieldInfo() } } : {}),
  };
}
