/**
 * The item serializer's fields as DRF's `SimpleMetadata.get_field_info` describes them in OPTIONS
 * answers, with the limits read from the item schema.
 *
 * @module
 */
import type { FieldInfo } from '../drf/metadata.js';
import { PRICE_MAXIMUM, PRICE_MINIMUM, PRODUCT_MAX_LENGTH } from './item.schema.js';

/** `actions.POST` / `actions.PUT` of the items views' OPTIONS body. */
export const ITEM_FIELDS: Readonly<Record<string, FieldInfo>> = {
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
