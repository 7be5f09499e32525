/**
 * The item's shapes as TypeBox schemas: one definition feeds the DRF-compatible validation in
 * `item.serializer.ts` (which reads the limits from here), response serialization, and OpenAPI,
 * where request bodies show what the service accepts and answers what it stores.
 *
 * @module
 */
import { IDEMPOTENCY_KEY_MAX_LENGTH } from '../drf/idempotency-key.js';
import { Type, type Static } from 'typebox';

/** Most characters in `product`, counted in Unicode code points: Django `CharField(max_length=20)`. */
export const PRODUCT_MAX_LENGTH = 20;

/** Largest `price`: PostgreSQL `integer` (int4) maximum, 2^31 - 1. DRF on PostgreSQL caps the same way. */
export const PRICE_MAXIMUM = 2_147_483_647;

/** Smallest `price`: Django `PositiveIntegerField` (`CHECK (price >= 0)`). */
export const PRICE_MINIMUM = 0;

/** Product name: 1 to 20 code points, not blank, stored trimmed. */
const Product = Type.String({
  minLength: 1,
  maxLength: PRODUCT_MAX_LENGTH,
  description: 'Product name: 1 to 20 Unicode code points; surrounding whitespace is trimmed; no NUL.',
  examples: ['Apple'],
});

/** Price: a whole number from 0 to 2^31 - 1 (currency-neutral, smallest unit). */
const Price = Type.Integer({
  minimum: PRICE_MINIMUM,
  maximum: PRICE_MAXIMUM,
  description: 'Price as a whole number from 0 to 2147483647.',
  examples: [100],
});

/**
 * `product` as a request may send it: DRF's `CharField` also takes a JSON number and stores
 * Python's `str()` of it.
 */
const ProductInput = Type.Union([
  Product,
  Type.Number({
    description:
      'A number, stored as Python writes it: 123 → "123", 1.0 → "1.0", 1e2 → "100.0" (20 characters at most).',
    examples: [123],
  }),
]);

/**
 * `price` as a request may send it: DRF's `IntegerField` also takes a numeric string (Python `int()`
 * of it). The pattern is the plain form; `int()` also reads surrounding whitespace, a `+`, `_`
 * between digits, a trailing `.0` and any Unicode decimal digits.
 */
const PriceInput = Type.Union([
  Price,
  Type.String({
    pattern: '^[0-9]{1,10}$',
    description: 'The price as a numeric string from "0" to "2147483647", e.g. "100".',
    examples: ['100'],
  }),
]);

/** Largest item id: PostgreSQL `bigint` and SQLite `INTEGER` maximum, 2^63 - 1. */
export const ITEM_ID_MAXIMUM = 2n ** 63n - 1n;

/**
 * Item id: a positive integer assigned by the database, never reused. A JSON number in every
 * answer; in the service a number, or an exact bigint beyond 2^53 - 1 (`db/database.ts`,
 * `exactInteger`), which the response serializer writes as its digits.
 */
const ItemId = Type.Unsafe<number | bigint>(
  Type.Integer({ minimum: 1, description: 'Assigned by the server; never reused.', examples: [1] }),
);

/** An item as the API returns it. */
export const Item = Type.Object({ id: ItemId, product: Product, price: Price }, { additionalProperties: false });
export type Item = Static<typeof Item>;

/**
 * Body of create (POST) and update (PUT) as the service accepts it: both fields required, `id` and
 * unknown fields ignored. The serializer cleans it into an {@link ItemWrite} value.
 */
export const ItemWrite = Type.Object({ product: ProductInput, price: PriceInput });
/** The cleaned fields of create and update: what is stored. */
export type ItemWrite = Omit<Item, 'id'>;

/** Body of partial_update (PATCH): any subset of the fields. */
export const ItemPatch = Type.Partial(ItemWrite);
/** The cleaned fields of partial_update. */
export type ItemPatch = Partial<ItemWrite>;

/** The list: a JSON array ordered by `id` (no pagination, as in the DRF service). */
export const ItemList = Type.Array(Item);

