// A trivial OpenAI-compatible streaming server for benchmarks/peers.py: provably not the
// bottleneck (no timing plan, no records, no JSON parsing of the request beyond max_tokens).
//
//   node benchmarks/peer_server.js [PORT] [TOKENS]
//
// POST /v1/chat/completions answers with a chunked SSE stream: a role-only chunk, TOKENS
// content chunks (default 16, or max_tokens when smaller), a finish chunk with usage, and
// [DONE]; each chunk is its own write, so the client reads them as a real stream. GET
// /v1/models lists the one model, "peer". Keep-alive stays on (60 s). Listens on 127.0.0.1
// only and prints "listening on http://127.0.0.1:PORT" when ready.
"use strict";
const http = require("http");

const port = Number(process.argv[2] || 0);
const tokens = Number(process.argv[3] || 16);
const model = "peer";
let served = 0;

function chunk(id, delta, finish) {
  return `data: {"id":"${id}","object":"chat.completion.chunk","created":0,"model":"${model}",` +
    `"choices":[{"index":0,"delta":${delta},"finish_reason":${finish}}]}\n\n`;
}

function stream(req, res, body) {
  let n = tokens;
  const match = /"max_tokens"\s*:\s*(\d+)/.exec(body);
  if (match) n = Math.min(n, Number(match[1]));
  const id = `chatcmpl-${++served}`;
  res.writeHead(200, {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"});
  res.write(chunk(id, '{"role":"assistant","content":""}', "null"));
  for (let i = 0; i < n; i++) res.write(chunk(id, `{"content":" tok${i}"}`, "null"));
  res.write(chunk(id, "{}", '"stop"'));
  res.write(`data: {"id":"${id}","object":"chat.completion.chunk","created":0,"model":"${model}",` +
    `"choices":[],"usage":{"prompt_tokens":8,"completion_tokens":${n},"total_tokens":${n + 8}}}\n\n`);
  res.end("data: [DONE]\n\n");
}

const server = http.createServer((req, res) => {
  if (req.method === "GET" && req.url.startsWith("/v1/models")) {
    res.writeHead(200, {"Content-Type": "application/json"});
    res.end(JSON.stringify({object: "list", data: [{id: model, object: "model"}]}));
    return;
  }
  if (req.method !== "POST" || !req.url.startsWith("/v1/chat/completions")) {
    res.writeHead(404, {"Content-Type": "application/json"});
    res.end('{"error":{"message":"not found"}}');
    return;
  }
  const parts = [];
  req.on("data", (d) => parts.push(d));
  req.on("end", () => stream(req, res, Buffer.concat(parts).toString("utf8")));
});
server.keepAliveTimeout = 60000;
server.headersTimeout = 65000;
server.listen(port, "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
process.on("SIGTERM", () => process.exit(0));
