// The ceilings the service is measured against, one per process: what the same stack answers with
// nothing of ours in it. Plain JavaScript run by `node` (no TypeScript loader in the process).
//
// usage: node scripts/bench/bare-server.mjs http|fastify|fastify-pg
//   http        bare node:http, constant item JSON on every URL
//   fastify     bare Fastify (no logger), constant item JSON on every GET
//   fastify-pg  bare Fastify + a pg.Pool: GET /api/items/:id/ runs the retrieve SELECT as one named
//               (prepared) statement and sends the row; DATABASE_URL (search_path in its options)
//               and DB_POOL_MAX (default 10, the service's default) say where and how many.
// Prints the port on stdout once listening, on 127.0.0.1.
import http from 'node:http';

/** The shape and size of one item, as the retrieve scenario returns it. */
const BODY = '{"id":1234,"product":"Item 1234","price":45658}';
const mode = process.argv[2];

function listening(port) {
  process.stdout.write(`${port}\n`);
}

if (mode === 'http') {
  const body = Buffer.from(BODY);
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
      res.end(body);
    });
  });
  server.keepAliveTimeout = 72000;
  server.listen(0, '127.0.0.1', () => listening(server.address().port));
} else if (mode === 'fastify' || mode === 'fastify-pg') {
  const { default: Fastify } = await import('fastify');
  const app = Fastify({ logger: false, keepAliveTimeout: 72000 });
  if (mode === 'fastify') {
    app.get('/*', (_request, reply) => {
      reply.type('application/json').send(BODY);
    });
  } else {
    const { default: pg } = await import('pg');
    const pool = new pg.Pool({
      connectionString: process.env.DATABASE_URL,
      max: Number(process.env.DB_POOL_MAX || 10),
    });
    const retrieve = 'SELECT id, product, price FROM myapi_item WHERE id = $1';
    app.get('/api/items/:id/', async (request, reply) => {
      const { rows } = await pool.query({ name: 'retrieve', text: retrieve, values: [request.params.id] });
      if (!rows[0]) return reply.code(404).send({ detail: 'No Item matches the given query.' });
      return { id: Number(rows[0].id), product: rows[0].product, price: rows[0].price };
    });
  }
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  listening(new URL(address).port);
} else {
  process.stderr.write(`usage: node bare-server.mjs http|fastify|fastify-pg (got ${mode})\n`);
  process.exit(2);
}