/** Fields `?ordering=` accepts, each optionally prefixed with `-` for descending. */
export const ORDERING_FIELDS = ['id', 'product', 'price'] as const;

/** Query string of the list (and of the detail URLs, which the filters also narrow, as in DRF). */
export const ItemQuery = Type.Object({
  product: Type.Optional(
    Type.String({ description: 'Exact, case-sensitive match on product (trimmed; blank is ignored).' }),
  ),
  search: Type.Optional(
    Type.String({ description: 'Case-insensitive substring match on product; several words must all match.' }),
  ),
  ordering: Type.Optional(
    Type.String({
      description:
        'Comma-separated fields among id, product, price; prefix - for descending. Unknown fields are ignored.',
      examples: ['-price,id'],
    }),
  ),
  format: Type.Optional(
    Type.Union([Type.Literal('json'), Type.Literal('api')], {
      description: 'Renderer: json, or api for the HTML view.',
    }),
  ),
});

/** Path parameter of the detail URLs. */
export const ItemParams = Type.Object({ id: Type.String({ description: 'Item id (an integer).', examples: ['1'] }) });

/** `Idempotency-Key` on create (draft-ietf-httpapi-idempotency-key-header-09). */
const IdempotencyKeyHeader = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: IDEMPOTENCY_KEY_MAX_LENGTH,
      pattern: '^[\\x20-\\x7e]+$',
      description:
        'Makes a retried create safe: the first answer is stored with the key, and a retry with the same key and ' +
        'body gets it again (same id, no new item) from any instance. Printable ASCII, at most 255 characters; ' +
        'one key: the draft\'s quoted form (`"key"`) or bare, without `"` or `,`. Kept for `IDEMPOTENCY_KEY_TTL_MS` (24 h by default).',
      examples: ['"8e03978e-40d5-43e8-bc93-6894a57f9324"'],
    }),
  ),
});

/**
 * `If-Match` and `If-None-Match` on the list URL (RFC 9110 §13.1.1, §13.1.2): the list always exists
 * and has no ETag.
 */
const LIST_CONDITIONS = {
  'if-match': Type.Optional(
    Type.String({
      description:
        'The list has no ETag: `*` holds (the list always exists); any list of ETags does not, and the answer is 412.',
      examples: ['*'],
    }),
  ),
  'if-none-match': Type.Optional(
    Type.String({
      description:
        'The list always exists: `*` gives 304 with no body on a GET and 412 on a create (nothing is created); ' +
        'ETags never match, as the list has none.',
      examples: ['*'],
    }),
  ),
};

/** Conditional headers of the list (GET). */
export const ListConditionHeaders = Type.Object(LIST_CONDITIONS);

/** Headers of create: `Idempotency-Key` and the list's conditional headers. */
export const CreateHeaders = Type.Object({ ...IdempotencyKeyHeader.properties, ...LIST_CONDITIONS });

/** The 304 answer to a list whose `If-None-Match` is `*`: no body. */
export const ListNotModified = Type.Null({ description: 'Not modified: `If-None-Match: *` and the list exists.' });

/** `If-None-Match` on retrieve (RFC 9110 §13.1.2). */
export const IfNoneMatchHeader = Type.Object({
  'if-none-match': Type.Optional(
    Type.String({
      description: "ETags (or `*`) the client holds; when one matches the item's, the answer is 304 with no body.",
      examples: ['"3"'],
    }),
  ),
});

/** `If-Match` on update, partial_update and destroy (RFC 9110 §13.1.1). */
export const IfMatchHeader = Type.Object({
  'if-match': Type.Optional(
    Type.String({
      description:
        "The ETag (or a comma-separated list, or `*`) the change is based on; when the item's current ETag is " +
        'not among them, nothing changes and the answer is 412. Compared in the write itself.',
      examples: ['"3"'],
    }),
  ),
});

/** The 304 answer to a retrieve whose `If-None-Match` matched: no body. */
export const NotModified = Type.Null({ description: 'Not modified: the item still has the ETag sent.' });
