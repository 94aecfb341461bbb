// The mock's fixed-timing profile in node.js, with its record: a reference server that stays
// far from its core's limit where the Python mock cannot (300 streams of 8 ms tokens are
// ~37,000 writes a second). benchmarks/hot_loop.py --server node uses it.
//
//   node benchmarks/timed_server.js PORT TTFT_MS ITL_MS TOKENS SLOW_EVERY SLOW_MS
//
// POST /v1/chat/completions streams a role chunk at once, then TOKENS content chunks, the
// first TTFT_MS after the request arrived (plus SLOW_MS for every SLOW_EVERY-th request), the
// others ITL_MS apart on an absolute schedule, then the finish chunk, usage and [DONE].
// GET /mock/requests returns what happened to each request, on the clock of Python's
// time.perf_counter_ns (both CLOCK_MONOTONIC): request_id (X-Request-Id), received_ns (the
// request's headers parsed), first_content_ns and end_ns (after those writes), status.
// DELETE /mock/requests clears them. GET /v1/models lists "timed". 127.0.0.1 only.
"use strict";
const http = require("http");

const [port, ttftMs, itlMs, tokens, slowEvery, slowMs] =
  process.argv.slice(2).map(Number);
const model = "timed";
let records = [];
let arrivals = 0;

const now = () => process.hrtime.bigint(); // uv_hrtime: CLOCK_MONOTONIC, nanoseconds

function chunk(id, delta, finish) {
  return `data: {"id":"${id}","object":"chat.completion.chunk","created":0,"model":"${model}",` +
    `"choices":[{"index":0,"delta":${delta},"finish_reason":${finish}}]}\n\n`;
}

function stream(req, res, rec) {
  const id = `chatcmpl-${rec.n}`;
  const slow = slowEvery > 0 && rec.n % slowEvery === 0;
  const start = rec.received;
  const firstDue = start + BigInt(Math.round((ttftMs + (slow ? slowMs : 0)) * 1e6));
  res.writeHead(200, {"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                      "X-Request-Id": rec.request_id});
  res.write(chunk(id, '{"role":"assistant","content":""}', "null"));
  let i = 0;
  const next = () => {
    if (res.destroyed) { rec.status = 499; return; }
    const due = firstDue + BigInt(Math.round(i * itlMs * 1e6));
    const wait = Number(due - now()) / 1e6;
    if (wait > 0.05) { setTimeout(next, wait); return; }
    res.write(chunk(id, `{"content":" tok${i}"}`, "null"));
    if (i === 0) rec.first_content_ns = Number(now());
    i += 1;
    if (i < tokens) { next(); return; }
    res.write(chunk(id, "{}", '"stop"'));
    res.write(`data: {"id":"${id}","object":"chat.completion.chunk","created":0,` +
      `"model":"${model}","choices":[],"usage":{"prompt_tokens":8,"completion_tokens":` +
      `${tokens},"total_tokens":${tokens + 8}}}\n\n`);
    res.end("data: [DONE]\n\n");
    rec.end_ns = Number(now());
    rec.status = 200;
  };
  next();
}

const server = http.createServer((req, res) => {
  if (req.url.startsWith("/mock/requests")) {
    if (req.method === "DELETE") records = [];
    res.writeHead(200, {"Content-Type": "application/json"});
    res.end(req.method === "DELETE" ? "{}" : JSON.stringify(records.map((r) => ({
      request_id: r.request_id, received_ns: Number(r.received),
      first_content_ns: r.first_content_ns, end_ns: r.end_ns, status: r.status}))));
    return;
  }
  if (req.method === "GET" && req.url.startsWith("/v1/models")) {
    res.writeHead(200, {"Content-Type": "application/json"});
    res.end(JSON.stringify({object: "list", data: [{id: model, object: "model"}]}));
    return;
  }
  arrivals += 1;
  const rec = {request_id: req.headers["x-request-id"] || "", received: now(), n: arrivals,
               first_content_ns: null, end_ns: null, status: null};
  records.push(rec);
  req.resume(); // the body is not needed: every request gets the same reply
  req.on("end", () => stream(req, res, rec));
});
server.keepAliveTimeout = 60000;
server.headersTimeout = 65000;
server.listen(port, "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
process.on("SIGTERM", () => process.exit(0));
