/**
 * The items resource's part of the OpenAPI document: its tag, its shared schemas, response
 * descriptions and named examples, all of which match what the API really answers
 * (`test/openapi/openapi.test.ts` replays them).
 *
 * @module
 */
import { BadRequest, Detail } from '../drf/schemas.js';
import type { OpenAPIV3_1 } from 'openapi-types';
import type { Examples, ResourceDocs } from '../drf/resource.js';
import { Item, ItemList, ItemPatch, ItemWrite, PRICE_MAXIMUM, PRODUCT_MAX_LENGTH } from './item.schema.js';

/** What each status means for the items operations (DRF's behaviour: `drf/errors.ts`, `drf/negotiation.ts`). */
const STATUS_DESCRIPTIONS: Readonly<Record<string, string>> = {
  200: 'OK.',
  201: 'Created: the new item, with its id.',
  204: 'Deleted: no body.',
  400: 'Invalid input: `{"field": ["message", ...]}` (`non_field_errors` for the body as a whole), or `{"detail"}` for a body that cannot be parsed.',
  404: '`{"detail": "Not found."}`: no item with this id (or it is filtered out by `?product=`/`?search=`), or an unknown `?format=`.',
  406: '`{"detail"}`: the `Accept` header allows neither `application/json` nor `text/html`.',
  413: '`{"detail"}`: the body is larger than the configured limit (`BODY_LIMIT`).',
  409: '`{"detail"}`: a request with this `Idempotency-Key` is still being processed; retry after `Retry-After` seconds.',
  412: '`{"detail"}`: `If-Match` does not list the item\'s current ETag (someone changed it since it was read), or on the list URL (which has no ETag) `If-Match` lists ETags or a create sends `If-None-Match: *`. Nothing was changed.',
  415: '`{"detail"}`: the `Content-Type` is not JSON, form-urlencoded or multipart.',
  422: '`{"detail"}`: this `Idempotency-Key` was already used with a different request body. Nothing was created.',
  503: '`{"detail": "Database unavailable."}`: retry after `Retry-After` seconds. Nothing was changed.',
};

const EXAMPLE_ITEM = { id: 1, product: 'Apple', price: 100 };

/** Named examples for request bodies, by operationId. */
const REQUEST_EXAMPLES: Readonly<Record<string, Examples>> = {
  create: {
    item: { summary: 'A new item', value: { product: 'Apple', price: 100 } },
    numericString: {
      summary: 'Price as a numeric string (accepted, stored as 100)',
      value: { product: 'Apple', price: '100' },
    },
  },
  update: { item: { summary: 'Both fields', value: { product: 'Green apple', price: 120 } } },
  partial_update: {
    price: { summary: 'Only the price', value: { price: 120 } },
    product: { summary: 'Only the product', value: { product: 'Green apple' } },
  },
};

/** Named examples for answers, by status code (and operationId for the 200s). */
const RESPONSE_EXAMPLES: Readonly<Record<string, Examples>> = {
  'list 200': {
    items: { summary: 'Two items, ordered by id', value: [EXAMPLE_ITEM, { id: 2, product: 'Pear', price: 80 }] },
    empty: { summary: 'No item matches', value: [] },
  },
  'item 200': { item: { summary: 'An item', value: EXAMPLE_ITEM } },
  'item 201': { item: { summary: 'The created item', value: EXAMPLE_ITEM } },
  'query 400': {
    nullCharacter: {
      summary: '`?product=` holding a NUL character',
      value: { product: ['Null characters are not allowed.'] },
    },
  },
  400: {
    fields: {
      summary: 'Field errors',
      value: {
        product: [`Ensure this field has no more than ${PRODUCT_MAX_LENGTH} characters.`],
        price: ['Ensure this value is greater than or equal to 0.'],
      },
    },
    required: {
      summary: 'Missing fields',
      value: { product: ['This field is required.'], price: ['This field is required.'] },
    },
    outOfRange: {
      summary: 'Price out of range',
      value: {
        product: ['This field is required.'],
        price: [`Ensure this value is less than or equal to ${PRICE_MAXIMUM}.`],
      },
    },
    nonField: {
      summary: 'Body is not an object',
      value: { non_field_errors: ['Invalid data. Expected a dictionary, but got list.'] },
    },
    parse: {
      summary: 'Unparsable JSON (body `nope`)',
      value: { detail: `JSON parse error - Unexpected token 'o', "nope" is not valid JSON` },
    },
  },
  404: { notFound: { summary: 'Missing item', value: { detail: 'Not found.' } } },
  406: {
    notAcceptable: { summary: 'Unsupported Accept', value: { detail: 'Could not satisfy the request Accept header.' } },
  },
  413: { tooLarge: { summary: 'Body too large', value: { detail: 'Request body is too large.' } } },
  415: {
    unsupported: {
      summary: 'Unsupported Content-Type',
      value: { detail: 'Unsupported media type "text/plain" in request.' },
    },
  },
  409: {
    inProgress: {
      summary: 'Same key, first request still running',
      value: { detail: 'A request with this Idempotency-Key is still being processed; retry later.' },
    },
  },
  412: {
    changed: {
      summary: 'Changed since it was read',
      value: { detail: 'Precondition failed: If-Match does not match the current ETag (changed since it was read).' },
    },
  },
  422: {
    reused: {
      summary: 'Same key, another body',
      value: { detail: 'This Idempotency-Key was already used with a different request.' },
    },
  },
  503: { unavailable: { summary: 'Database down', value: { detail: 'Database unavailable.' } } },
};

/** Operations whose successful answers (and 304) carry the item's `ETag`. */
const ETAG_OPERATIONS = new Set(['create', 'retrieve', 'update', 'partial_update']);

const ETAG_HEADER: OpenAPIV3_1.HeaderObject = {
  description:
    'The item\'s strong entity tag (its row version, e.g. `"3"`): send it back in `If-Match` to change the item ' +
    'only if nobody else did, or in `If-None-Match` to get 304 while it is unchanged. Only on the plain JSON rendering.',
  schema: { type: 'string' },
  example: '"3"',
};

/** Which {@link RESPONSE_EXAMPLES} entry fits an answer. */
function exampleKey(operationId: string, status: string, hasBody: boolean): string {
  if (status === '200' || status === '201') return `${operationId === 'list' ? 'list' : 'item'} ${status}`;
  if (status === '400' && !hasBody) return 'query 400';
  return status;
}

/** The items resource's {@link ResourceDocs}. */
export const itemDocs: ResourceDocs = {
  tag: { name: 'items', description: 'Products and their prices.' },
  // The DRF error bodies are listed here, after the item's own schemas, as the document shows them
  // (field errors only inside BadRequest: no operation answers them alone).
  components: { Item, ItemList, ItemWrite, ItemPatch, Detail, BadRequest },
  statusDescriptions: STATUS_DESCRIPTIONS,
  requestExamples: REQUEST_EXAMPLES,
  responseExamples: (operationId, status, hasBody) => RESPONSE_EXAMPLES[exampleKey(operationId, status, hasBody)],
  responseHeaders: (operationId, status) =>
    ETAG_OPERATIONS.has(operationId) && ['200', '201', '304'].includes(status) ? { ETag: ETAG_HEADER } : undefined,
};
