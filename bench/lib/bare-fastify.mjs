// The baseline contender: a bare fastify route of the same shape as a Hrana pipeline (JSON body in, small JSON
// out), in its own process on 127.0.0.1 port 0. It prints the same `listening on` line as hranad.
import Fastify from "fastify";

const app = Fastify({ logger: false });
// Same body handling as hranad: raw bytes whatever the content type, then a strict JSON parse.
app.removeAllContentTypeParsers();
app.addContentTypeParser("*", { parseAs: "buffer" }, (_request, body, done) => done(null, body));
app.post("/echo", async (request, reply) => {
  const body = JSON.parse(request.body.toString("utf8"));
  const requests = Array.isArray(body.requests) ? body.requests.length : 0;
  return reply.type("application/json").send(JSON.stringify({ baton: null, base_url: null, results: requests }));
});
await app.listen({ host: "127.0.0.1", port: 0 });
const address = app.server.address();
process.stdout.write(`listening on http://127.0.0.1:${address.port}\n`);
const stop = () => void app.close().then(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
